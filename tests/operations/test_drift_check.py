from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cohortops.apply.progress import Progress
from cohortops.config.model import StateConfig
from cohortops.operations.apply_run import apply_command
from cohortops.operations.context import App
from cohortops.operations.drift_check import check_cohort, drift_json, drift_lines
from cohortops.plan import render
from cohortops.sandbox import (
    DEFAULT_API_KEY,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PARTNER_KEY,
    SandboxConfig,
    SandboxServer,
    serve_in_thread,
)


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with serve_in_thread(SandboxConfig()) as server:
        server.seed_users([{"external_id": f"u{i}"} for i in range(5)])
        yield server


@pytest.fixture
def app(tmp_path: Path, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> App:
    monkeypatch.setenv("BRAZE_API_KEY", DEFAULT_API_KEY)
    monkeypatch.setenv("PARTNER", DEFAULT_PARTNER_KEY)
    monkeypatch.setenv("SECRET", DEFAULT_CLIENT_SECRET)
    (tmp_path / "ids.csv").write_text("id\nu0\nu1\nu2\nghost_1\nghost_2\n")
    (tmp_path / "c.yaml").write_text(
        f"version: 1\ndestinations:\n  b:\n    rest_endpoint: {sandbox.base_url}\n"
        "    api_key: ${env:BRAZE_API_KEY}\nconnections:\n"
        "  attr:\n    partner: lytics\n    destination: b\n"
        "    delivery: {method: attribute, attribute: segs}\n"
        "  kubit:\n    partner: kubit\n    destination: b\n    delivery:\n"
        "      method: cohort_import\n      partner_api_key: ${env:PARTNER}\n"
        "      client_secret: ${env:SECRET}\n"
        "cohorts:\n"
        "  by-attr: {connection: attr, identifier: external_id, source: {file: ids.csv}}\n"
        "  by-import: {connection: kubit, identifier: external_id, source: {file: ids.csv}}\n"
    )
    the_app = App(tmp_path, state_override=StateConfig(path=tmp_path / "state.db"))
    lines = list(
        apply_command(
            the_app, None, (), frozenset(), lambda _: True, render, progress=Progress(enabled=False)
        )
    )
    assert lines[0].startswith("Apply ")
    return the_app


def test_drift_finds_users_braze_does_not_know(app: App) -> None:
    with app.store() as store:
        results = [
            check_cohort(store, app.config, c, sample=None) for c in ("by-attr", "by-import")
        ]
    for result in results:
        assert result.checked == 5
        assert result.unknown == ("ghost_1", "ghost_2")
        assert result.missing_value == ()
    text = "\n".join(drift_lines(results))
    # Each delivery method says why in its own words.
    assert "2 unknown to Braze (the attribute was never set on them)" in text
    assert "2 unknown to Braze (cohort import skips them)" in text
    rows = json.loads(drift_json(results))
    assert [(r["cohort_id"], r["method"], r["drifted"]) for r in rows] == [
        ("by-attr", "attribute", True),
        ("by-import", "cohort_import", True),
    ]
    assert rows[0]["unknown"] == ["ghost_1", "ghost_2"]


def test_drift_finds_values_removed_outside_cohortops(app: App, sandbox: SandboxServer) -> None:
    httpx.post(
        f"{sandbox.base_url}/users/track",
        headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"},
        json={"attributes": [{"external_id": "u1", "segs": {"remove": ["by-attr"]}}]},
        timeout=10,
    ).raise_for_status()
    with app.store() as store:
        result = check_cohort(store, app.config, "by-attr", sample=None)
    assert result.missing_value == ("u1",)


def test_drift_samples_bounded(app: App) -> None:
    with app.store() as store:
        result = check_cohort(store, app.config, "by-attr", sample=2, seed=1)
    assert result.checked == 2
    assert result.recorded == 5
