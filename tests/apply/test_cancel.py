"""`cancel` from a second process stops a running apply within 2 s, with nothing lost."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from cohortops.apply.applier import ApplyInterrupted
from cohortops.errors import CohortopsError
from cohortops.operations.cancel import cancel_apply

from .conftest import MakeProject
from .harness import CohortSpec, ids

MEMBERS = 200_000
# The second process: imports first (slow on a busy machine), then waits for the apply to be
# running, lets it send for half a second and asks it to stop.
CANCEL = """
import sys, time
from pathlib import Path
from cohortops.errors import CohortopsError
from cohortops.operations.cancel import cancel_apply
from cohortops.operations.context import App

app = App(Path(sys.argv[1]))
deadline = time.time() + 60
with app.store() as store:
    while not store.unfinished_applies():
        if time.time() > deadline:
            sys.exit("the apply never started")
        time.sleep(0.02)
    time.sleep(0.5)
    print(cancel_apply(store, None, "canceller@ci"))
    print("ASKED", time.time())
"""


def test_cancel_from_a_second_process(make_project: MakeProject, backend: str) -> None:
    # 200 cohort-import requests of 1,000 ids at 20 requests/s: ~10 s if nobody stops it.
    project = make_project(backend, requests_per_second=20, population=MEMBERS)
    project.write({"big": CohortSpec("cohort_import", ids("u", 0, MEMBERS))})
    canceller = subprocess.Popen(
        [sys.executable, "-c", CANCEL, str(project.configs)],
        cwd=project.root,
        env=project.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with pytest.raises(ApplyInterrupted) as stopped:
            project.apply()
        stopped_at = time.time()
        out, err = canceller.communicate(timeout=60)
    finally:
        if canceller.poll() is None:
            canceller.kill()
            canceller.wait()
    assert canceller.returncode == 0, err
    assert "Asked apply" in out
    asked = float(out.split("ASKED", 1)[1])
    assert stopped.value.exit_code == 130
    assert stopped_at - asked < 2.0
    recorded = project.recorded()["big"]
    (cohort,) = project.sandbox.state(include_users=False)["cohorts"]
    held = set(cohort["member_external_ids"])
    assert held == recorded  # every acknowledged batch is recorded, none claimed unsent
    assert 0 < len(recorded) < MEMBERS
    with project.store() as store:
        cancels = [e for e in store.audit_entries() if e.kind == "apply.cancel"]
        assert [e.actor for e in cancels] == ["canceller@ci"]
        with pytest.raises(CohortopsError, match="No apply is running"):
            cancel_apply(store, None, "late@ci")

    with project.store() as store, pytest.raises(CohortopsError, match="abc is not running"):
        cancel_apply(store, "abc", "someone@ci")
