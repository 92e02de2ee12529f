"""One project, one state: where the state is, which setting chose it, and who may create it."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from miniproject import cli, write_project

from cohortops.config import load_config
from cohortops.config.model import Secret, StateConfig
from cohortops.errors import StateError
from cohortops.sandbox import SandboxConfig, SandboxServer, serve_in_thread
from cohortops.state.location import check_old_place, locate_state, postgres_where, schema_of

MEMBERS = {"vip": ["u000001", "u000002", "u000003"]}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    server = serve_in_thread(SandboxConfig())
    server.seed_users({"external_ids_range": {"prefix": "u", "start": 0, "count": 100, "width": 6}})
    yield server
    server.stop()


@pytest.fixture
def proj(tmp_path: Path, sandbox: SandboxServer) -> Path:
    return write_project(tmp_path / "proj" / "configs", sandbox.base_url, MEMBERS)


def pg_schema_url(base: str, name: str) -> str:
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}options=-csearch_path%3D{name}"


# -- where the state is ------------------------------------------------------------------------


def test_default_state_is_beside_the_configuration_whatever_the_working_directory(
    proj: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    applied = cli("apply", "-c", str(proj), "--auto-approve", cwd=elsewhere)
    assert applied.returncode == 0, applied.stderr
    assert (proj / ".cohortops" / "state.db").is_file()
    assert not (elsewhere / ".cohortops").exists()
    # Another directory, and the single file instead of the directory: the same state.
    again = cli("plan", "-c", str(proj / "cohortops.yaml"), "--detailed-exitcode", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "State: sqlite .cohortops/state.db (default, beside the configuration)" in again.stdout


def test_a_state_in_the_working_directory_is_never_used_and_the_move_is_one_line(
    proj: Path, tmp_path: Path
) -> None:
    work = tmp_path / "proj"
    # The state an older version made in the working directory, by applying from there.
    first = cli("apply", "-c", str(proj), "--auto-approve", cwd=work)
    assert first.returncode == 0, first.stderr
    (proj / ".cohortops").rename(work / ".cohortops")
    result = cli("plan", "-c", "configs", cwd=work)
    assert result.returncode == 1
    assert result.stdout == ""
    line = result.stderr.splitlines()[0]
    assert "Found a state in the working directory (.cohortops/state.db)" in line
    move = line.split("move it: ", 1)[1]
    assert (
        move
        == "mkdir -p configs/.cohortops && mv .cohortops/state.db .cohortops/state.snapshots configs/.cohortops/"
    )
    subprocess.run(["bash", "-c", move], cwd=work, check=True)
    moved = cli("plan", "-c", "configs", "--detailed-exitcode", cwd=work)
    assert moved.returncode == 0, moved.stdout + moved.stderr  # the applied state, found again


def test_commands_that_only_read_never_create_a_state(proj: Path, tmp_path: Path) -> None:
    for argv in (
        ["validate"],
        ["plan"],
        ["state", "list"],
        ["state", "show", "vip"],
        ["audit", "log"],
        ["audit", "verify"],
        ["history"],
        ["drift"],
    ):
        cli(
            *argv[:2] if argv[0] in ("state", "audit") else argv[:1],
            "-c",
            str(proj),
            *argv[2:] if argv[0] in ("state", "audit") else argv[1:],
            cwd=tmp_path,
        )
        leftovers = [p for p in tmp_path.rglob(".cohortops")]
        assert leftovers == [], f"{' '.join(argv)} created {leftovers}"


def test_a_plan_without_a_state_plans_from_empty_and_says_where_apply_creates_it(
    proj: Path, tmp_path: Path
) -> None:
    out = tmp_path / "cohorts.plan"
    text = cli("plan", "-c", str(proj), "--out", str(out), cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    assert (
        "State: sqlite .cohortops/state.db (default, beside the configuration): none yet"
        in text.stdout
    )
    assert "the first `cohortops apply` creates it there" in text.stdout
    assert "+3 / -0" in text.stdout
    assert not (proj / ".cohortops").exists()
    # The plan from empty applies to the state its apply creates.
    applied = cli("apply", "-c", str(proj), str(out), cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    # and a second plan from empty is stale once a state exists.
    stale = cli("apply", "-c", str(proj), str(out), cwd=tmp_path)
    assert stale.returncode == 1
    assert "made when there was no state yet" in stale.stderr


def test_every_plan_rendering_names_its_state(proj: Path, tmp_path: Path) -> None:
    from cohortops.plan.planfile import read_plan

    out = tmp_path / "p.plan"
    md = cli("plan", "-c", str(proj), "--format", "markdown", "--out", str(out), cwd=tmp_path)
    assert "State: `sqlite .cohortops/state.db` (default, beside the configuration)" in md.stdout
    js = json.loads(cli("plan", "-c", str(proj), "--format", "json", cwd=tmp_path).stdout)
    assert js["state"]["where"] == "sqlite .cohortops/state.db (default, beside the configuration)"
    assert js["state"]["exists"] is False
    saved = read_plan(out)
    assert saved.state_where == js["state"]["where"] and saved.state_missing
    shown = cli("show", str(out), cwd=tmp_path)
    assert "State: sqlite .cohortops/state.db" in shown.stdout


# -- COHORTOPS_STATE_URL ------------------------------------------------------------------------


def test_the_environment_url_is_the_state_of_a_configuration_without_a_state_block(
    proj: Path, tmp_path: Path, postgres_url: str
) -> None:
    name = f"cohortops_loc_{tmp_path.name[-8:].replace('-', '_')}"
    url = pg_schema_url(postgres_url, name)
    env = {"COHORTOPS_STATE_URL": url}
    try:
        planned = cli("plan", "-c", str(proj), "--format", "json", cwd=tmp_path, env=env)
        assert planned.returncode == 0, planned.stderr
        where = json.loads(planned.stdout)["state"]
        assert where["where"].endswith(f"schema {name} (from COHORTOPS_STATE_URL)")
        assert where["exists"] is False
        with psycopg.connect(postgres_url) as conn:  # plan created no schema, no table
            row = conn.execute("SELECT to_regnamespace(%s)", (name,)).fetchone()
            assert row is not None and row[0] is None
        applied = cli("apply", "-c", str(proj), "--auto-approve", cwd=tmp_path, env=env)
        assert applied.returncode == 0, applied.stderr
        assert not (proj / ".cohortops" / "state.db").exists()
        again = cli("plan", "-c", str(proj), "--detailed-exitcode", cwd=tmp_path, env=env)
        assert again.returncode == 0, again.stdout
        # A state: block wins over the environment, and the plan says so.
        text = (proj / "cohortops.yaml").read_text()
        (proj / "cohortops.yaml").write_text(
            text.replace("version: 1\n", "version: 1\nstate: {backend: sqlite, path: s/x.db}\n")
        )
        block = cli("plan", "-c", str(proj), cwd=tmp_path, env=env)
        assert "State: sqlite s/x.db (from the state: block): none yet" in block.stdout
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def test_an_environment_url_that_is_not_postgresql_is_refused(proj: Path, tmp_path: Path) -> None:
    result = cli("plan", "-c", str(proj), cwd=tmp_path, env={"COHORTOPS_STATE_URL": "state.db"})
    assert result.returncode == 1
    assert "COHORTOPS_STATE_URL must be a postgresql:// URL" in result.stderr


# -- units ---------------------------------------------------------------------------------------


def test_postgres_where_masks_the_password_and_names_the_schema() -> None:
    state = StateConfig(
        "postgres",
        None,
        Secret("postgresql://ops:s3cret@db.internal:6432/cohorts?options=-csearch_path%3Dprod"),
    )
    where = postgres_where(state, {})
    assert where == "postgresql://ops:***@db.internal:6432/cohorts schema prod"
    assert "s3cret" not in where
    assert schema_of("") == "public"
    assert schema_of("-c search_path=a,b") == "a"


def test_locate_state_for_a_file_is_beside_that_file(tmp_path: Path) -> None:
    configs = write_project(tmp_path / "c", "http://127.0.0.1:1", MEMBERS)
    where = locate_state(load_config(configs / "cohortops.yaml"), {})
    assert where.state.path == (configs / ".cohortops" / "state.db").resolve()
    assert where.origin == "default"


def test_old_place_check_is_quiet_when_the_working_directory_is_the_configuration(
    tmp_path: Path,
) -> None:
    configs = write_project(tmp_path / "c", "http://127.0.0.1:1", MEMBERS)
    (configs / ".cohortops").mkdir()
    (configs / ".cohortops" / "state.db").write_bytes(b"")
    check_old_place(locate_state(load_config(configs), {}), configs)
    with pytest.raises(StateError, match="Found a state in the working directory"):
        (tmp_path / ".cohortops").mkdir()
        (tmp_path / ".cohortops" / "state.db").write_bytes(b"")
        (configs / ".cohortops" / "state.db").unlink()
        check_old_place(locate_state(load_config(configs), {}), tmp_path)
