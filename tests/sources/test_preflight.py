"""validate checks that file sources exist and name their column (header only)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from miniproject import cli, write_project

from cohortops.config import load_config
from cohortops.sources.preflight import check_file_sources


def test_validate_reports_a_missing_file_and_a_missing_column_with_their_place(
    tmp_path: Path,
) -> None:
    configs = write_project(tmp_path / "c", "http://127.0.0.1:1", {"vip": ["a"], "vipp": ["b"]})
    (configs / "data" / "vipp.csv").unlink()
    (configs / "data" / "vip.csv").write_text("id\na\n")
    result = cli("validate", "-c", str(configs), cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith(
        "$.cohorts.vip.source: Cohort vip: "
        + str(configs / "data" / "vip.csv")
        + " has no column 'user_id' (found: id)."
    )
    assert "cohortops.yaml:" in lines[1] and "vipp.csv does not exist." in lines[1]


def test_jsonl_and_parquet_headers_are_checked_and_nothing_more_is_read(tmp_path: Path) -> None:
    configs = write_project(tmp_path / "c", "http://127.0.0.1:1", {"a": ["x"]})
    config = load_config(configs)
    assert check_file_sources(config) == []
    data = configs / "data" / "a.csv"
    # A header that names the column, then a body the CSV reader would reject: header only.
    data.write_text("user_id\n" + '"never closed, never read\n' * 3)
    assert check_file_sources(config) == []
    text = (configs / "cohortops.yaml").read_text()
    (configs / "cohortops.yaml").write_text(text.replace("data/a.csv", "data/a.jsonl"))
    (configs / "data" / "a.jsonl").write_text(json.dumps({"uid": "x"}) + "\n")
    problems = check_file_sources(load_config(configs))
    assert len(problems) == 1 and "has no field 'user_id' (found: uid)" in problems[0]
    (configs / "cohortops.yaml").write_text(text.replace("data/a.csv", "data/a.parquet"))
    pq.write_table(pa.table({"user_id": ["x"]}), configs / "data" / "a.parquet")
    assert check_file_sources(load_config(configs)) == []


def test_a_cohort_on_two_connections_reports_its_missing_file_once(tmp_path: Path) -> None:
    import yaml

    configs = write_project(tmp_path / "c", "http://127.0.0.1:1", {"vip": ["a"]})
    document = yaml.safe_load((configs / "cohortops.yaml").read_text())
    document["destinations"]["braze-2"] = {**document["destinations"]["braze"]}
    document["connections"]["attr-2"] = {
        **document["connections"]["attr"],
        "destination": "braze-2",
    }
    document["cohorts"]["vip"]["connection"] = ["attr", "attr-2"]
    (configs / "cohortops.yaml").write_text(yaml.safe_dump(document))
    (configs / "data" / "vip.csv").unlink()
    problems = check_file_sources(load_config(configs))
    assert len(problems) == 1 and "$.cohorts.vip.source:" in problems[0]
