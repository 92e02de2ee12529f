"""braze_segment and removal: model values, schema and semantic rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_rules import BASE, diagnostics

from cohortops.config import load_config
from cohortops.errors import ConfigError


def test_defaults_and_values(tmp_path: Path) -> None:
    text = BASE + "    braze_segment: seg-1\n    removal: additive\n"
    text += "  other:\n    connection: lytics\n    identifier: external_id\n"
    text += "    source: {file: o.csv}\n"
    (tmp_path / "c.yaml").write_text(text)
    config = load_config(tmp_path)
    assert config.cohorts["power-users"].braze_segment == "seg-1"
    assert config.cohorts["power-users"].removal == "additive"
    assert config.cohorts["other"].braze_segment is None
    assert config.cohorts["other"].removal == "mirror"


def test_removal_must_be_known(tmp_path: Path) -> None:
    (found,) = diagnostics(tmp_path, BASE + "    removal: sometimes\n")
    assert "$.cohorts.power-users.removal" in found


def test_segment_mirrors_one_cohort(tmp_path: Path) -> None:
    text = BASE + "    braze_segment: seg-1\n"
    text += "  other:\n    connection: lytics\n    identifier: external_id\n"
    text += "    source: {file: o.csv}\n    braze_segment: seg-1\n"
    (found,) = diagnostics(tmp_path, text)
    assert "already mirrors cohort" in found


def test_no_segment_for_device_ids(tmp_path: Path) -> None:
    text = BASE.replace("identifier: external_id", "identifier: device_id")
    with pytest.raises(ConfigError) as info:
        load_config_text(tmp_path, text + "    braze_segment: seg-1\n")
    assert any("cannot mirror a device_id cohort" in d for d in info.value.diagnostics)


def load_config_text(tmp_path: Path, text: str) -> None:
    (tmp_path / "c.yaml").write_text(text)
    load_config(tmp_path)
