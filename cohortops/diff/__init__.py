"""Diff engines: desired members of a source against a cohort's recorded members.

``make_engine`` picks one: the local DuckDB engine (default), the Python reference engine.
Each returns a :class:`~cohortops.diff.memberdiff.MemberDiff`; the planner consumes it.
"""
