from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from cohortops.config import load_config
from cohortops.config.model import BrazeSegmentSource, FileSource, LyticsSource, Secret
from cohortops.errors import ConfigError, SecretError

REPO = Path(__file__).resolve().parents[2]


def errors_of(path: Path) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value.diagnostics or (info.value.message,)


def test_example_configs_validate() -> None:
    config = load_config(REPO / "configs")
    assert len(config.cohorts) >= 4
    methods = {c.delivery.method for c in config.connections.values()}
    assert methods == {"attribute", "cohort_import"}
    rhythms = {c.schedule.every for c in config.cohorts.values() if c.schedule}
    assert {"daily", "weekly", "monthly"} <= rhythms
    for cohort in config.cohorts.values():
        # the demo seeds Lytics audiences and Braze segments from data/<segment>.csv
        if isinstance(cohort.source, LyticsSource | BrazeSegmentSource):
            assert (REPO / "configs" / "data" / f"{cohort.source.segment}.csv").exists()
            continue
        assert isinstance(cohort.source, FileSource)
        assert cohort.source.path.exists(), cohort.source.path


def test_missing_directory() -> None:
    (line,) = errors_of(Path("/nonexistent/cfg"))
    assert line.startswith("/nonexistent/cfg: no such file or directory")


def test_directory_without_config(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hi")
    (line,) = errors_of(tmp_path)
    assert "no *.yaml or *.yml files found" in line


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("")
    assert errors_of(tmp_path) == (f"{tmp_path}/a.yaml:1:1: file is empty; add `version: 1`",)


def test_binary_file(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_bytes(b"\x00\x01\x02")
    assert errors_of(tmp_path) == (f"{tmp_path}/a.yaml:1:1: binary file, not YAML; remove it",)


def test_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_bytes(b"version: 1\nx: \xff\xfe\n")
    assert errors_of(tmp_path) == (f"{tmp_path}/a.yaml:2:1: not UTF-8 text; save it as UTF-8",)


def test_malformed_yaml_is_located(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("version: 1\ncohorts: {a: [1, 2\n")
    (line,) = errors_of(tmp_path)
    assert line.startswith(f"{tmp_path}/a.yaml:3:1: invalid YAML:")


def test_top_level_must_be_mapping(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("- 1\n- 2\n")
    assert errors_of(tmp_path) == (
        f"{tmp_path}/a.yaml:1:1: a config file must be a mapping of sections",
    )


def test_two_documents_in_one_file(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("version: 1\n---\nversion: 1\n")
    assert errors_of(tmp_path) == (
        f"{tmp_path}/a.yaml:3:1: one YAML document per file; split it into two files",
    )


def test_yaml_12_scalars_keep_times_and_words(tmp_path: Path) -> None:
    # YAML 1.1 reads 16:30 as the integer 990 and `on` as true; the schema would then reject them.
    (tmp_path / "a.yaml").write_text(
        "version: 1\ndestinations:\n  b:\n    rest_endpoint: https://x.braze.com\n"
        "    api_key: ${env:K}\nconnections:\n  on:\n    partner: on\n    destination: b\n"
        "    delivery: {method: attribute, attribute: segs}\ncohorts:\n  c1:\n"
        "    connection: on\n    identifier: external_id\n    source: {file: a.csv}\n"
        "    schedule: {every: daily, at: 16:30, timezone: UTC}\n"
    )
    config = load_config(tmp_path)
    schedule = config.cohorts["c1"].schedule
    assert schedule is not None and schedule.at == dt.time(16, 30)
    assert "on" in config.connections


def test_relative_paths_resolve_against_declaring_file(tmp_path: Path) -> None:
    sub = tmp_path / "team" / "growth"
    sub.mkdir(parents=True)
    (tmp_path / "main.yaml").write_text(
        "version: 1\nstate: {backend: sqlite, path: state/s.db}\ndestinations:\n  b:\n"
        "    rest_endpoint: https://x.braze.com\n    api_key: ${env:K}\nconnections:\n  l:\n"
        "    partner: lytics\n    destination: b\n    delivery: {method: attribute, attribute: s}\n"
    )
    (sub / "c.yml").write_text(
        "cohorts:\n  c1:\n    connection: l\n    identifier: external_id\n"
        "    source: {file: ../data/x.jsonl, column: id}\n"
    )
    config = load_config(tmp_path)
    source = config.cohorts["c1"].source
    assert isinstance(source, FileSource)
    assert source.path == (tmp_path / "team" / "data" / "x.jsonl").resolve()
    assert source.format == "jsonl"
    assert config.state.path == (tmp_path / "state" / "s.db").resolve()


def test_hidden_directories_are_skipped(tmp_path: Path) -> None:
    (tmp_path / ".cohortops").mkdir()
    (tmp_path / ".cohortops" / "junk.yaml").write_text("not: [valid")
    (tmp_path / "a.yaml").write_text("version: 1\n")
    assert load_config(tmp_path).cohorts == {}


def test_env_config_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.yaml").write_text("version: 1\n")
    monkeypatch.setenv("COHORTOPS_CONFIG", str(tmp_path))
    assert load_config().files == (tmp_path / "a.yaml",)


def test_digest_changes_with_content(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("version: 1\n")
    first = load_config(tmp_path).digest
    (tmp_path / "a.yaml").write_text("version: 1\n# changed\n")
    assert load_config(tmp_path).digest != first


def test_secret_is_resolved_only_at_use() -> None:
    secret = Secret("${env:COHORTOPS_TEST_KEY}", "destinations.b.api_key")
    assert str(secret) == "***" and repr(secret) == "Secret('***')"
    with pytest.raises(SecretError) as info:
        secret.reveal({})
    assert str(info.value) == (
        "Environment variable COHORTOPS_TEST_KEY is not set (needed by "
        "destinations.b.api_key). Export COHORTOPS_TEST_KEY before running cohortops."
    )
    assert secret.reveal({"COHORTOPS_TEST_KEY": "s3cr3t"}) == "s3cr3t"


def test_secret_inside_a_url() -> None:
    secret = Secret("postgresql://u:${env:PW}@db/x")
    assert secret.reveal({"PW": "pw"}) == "postgresql://u:pw@db/x"
    assert secret.redacted() == "***"
    assert Secret("sqlite:///x.db").redacted() == "sqlite:///x.db"


def test_secret_env_hint_names_the_first_variable_never_a_value() -> None:
    # an authentication error names the variable to fix, whether Braze's or Lytics' key
    assert Secret("postgresql://${env:USER}:${env:PW}@db/x").env_hint == "USER"
    assert Secret("literal-key").env_hint is None


def test_root_is_absolute_so_the_planner_never_reads_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.yaml").write_text("version: 1\n")
    monkeypatch.chdir(tmp_path)
    assert load_config(Path(".")).root == tmp_path.resolve()


def test_billion_laughs_is_refused_before_expansion(tmp_path: Path) -> None:
    levels = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, 10):
        prev = f"*a{n - 1}"
        levels.append(f"a{n}: &a{n} [{', '.join([prev] * 10)}]")
    (tmp_path / "a.yaml").write_text("version: 1\n" + "\n".join(levels) + "\n")
    (line,) = errors_of(tmp_path)
    assert line.startswith(f"{tmp_path}/a.yaml:") and "expand to more than 100,000" in line


def test_recursive_alias_is_one_located_line(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("version: 1\nx: &x\n  y: *x\n")
    (line,) = errors_of(tmp_path)
    assert line.startswith(f"{tmp_path}/a.yaml:") and "recursive YAML alias" in line


def test_small_aliases_still_work(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("version: 1\nx: &x {a: 1}\ny: *x\n")
    assert all("YAML alias" not in line for line in errors_of(tmp_path))


@pytest.mark.parametrize("nest", ["[" * 5000 + "]" * 5000, "{a: " * 5000 + "1" + "}" * 5000])
def test_deep_nesting_is_one_located_line(tmp_path: Path, nest: str) -> None:
    (tmp_path / "a.yaml").write_text(f"version: 1\nx: {nest}\n")
    (line,) = errors_of(tmp_path)
    assert line.startswith(f"{tmp_path}/a.yaml:2:") and "nesting deeper than 64" in line
