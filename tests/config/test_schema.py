"""The schema check remembers documents that passed, so `plan` skips importing jsonschema."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cohortops.config import schema
from cohortops.config.yamlpos import Parsed

REPO = Path(__file__).resolve().parents[2]


def parsed(data: object) -> Parsed:
    return Parsed(data=data, keys={}, values={})


def test_a_document_that_passed_is_not_checked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COHORTOPS_CACHE_DIR", str(tmp_path))
    good = {"version": 1}
    assert schema.check_schema(parsed(good)) == []
    assert len(list((tmp_path / "valid").iterdir())) == 1
    monkeypatch.setattr(schema, "_check", lambda _p: pytest.fail("checked twice"))
    assert schema.check_schema(parsed(good)) == []


def test_a_failing_document_is_never_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COHORTOPS_CACHE_DIR", str(tmp_path))
    bad = {"version": 1, "nonsense": True}
    assert schema.check_schema(parsed(bad))
    assert schema.check_schema(parsed(bad))
    assert not (tmp_path / "valid").exists()


def test_validating_a_remembered_config_does_not_import_jsonschema(tmp_path: Path) -> None:
    code = (
        "import sys; from cohortops.config import load_config; "
        f"from pathlib import Path; "
        f"load_config(Path({str(REPO / 'configs')!r})); load_config(Path({str(REPO / 'configs')!r})); "
        "print('jsonschema' in sys.modules)"
    )
    env = {"COHORTOPS_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert first.returncode == 0, first.stderr
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert again.stdout.strip() == "False", again.stderr
