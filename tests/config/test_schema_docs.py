"""docs/configuration.md is the schema, rendered: every key with type, default and an example."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from cohortops.config.schema import load_schema
from cohortops.config.schema_docs import Key, keys, render

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_the_reference_is_generated_from_the_current_schema() -> None:
    assert DOC.read_text() == render(), (
        "docs/configuration.md is stale: run `python -m cohortops.config.schema_docs > "
        "docs/configuration.md`"
    )


def test_every_key_is_described_and_has_an_example() -> None:
    bare = [k.path for k in keys(load_schema()) if not k.node.get("examples")]
    undescribed = [k.path for k in keys(load_schema()) if not k.node.get("description")]
    assert bare == [] and undescribed == []


@pytest.mark.parametrize("key", list(keys(load_schema())), ids=lambda k: k.path)
def test_every_example_is_valid_for_its_key(key: Key) -> None:
    schema = load_schema()
    node = dict(key.node)
    for example in node.get("examples", ()):
        jsonschema.Draft202012Validator({**node, "$defs": schema["$defs"]}).validate(example)


def test_the_renderer_lists_nested_keys_once() -> None:
    paths = [k.path for k in keys(load_schema())]
    assert len(paths) == len(set(paths))
    assert "cohorts.<id>.source.sql.query" in paths
    assert "connections.<id>.delivery.partner_api_key" in paths
