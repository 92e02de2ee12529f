"""Random mutations of the example config never escape as anything but a cohortops error."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohortops.config import load_config
from cohortops.errors import CohortopsError

REPO = Path(__file__).resolve().parents[2]
FILES = sorted((REPO / "configs").rglob("*.yaml"))

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _paths(node: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _set(node: object, path: tuple[object, ...], value: object) -> object:
    if not path:
        return value
    parent: Any = node  # what yaml.safe_load returned
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return node


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_mutated_config_fails_only_with_cohortops_errors(tmp_path_factory, data) -> None:
    target = tmp_path_factory.mktemp("cfg")
    shutil.copytree(REPO / "configs", target, dirs_exist_ok=True)
    victim = data.draw(st.sampled_from(FILES))
    local = target / victim.relative_to(REPO / "configs")
    doc = yaml.safe_load(local.read_text())
    path = data.draw(st.sampled_from(_paths(doc)))
    mode = data.draw(st.sampled_from(["replace", "raw"]))
    if mode == "replace":
        doc = _set(doc, path, data.draw(scalars))
        local.write_text(yaml.safe_dump(doc))
    else:
        raw = local.read_bytes()
        cut = data.draw(st.integers(0, len(raw)))
        junk = data.draw(st.binary(max_size=8))
        local.write_bytes(raw[:cut] + junk + raw[cut:])
    try:
        load_config(target)
    except CohortopsError as exc:
        assert str(exc).strip()
