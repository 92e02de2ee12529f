"""Operations: what each command does, without click.

The CLI parses arguments and calls into this layer; tests and the demo call it directly.
``context.App`` holds the configuration and opens the state; the other modules carry out one
command each (planning, applying, scheduled runs, drift, reports, the demo).
"""
