"""A cohort_import connection's own rest_endpoint carries its partner calls."""

from __future__ import annotations

from pathlib import Path

import pytest

from cohortops.apply.progress import Progress
from cohortops.config.model import StateConfig
from cohortops.operations.apply_run import apply_command
from cohortops.operations.context import App
from cohortops.plan import render
from cohortops.sandbox import (
    DEFAULT_API_KEY,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PARTNER_KEY,
    SandboxConfig,
    serve_in_thread,
)

from .harness import Remote


def test_cohort_import_uses_the_connections_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRAZE_API_KEY", DEFAULT_API_KEY)
    monkeypatch.setenv("PARTNER", DEFAULT_PARTNER_KEY)
    monkeypatch.setenv("SECRET", DEFAULT_CLIENT_SECRET)
    with serve_in_thread(SandboxConfig()) as sandbox:
        sandbox.seed_users([{"external_id": f"u{i}"} for i in range(3)])
        (tmp_path / "ids.csv").write_text("id\nu0\nu1\nu2\n")
        # Nothing listens on port 9: only the connection's endpoint can succeed.
        (tmp_path / "c.yaml").write_text(
            "version: 1\ndestinations:\n  b:\n    rest_endpoint: http://127.0.0.1:9\n"
            "    api_key: ${env:BRAZE_API_KEY}\nconnections:\n  kubit:\n    partner: kubit\n"
            "    destination: b\n    delivery:\n      method: cohort_import\n"
            "      partner_api_key: ${env:PARTNER}\n      client_secret: ${env:SECRET}\n"
            f"      rest_endpoint: {sandbox.base_url}\n"
            "cohorts:\n  c: {connection: kubit, identifier: external_id, source: {file: ids.csv}}\n"
        )
        app = App(tmp_path, state_override=StateConfig(path=tmp_path / "state.db"))
        lines = list(
            apply_command(
                app, None, (), frozenset(), lambda _: True, render, progress=Progress(enabled=False)
            )
        )
        assert any("c: +3 / -0" in line for line in lines), lines
        held = Remote(sandbox.state()).members("cohort_import", "c")
        assert held == {"u0", "u1", "u2"}
