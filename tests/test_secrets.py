"""No secret ever leaves the environment: not in output, state, plan files, audit or errors.

Every `${env:}` secret is set to a unique marker; every command a user runs (and a failing apply)
is then scanned for the markers, and so is every byte cohortops wrote: the SQLite database and
its WAL, Parquet snapshots (decoded too), plan files (unzipped and decoded), the audit export.
"""

from __future__ import annotations

import io
import re
import traceback
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pyarrow.parquet as pq
import pytest
from apply.harness import CohortSpec, Project, base_env, ids, schema_url
from pgsupport import reachable_postgres_url

from cohortops.errors import CohortopsError
from cohortops.sandbox import ALL_PERMISSIONS, SandboxConfig, serve_in_thread

MARKERS = {
    name: f"mk{uuid.uuid4().hex[:12]}"
    for name in ("BRAZE_API_KEY", "KUBIT_PARTNER_KEY", "BRAZE_DATA_IMPORT_KEY")
}
WRONG_KEY = f"mk{uuid.uuid4().hex[:12]}"  # a wrong key is a secret too
PG_PASSWORD = f"mk{uuid.uuid4().hex[:12]}"
NAMED_MARKERS = {**MARKERS, "a wrong API key": WRONG_KEY, "the PostgreSQL password": PG_PASSWORD}


def assert_clean(text: str | bytes, where: str) -> None:
    data = text.encode() if isinstance(text, str) else text
    leaked = [name for name, marker in NAMED_MARKERS.items() if marker.encode() in data]
    assert not leaked, f"{', '.join(leaked)} leaked into {where}"


def parquet_text(data: bytes) -> str:
    table = pq.read_table(io.BytesIO(data))
    return repr(table.schema.metadata) + "\n".join(
        str(v) for column in table.columns for v in column.to_pylist()
    )


def scan_file(path: Path) -> None:
    data = path.read_bytes()
    assert_clean(data, str(path))
    if data[:4] == b"PAR1":
        assert_clean(parquet_text(data), f"{path} (decoded)")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                member = archive.read(name)
                assert_clean(member, f"{path}!{name}")
                if member[:4] == b"PAR1":
                    assert_clean(parquet_text(member), f"{path}!{name} (decoded)")


def files_under(root: Path) -> Iterator[Path]:
    return (p for p in root.rglob("*") if p.is_file() and "pycache" not in p.parts)


@pytest.fixture
def project(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Project]:
    config = SandboxConfig(
        api_keys={MARKERS["BRAZE_API_KEY"]: ALL_PERMISSIONS},
        partner_api_keys=frozenset({MARKERS["KUBIT_PARTNER_KEY"]}),
        client_secrets=frozenset({MARKERS["BRAZE_DATA_IMPORT_KEY"]}),
    )
    with serve_in_thread(config) as sandbox:
        sandbox.seed_users({"external_ids_range": {"prefix": "u", "count": 500, "width": 6}})
        root = tmp_path / "project"
        root.mkdir()
        env = base_env(MARKERS)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(tmp_path_factory.getbasetemp() / "pycache")
        for name, value in MARKERS.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("COHORTOPS_ACTOR", "tester@ci")
        monkeypatch.chdir(root)
        yield Project(root, sandbox, {"backend": "sqlite", "path": "../state/state.db"}, env)


def run_clean(
    project: Project, *args: str, expect: int = 0, subprocess: bool = False, **env: str
) -> str:
    """Run a command (in this process unless ``subprocess``) and check its output is clean."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        if subprocess:
            project_env = project.env
            project.env = {**project_env, **env}
            try:
                result = project.cli(*args)
            finally:
                project.env = project_env
        else:
            result = project.main(*args)
    assert result.returncode == expect, (args, result.stdout[-2000:], result.stderr)
    assert_clean(result.stdout, f"stdout of {' '.join(args)}")
    assert_clean(result.stderr, f"stderr of {' '.join(args)}")
    return result.stdout + result.stderr


def scan_pages(project: Project) -> None:
    """Every dashboard page (run reasons and audit entries included) is clean too."""
    from starlette.testclient import TestClient

    from cohortops.ui import build_app

    client = TestClient(build_app(project.app(), allowed_hosts=None))
    urls = ["/", "/cohort/att", "/cohort/imp", "/member?id=u000030", "/audit", "/plans"]
    urls += ["/api/progress", *re.findall(r'href="(/plan/\w+)"', client.get("/plans").text)]
    assert any(u.startswith("/plan/") for u in urls), "no saved plan listed"
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.text[:300])
        assert_clean(response.text, f"dashboard page {url}")


def cohorts(start: int, stop: int) -> dict[str, CohortSpec]:
    return {
        "att": CohortSpec("attribute", ids("u", start, stop)),
        "imp": CohortSpec("cohort_import", ids("u", start, stop), {"name": "Imported"}),
    }


def test_no_secret_in_output_state_plans_or_audit(project: Project) -> None:
    project.write(cohorts(0, 100))
    run_clean(project, "validate", subprocess=True)
    for fmt in ("text", "markdown", "json"):
        run_clean(project, "plan", "--format", fmt)
    run_clean(project, "plan", "--out", "first.plan", "--detailed-exitcode", expect=2)
    for fmt in ("text", "markdown", "json"):
        run_clean(project, "show", "first.plan", "--format", fmt)
    run_clean(project, "apply", "first.plan", subprocess=True)
    project.write(cohorts(20, 150))
    run_clean(project, "apply", "--auto-approve")
    run_clean(project, "state", "list")
    run_clean(project, "state", "show", "att", "--limit", "0")
    run_clean(project, "state", "show", "imp")
    run_clean(project, "audit", "log", subprocess=True)
    exported = run_clean(project, "audit", "export")
    assert '"kind": "apply.start"' in exported
    run_clean(project, "audit", "verify")
    run_clean(project, "audit", "member", "u000030")
    run_clean(project, "history")
    run_clean(project, "history", "--format", "json")

    # Failing applies: Braze refuses the REST key, then the partner key (both 401).
    project.write(cohorts(40, 160))
    out = run_clean(
        project, "apply", "--auto-approve", expect=1, subprocess=True, BRAZE_API_KEY=WRONG_KEY
    )
    assert "BRAZE_API_KEY" in out, out  # names where the key comes from, not the key
    project.write(cohorts(45, 165))
    out = run_clean(project, "apply", "--auto-approve", expect=1, KUBIT_PARTNER_KEY=WRONG_KEY)
    assert "KUBIT_PARTNER_KEY" in out, out

    # The same failure in-process: the exception text and its whole chain are clean too.
    project.write(cohorts(60, 170))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BRAZE_API_KEY", WRONG_KEY)
        with pytest.raises(CohortopsError) as caught:
            project.apply()
    assert_clean("".join(traceback.format_exception(caught.value)), "the exception chain")
    assert_clean(repr(caught.value), "the exception repr")

    scan_pages(project)
    scanned = [p for p in files_under(project.root)]
    assert any(p.suffix == ".db" for p in scanned)
    assert any(p.suffix == ".parquet" for p in scanned), "no snapshot was written"
    for path in scanned:
        scan_file(path)


def with_password(url: str, password: str, port: int | None = None) -> str:
    """``url`` with ``password`` (the test server trusts local users, so it is ignored)."""
    parts = urlsplit(url)
    user = parts.username or "postgres"
    host = parts.hostname or "127.0.0.1"
    netloc = f"{user}:{password}@{host}:{port or parts.port or 5432}"
    return urlunsplit(parts._replace(netloc=netloc))


@pytest.mark.postgres
def test_postgres_password_stays_secret(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    base = reachable_postgres_url()
    schema = f"cohortops_secrets_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = schema_url(with_password(base, PG_PASSWORD), schema)
        assert PG_PASSWORD in url and "search_path" in url
        project.env["COHORTOPS_STATE_URL"] = url
        monkeypatch.setenv("COHORTOPS_STATE_URL", url)
        project.state = {"backend": "postgres", "url": "${env:COHORTOPS_STATE_URL}"}
        project.write(cohorts(0, 100))
        run_clean(project, "plan", "--out", "p.plan", subprocess=True)
        run_clean(project, "apply", "p.plan", subprocess=True)
        project.write(cohorts(10, 120))
        run_clean(project, "apply", "--auto-approve")
        run_clean(project, "state", "list")
        run_clean(project, "state", "show", "att")
        run_clean(project, "audit", "export")
        run_clean(project, "history")
        scan_pages(project)
        # An unreachable server: the error names the state, never the password.
        dead = schema_url(with_password(base, PG_PASSWORD, port=1), schema)
        out = run_clean(
            project, "state", "list", expect=1, subprocess=True, COHORTOPS_STATE_URL=dead
        )
        assert "Traceback" not in out
        with psycopg.connect(base, autocommit=True) as conn:
            tables = conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (schema,),
            ).fetchall()
            assert tables
            for (table,) in tables:
                rows = conn.execute(f'SELECT t::text FROM "{schema}"."{table}" t').fetchall()
                assert_clean("\n".join(r[0] for r in rows), f"table {table}")
        for path in files_under(project.root):
            scan_file(path)
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
