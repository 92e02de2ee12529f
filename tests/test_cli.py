from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cohortops import __version__

REPO = Path(__file__).resolve().parents[1]


def run(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cohortops", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert __version__ in result.stdout


def test_validate_examples() -> None:
    result = run("validate", "-c", str(REPO / "configs"))
    assert result.returncode == 0, result.stderr
    assert "Configuration valid" in result.stdout


def test_validate_errors_exit_1_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("version: 1\ncohorts: {x: {connection: y}}\n")
    result = run("validate", "-c", str(tmp_path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "missing required key 'identifier'" in result.stderr
    assert all(line.startswith(str(tmp_path)) for line in result.stderr.strip().splitlines())


def test_missing_config_dir_is_one_line(tmp_path: Path) -> None:
    result = run("validate", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "configs: no such file or directory" in result.stderr


def test_schema_prints_json_schema() -> None:
    result = run("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"].endswith("2020-12/schema")


def test_schema_is_shipped_identical() -> None:
    top = (REPO / "schemas" / "cohortops.schema.json").read_text()
    shipped = (REPO / "cohortops" / "schemas" / "cohortops.schema.json").read_text()
    assert top == shipped


def test_every_schema_property_has_a_description() -> None:
    schema = json.loads((REPO / "schemas" / "cohortops.schema.json").read_text())
    missing: list[str] = []

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                if "description" not in sub and "$ref" not in sub:
                    missing.append(f"{where}.{name}")
            for key, sub in node.items():
                if key != "if":  # discriminator conditions, not properties a user writes
                    walk(sub, f"{where}.{key}")
        elif isinstance(node, list):
            for i, sub in enumerate(node):
                walk(sub, f"{where}[{i}]")

    walk(schema, "$")
    assert missing == []


def test_init_writes_a_config_that_validates(tmp_path: Path) -> None:
    result = run("init", str(tmp_path / "cfg"))
    assert result.returncode == 0, result.stderr
    assert run("validate", "-c", str(tmp_path / "cfg")).returncode == 0
    # The editor's $schema reference resolves to a file beside the YAML, offline.
    first = (tmp_path / "cfg" / "cohortops.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=./cohortops.schema.json"
    schema = json.loads((tmp_path / "cfg" / "cohortops.schema.json").read_text())
    assert schema == json.loads((REPO / "schemas" / "cohortops.schema.json").read_text())
    ignored = (tmp_path / "cfg" / ".gitignore").read_text().splitlines()
    assert ".cohortops/" in ignored and "*.plan" in ignored
    again = run("init", str(tmp_path / "cfg"))
    assert again.returncode == 1
    assert "already exists" in again.stderr


def test_usage_error_exits_1() -> None:
    result = run("validate", "--no-such-flag")
    assert result.returncode == 1
    assert "No such option" in result.stderr


@pytest.mark.parametrize("debug", [False, True])
def test_unexpected_error_suggests_debug(tmp_path: Path, debug: bool) -> None:
    # A directory named like a YAML file cannot be read: an OSError, not a config error.
    code = (
        "import sys; from cohortops import cli\n"
        "def boom(*a, **k): raise RuntimeError('kaput')\n"
        "cli.cli.commands['validate'].callback = boom\n"
        f"cli.main({['--debug'] if debug else []!r} + ['validate'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    if debug:
        assert "Traceback" in result.stderr
    else:
        assert "Traceback" not in result.stderr
        assert "Unexpected error: RuntimeError: kaput. Re-run with --debug" in result.stderr


@pytest.fixture
def lytics_configs(tmp_path: Path) -> Iterator[Path]:
    """A copy of configs/ whose Lytics audience and Braze segment are served by a sandbox
    (LYTICS_TOKEN set)."""
    import csv
    import os
    import shutil

    from cohortops.sandbox import DEFAULT_API_KEY
    from cohortops.sandbox.config import DEFAULT_LYTICS_TOKEN
    from cohortops.sandbox.testing import running_sandbox

    cfg = tmp_path / "configs"
    shutil.copytree(REPO / "configs", cfg)
    with (cfg / "data" / "churn_risk.csv").open(newline="") as handle:
        members = [row["user_id"] for row in csv.DictReader(handle)]
    with (cfg / "data" / "engaged_30d.csv").open(newline="") as handle:
        engaged = [row["user_id"] for row in csv.DictReader(handle)]
    with running_sandbox() as server:
        server.add_lytics_audience({"id": "churn_risk", "ids": members})
        server.add_braze_segment("engaged_30d", engaged)
        main = cfg / "cohortops.yaml"
        main.write_text(main.read_text().replace("https://rest.fra-01.braze.eu", server.base_url))
        lytics = cfg / "cohorts" / "lytics.yaml"
        text = lytics.read_text().replace(
            "id_field: external_id}",
            f"id_field: external_id, endpoint: '{server.base_url}/lytics'}}",
        )
        lytics.write_text(text)
        secrets = {"LYTICS_TOKEN": DEFAULT_LYTICS_TOKEN, "BRAZE_API_KEY": DEFAULT_API_KEY}
        saved = {name: os.environ.get(name) for name in secrets}
        os.environ.update(secrets)
        try:
            yield cfg
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def test_plan_out_and_show_notice_config_changes(tmp_path: Path, lytics_configs: Path) -> None:
    cfg = lytics_configs
    planned = run("plan", "--out", "p.plan", "--detailed-exitcode", cwd=tmp_path)
    assert planned.returncode == 2, planned.stderr
    assert "Plan: 6 cohorts to change" in planned.stdout
    shown = run("show", "p.plan", "-c", "configs", "--format", "json", cwd=tmp_path)
    assert shown.returncode == 0 and json.loads(shown.stdout)["summary"]["cohorts_to_create"] == 6
    assert shown.stderr == ""
    (cfg / "cohorts" / "kubit.yaml").write_text(
        (cfg / "cohorts" / "kubit.yaml").read_text().replace("Power users", "Power people")
    )
    assert (
        "changed since this plan was made"
        in run("show", "p.plan", "-c", "configs", cwd=tmp_path).stderr
    )


def test_apply_names_a_missing_secret_before_sending_anything(
    tmp_path: Path, lytics_configs: Path
) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k != "BRAZE_API_KEY"}
    result = run("apply", "--auto-approve", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: Environment variable BRAZE_API_KEY is not set (needed by "
        "destinations.braze-prod.api_key). Export BRAZE_API_KEY before running cohortops."
    )
    listed = run("state", "list", cwd=tmp_path, env=env)
    assert "No cohorts recorded yet" in listed.stdout
    # The failed run is still in the history, with the reason it failed.
    history = run("history", "--format", "json", cwd=tmp_path, env=env)
    rows = json.loads(history.stdout)
    assert {r["cohort_id"] for r in rows} == {
        "braze-engaged-to-lytics",
        "churn-risk",
        "newsletter-engaged",
        "power-users",
        "power-users@braze-to-lytics",
        "weekly-buyers",
    }
    assert all(r["result"] == "failed" and "BRAZE_API_KEY is not set" in r["error"] for r in rows)


def test_debug_is_accepted_after_the_subcommand() -> None:
    result = run("validate", "--debug")
    assert result.returncode == 0, result.stderr
    assert "Configuration valid" in result.stdout


@pytest.mark.parametrize(
    ("environ", "isatty", "expected"),
    [
        ({}, True, True),
        ({}, False, False),
        ({"NO_COLOR": ""}, True, False),
        ({"TERM": "dumb"}, True, False),
        ({"TERM": "xterm-256color"}, True, True),
    ],
)
def test_colour_only_on_a_terminal_that_wants_it(
    environ: dict[str, str], isatty: bool, expected: bool
) -> None:
    from cohortops.cli.root import use_color

    assert use_color(environ, isatty) is expected


def test_no_color_flag_sets_no_color_for_the_process() -> None:
    code = (
        "import os, sys; from cohortops import cli\n"
        "try:\n"
        "    cli.main(['validate', '--no-color'])\n"
        "except SystemExit as e:\n"
        "    print('NO_COLOR' in os.environ, e.code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert result.stdout.strip().splitlines()[-1] == "True 0", result.stderr


def test_validate_json_lists_what_it_read_and_every_problem(tmp_path: Path) -> None:
    ok = run("validate", "-c", str(REPO / "configs"), "--format", "json")
    assert ok.returncode == 0, ok.stderr
    summary = json.loads(ok.stdout)
    assert summary["valid"] is True and summary["problems"] == []
    assert "power-users" in summary["cohorts"]
    assert summary["destinations"] == ["braze-prod", "lytics-prod"]
    (tmp_path / "a.yaml").write_text("version: 1\ncohorts: {x: {connection: y}}\n")
    bad = run("validate", "-c", str(tmp_path), "--format", "json")
    assert bad.returncode == 1
    report = json.loads(bad.stdout)
    assert report["valid"] is False
    assert any("missing required key 'identifier'" in p for p in report["problems"])


def test_one_problem_and_many_problems_start_alike(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "a.yaml").write_text("version: 1\nnope: 1\n")
    (tmp_path / "many").mkdir()
    (tmp_path / "many" / "a.yaml").write_text("version: 1\nnope: 1\nalso: 2\n")
    one = run("validate", "-c", str(tmp_path / "one")).stderr.strip().splitlines()
    many = run("validate", "-c", str(tmp_path / "many")).stderr.strip().splitlines()
    assert len(one) == 1 and len(many) == 2
    assert all(line.startswith(str(tmp_path)) for line in one + many), (one, many)


def test_every_unknown_key_is_reported_with_a_suggestion(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("version: 1\ncohort: {}\nzzz: 2\n")
    lines = run("validate", "-c", str(tmp_path)).stderr.strip().splitlines()
    assert lines == [
        f"{tmp_path / 'a.yaml'}:2:1: $.cohort: unknown key 'cohort'; did you mean 'cohorts'?",
        f"{tmp_path / 'a.yaml'}:3:1: $.zzz: unknown key 'zzz'; allowed: cohorts, connections, "
        "destinations, state, version",
    ]


def test_an_endpoint_without_scheme_is_one_plain_error(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "version: 1\ndestinations:\n  b:\n    rest_endpoint: 127.0.0.1:4471\n"
        "    api_key: ${env:X}\n"
    )
    lines = run("validate", "-c", str(tmp_path)).stderr.strip().splitlines()
    assert lines == [
        f'{tmp_path / "a.yaml"}:4:20: $.destinations.b.rest_endpoint: "127.0.0.1:4471" is not '
        "a URL: write the scheme too, e.g. https://rest.fra-01.braze.eu (or "
        "http://127.0.0.1:4400 for the sandbox), or use an ${env:NAME} reference"
    ]


def test_the_command_line_loads_the_state_and_arrow_only_when_a_command_needs_them() -> None:
    code = (
        "import sys, cohortops.cli\n"
        "print(sorted(m for m in ('cohortops.state', 'pyarrow', 'duckdb', 'httpx') "
        "if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "[]", result.stderr
