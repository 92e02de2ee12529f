"""Hostile endpoints end to end: nothing Braze did not confirm is ever recorded."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from .conftest import MakeProject
from .harness import CohortSpec, Project, ids
from .test_crash import RATE, SLOW, changes, kill_once, remote_id_map, rounds, unfinished

NGINX = b"<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head><body></body></html>"


class _Nginx(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(NGINX)))
        self.end_headers()
        self.wfile.write(NGINX)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def nginx() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Nginx)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("method", ["attribute", "cohort_import"])
def test_an_html_200_records_nothing(make_project: MakeProject, nginx: str, method: str) -> None:
    project = make_project()
    project.sandbox = SimpleNamespace(base_url=nginx)  # type: ignore[assignment]
    project.write({"c": CohortSpec(method, ids("u", 0, 300))})
    result = project.main("apply", "--auto-approve")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "not Braze's acknowledgement" in result.stderr + result.stdout
    assert "text/html" in result.stderr + result.stdout
    assert all(not members for members in project.recorded().values())
    assert project.plan().has_changes


def test_state_files_are_owner_only(make_project: MakeProject) -> None:
    project = make_project()
    project.write({"c": CohortSpec("attribute", ids("u", 0, 300))})
    project.apply()
    state_dir = project.root / "state"
    seen = []
    for path in [state_dir, *state_dir.rglob("*")]:
        mode = path.stat().st_mode & 0o777
        seen.append(path.name)
        assert mode == (0o700 if path.is_dir() else 0o600), f"{path}: {oct(mode)}"
    assert "state.db" in seen and "state.db.lock" in seen
    assert any(p.suffix == ".parquet" for p in state_dir.rglob("*")), seen


@pytest.mark.slow
def test_sigterm_is_ctrl_c_records_in_flight_and_exits_143(make_project: MakeProject) -> None:
    project = make_project(population=10_000, requests_per_second=RATE, **SLOW)
    project.write(rounds()[0])
    plan = changes(project)
    result = None
    rng = random.Random(11)
    while result is None:
        result = kill_once(project, plan, rng, signal.SIGTERM)
    assert result.returncode == 143, result.stderr
    assert "Apply interrupted; recorded so far:" in result.stdout
    assert "Stopping (SIGTERM)" in result.stderr and "Traceback" not in result.stderr
    recorded, remote = project.recorded(), project.remote()
    for cohort_id, (method, remote_id) in remote_id_map(project).items():
        assert recorded.get(cohort_id, set()) == remote.members(method, remote_id)
    assert unfinished(project) == []  # the journal closed the interrupted apply


def _begin_dead_apply(project: Project, apply_id: str) -> None:
    with project.store() as store, store.lock("apply", "killed@ci"):
        store.journal_begin(apply_id, "digest", {})
        store.flush()


def test_did_not_finish_is_closed_by_an_apply_with_nothing_left(make_project: MakeProject) -> None:
    project = make_project()
    project.write({"c": CohortSpec("attribute", ids("u", 0, 50))})
    project.apply()
    _begin_dead_apply(project, "ap-killed-at-the-end")  # killed right after its last batch
    assert any("did not finish" in w.message for w in project.plan().warnings)
    lines = project.apply()
    assert any("Closed apply ap-killed-at-the-end" in line for line in lines), lines
    assert not any("did not finish" in w.message for w in project.plan().warnings)
    with project.store() as store:
        kinds = [(e.kind, e.data.get("abandoned")) for e in store.audit_entries()]
    assert ("apply.abandoned", "ap-killed-at-the-end") in kinds


HOLD = """
import sys
from pathlib import Path
from cohortops.config.model import StateConfig
from cohortops.state import open_store
store = open_store(StateConfig(path=Path(sys.argv[1])))
with store.lock("apply", "runner@ci") as info:
    store.journal_begin("ap-live", "digest", {})
    store.flush()
    print(f"LOCKED {info.id}", flush=True)
    sys.stdin.read()
"""


def test_plan_during_a_live_apply_says_it_is_running(make_project: MakeProject) -> None:
    project = make_project()
    project.write({"c": CohortSpec("attribute", ids("u", 0, 50))})
    path = project.app().config.state.path
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=project.env,
    )
    try:
        assert proc.stdout is not None
        lock_id = proc.stdout.readline().strip().removeprefix("LOCKED ")
        assert lock_id
        messages = [w.message for w in project.plan().warnings]
        assert any(f"an apply is running (lock {lock_id}, runner@ci" in m for m in messages)
        assert not any("did not finish" in m for m in messages)
    finally:
        proc.communicate(timeout=30)


def _rewrite_audit(project: Project, actor: str) -> None:
    """What someone who can write the database can do: edit entries, re-hash, move the head."""
    from cohortops.state.auditlog import chain_hash
    from cohortops.state.logs import GENESIS_HASH

    rows = project.sql(
        "SELECT seq, at, kind, actor, cohort_id, data FROM cohortops_audit ORDER BY seq"
    )
    prev = GENESIS_HASH
    for seq, at, kind, _actor, cohort_id, data in rows:
        digest = chain_hash(prev, int(seq), at, kind, actor, cohort_id, data)
        project.sql(
            "UPDATE cohortops_audit SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?",
            (actor, prev, digest, seq),
        )
        prev = digest
    project.sql("UPDATE cohortops_meta SET audit_head_hash = ? WHERE id = 1", (prev,))


def test_an_anchored_head_detects_a_rewritten_audit_log(make_project: MakeProject) -> None:
    project = make_project()
    project.write({"c": CohortSpec("attribute", ids("u", 0, 50))})
    lines = project.apply()
    (line,) = [x for x in lines if x.startswith("Audit head: ")]
    anchor = line.split()[2]
    assert f"cohortops audit verify --head {anchor}" in line
    project.write({"c": CohortSpec("attribute", ids("u", 0, 60))})
    project.apply()  # later entries after the anchor are fine
    ok = project.main("audit", "verify", "--head", anchor)
    assert ok.returncode == 0 and "Anchor found at entry" in ok.stdout, ok.stderr
    _rewrite_audit(project, "someone-else@ci")
    assert project.main("audit", "verify").returncode == 0  # the chain alone cannot tell
    bad = project.main("audit", "verify", "--head", anchor)
    assert bad.returncode == 1 and "does not contain the anchored head" in bad.stderr
