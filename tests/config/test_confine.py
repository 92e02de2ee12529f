"""File sources stay inside the configuration's directory tree (attack: /proc/self/environ)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cohortops.config import load_config
from cohortops.errors import CohortopsError, ConfigError
from cohortops.operations.context import App

BASE = """\
version: 1
destinations:
  braze: {rest_endpoint: "http://127.0.0.1:9", api_key: "${env:BRAZE_API_KEY}"}
connections:
  lytics:
    partner: lytics
    destination: braze
    delivery: {method: attribute, attribute: segs}
cohorts:
  c:
    connection: lytics
    identifier: external_id
    source: %s
"""


def project(tmp_path: Path, source: str) -> Path:
    configs = tmp_path / "repo" / "configs"
    configs.mkdir(parents=True)
    (configs / "cohortops.yaml").write_text(BASE % source)
    return configs


def problems(configs: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(configs)
    return "\n".join(info.value.diagnostics)


@pytest.mark.parametrize(
    "source",
    [
        "{file: /proc/self/environ, column: nosuch}",
        "{file: /proc/self/environ, format: csv, column: nosuch}",
        "{file: /sys/kernel/notes, format: csv}",
        "{file: /dev/stdin, format: csv}",
    ],
)
def test_system_trees_are_never_read(tmp_path: Path, source: str) -> None:
    configs = project(tmp_path, source)
    text = problems(configs)
    assert "never read as a source" in text and "cohortops.yaml:" in text


def test_environment_never_reaches_the_plan_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRAZE_API_KEY", "SECRET-KEY-VALUE-42")
    monkeypatch.setenv("COHORTOPS_SOURCE_ROOTS", "/")  # even an allowed root
    configs = project(tmp_path, "{file: /proc/self/environ, format: csv, column: nosuch}")
    with pytest.raises(CohortopsError) as info:
        app = App(configs)
        with app.store() as store:
            app.plan(store)
    shown = f"{info.value} {getattr(info.value, 'diagnostics', '')} {info.value.hint}"
    assert "SECRET-KEY-VALUE-42" not in shown and "BRAZE_API_KEY=" not in shown


def test_parent_escape_is_refused(tmp_path: Path) -> None:
    (tmp_path / "passwd").write_text("root:x:0:0\n_apt:x:1:1\n")
    configs = project(tmp_path, "{file: ../../passwd, delimiter: ':', header: false}")
    text = problems(configs)
    assert "outside the configuration's directory" in text
    assert "COHORTOPS_SOURCE_ROOTS" in text


def test_symlink_out_of_the_tree_is_refused(tmp_path: Path) -> None:
    configs = project(tmp_path, "{file: data/env.csv}")
    (configs / "data").mkdir()
    os.symlink("/proc/self/environ", configs / "data" / "env.csv")
    assert "never read as a source" in problems(configs)


def test_an_outside_root_can_be_allowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "m.csv").write_text("user_id\nu1\n")
    configs = project(tmp_path, f"{{file: {exports / 'm.csv'}}}")
    assert "outside" in problems(configs)
    monkeypatch.setenv("COHORTOPS_SOURCE_ROOTS", str(exports))
    assert load_config(configs).cohorts["c"].source.describe() == str(exports / "m.csv")


def test_inside_the_tree_is_fine(tmp_path: Path) -> None:
    configs = project(tmp_path, "{file: data/m.csv}")
    (configs / "data").mkdir()
    (configs / "data" / "m.csv").write_text("user_id\nu1\n")
    load_config(configs)
    load_config(configs / "cohortops.yaml")
