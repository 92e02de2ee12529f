"""A PostgreSQL state connection lost mid-apply: the real cause, the summary, how to resume."""

from __future__ import annotations

import os
import time

import psycopg
import pytest
from pgsupport import reachable_postgres_url

from .conftest import MakeProject
from .harness import assert_converged
from .test_crash import RATE, SLOW, rounds, wait_for_requests


def _pg_ports(pid: int) -> set[int]:
    """Local TCP ports of ``pid``'s connections to port 5432 (its state connections)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as handle:
            for line in handle.readlines()[1:]:
                fields = line.split()
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                if fields[9] in inodes and remote_port == 5432:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


@pytest.mark.postgres
@pytest.mark.slow
def test_terminated_backend_reports_cause_summary_and_resume(make_project: MakeProject) -> None:
    project = make_project("postgres", population=10_000, requests_per_second=RATE, **SLOW)
    project.write(rounds()[0])
    proc = project.spawn("apply", "--auto-approve")
    try:
        assert wait_for_requests(project, project.sandbox.counters()["requests_total"], proc)
        time.sleep(0.5)
        ports = _pg_ports(proc.pid)
        assert ports
        with psycopg.connect(reachable_postgres_url(), autocommit=True) as admin:
            killed = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE client_port = ANY(%s) AND pid <> pg_backend_pid()",
                (sorted(ports),),
            ).fetchall()
        assert killed
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, (out, err)
    assert "Traceback" not in err
    first = err.strip().splitlines()[0]
    assert "lost its connection to the PostgreSQL state" in first, err
    assert "Acknowledged so far" in out, out
    assert "cohortops apply" in err  # how to resume
    result = project.cli("apply", "--auto-approve")
    assert result.returncode == 0, result.stderr
    assert_converged(project)
