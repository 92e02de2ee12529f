"""cohortops: keep Braze cohort membership equal to what a Git repository declares."""

__version__ = "0.1.0"
