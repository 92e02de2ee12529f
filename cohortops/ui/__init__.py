"""A local, read-only dashboard: cohorts, runs, members, saved plans and the audit verdict.

:func:`build_app` makes the ASGI app from a configuration (or an :class:`App`), a token and a
plan file; :func:`serve` runs it with uvicorn. The CLI's ``cohortops ui`` is a thin layer on it.
"""

from cohortops.ui.app import LOOPBACK, TOKEN_ENV, build_app, require_token, serve

__all__ = ["LOOPBACK", "TOKEN_ENV", "build_app", "require_token", "serve"]
