"""docs/json-output.md names the keys each command prints: the code must print exactly those."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from cohortops.config.model import StateConfig
from cohortops.notify import RunReport
from cohortops.operations.audit_report import audit_lines
from cohortops.operations.drift_check import CohortDrift, drift_json
from cohortops.operations.history_report import JSON_KEYS
from cohortops.operations.scheduled_runs import reports_json
from cohortops.operations.state_report import state_list_lines, state_show_lines
from cohortops.state import open_store

DOC = Path(__file__).resolve().parents[1] / "docs" / "json-output.md"
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def documented(command: str) -> set[str]:
    """The backticked keys of a row up to the first ';' (which starts optional extras)."""
    for line in DOC.read_text().splitlines():
        if line.startswith(f"| `{command}` |"):
            keys = line.split("|")[3].split(";")[0]
            return set(re.findall(r"`([a-z_]+)`", keys))
    raise AssertionError(f"{command} is not in {DOC.name}")


def test_history_and_run_keys() -> None:
    assert documented("history") == set(JSON_KEYS)
    report = RunReport("c", "C", "manual", "success", T0, T0)
    assert documented("run") == set(json.loads(reports_json([report]))[0])


def test_drift_keys_of_a_sampled_check() -> None:
    row = json.loads(drift_json([CohortDrift("c", 1, 1, (), ())]))[0]
    assert documented("drift") == {*row, "complete"}


def test_state_and_audit_keys(tmp_path: Path) -> None:
    store = open_store(StateConfig(path=tmp_path / "state.db"), cwd=tmp_path)
    try:
        with store.lock("test", "t"):
            store.upsert_cohort("c", {})
            store.append_audit("state.forget", "t", "c", {"members": 1})
            store.flush()
        listed = json.loads("".join(state_list_lines(store, "json")))
        assert documented("state list") == {*listed, *listed["cohorts"][0]}
        shown = json.loads("".join(state_show_lines(store, "c", 0, "json")))
        assert documented("state show COHORT") == set(shown)
        [entry] = json.loads("".join(audit_lines(store, None, None, "json")))
        assert documented("audit log") == set(entry)
    finally:
        store.close()
