from __future__ import annotations

from pathlib import Path

from cohortops.config import load_config
from cohortops.operations.overflow import overflow_facts
from cohortops.plan.inputs import diff_inputs
from cohortops.plan.model import OverflowFact
from cohortops.state.snapshot import StateSnapshot


def write_config(root: Path, cohorts: int, limit: int) -> None:
    text = (
        "version: 1\ndestinations:\n  b:\n    rest_endpoint: https://x.braze.com\n"
        "    api_key: ${env:K}\nconnections:\n  l:\n    partner: lytics\n    destination: b\n"
        f"    delivery: {{method: attribute, attribute: segs, max_array_length: {limit}}}\n"
        "cohorts:\n"
    )
    for i in range(cohorts):
        members = ["shared_1", "shared_2", f"only_{i}"] if i < 3 else [f"only_{i}"]
        (root / f"c{i}.csv").write_text("id\n" + "\n".join(members) + "\n")
        text += (
            f"  c{i}:\n    connection: l\n    identifier: external_id\n"
            f"    source: {{file: c{i}.csv}}\n"
        )
    (root / "cfg.yaml").write_text(text)


def facts(root: Path) -> dict[str, OverflowFact]:
    config = load_config(root)
    state = StateSnapshot("lineage", 0)
    return dict(overflow_facts(config, diff_inputs(config, state)))


def test_users_over_the_limit_are_counted(tmp_path: Path) -> None:
    write_config(tmp_path, cohorts=4, limit=2)
    (fact,) = facts(tmp_path).values()
    assert fact.attribute_key == "b/segs"
    assert fact.users_over == 2
    assert fact.sample == ("shared_1", "shared_2")
    assert fact.max_memberships == 3


def test_groups_within_the_limit_are_not_read(tmp_path: Path) -> None:
    write_config(tmp_path, cohorts=3, limit=3)
    (tmp_path / "c0.csv").unlink()  # would fail if it were read
    assert facts(tmp_path) == {}


def test_no_overflow_when_memberships_fit(tmp_path: Path) -> None:
    write_config(tmp_path, cohorts=4, limit=3)
    assert facts(tmp_path) == {}
