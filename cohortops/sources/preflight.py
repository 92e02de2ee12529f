"""What ``validate`` checks of file sources without reading them: the file exists and its header
names the column (CSV header row, Parquet schema, first JSON line). Fast: one line at most."""

from __future__ import annotations

import json

from cohortops.config import Config
from cohortops.config.model import FileSource
from cohortops.errors import SourceError
from cohortops.sources.files import _no_column, csv_layout, missing_file, parquet_column, unreadable


def _check_jsonl(source: FileSource, cohort_id: str) -> None:
    if not source.path.is_file():
        raise missing_file(source, cohort_id)
    if source.column is None:
        return
    try:
        with source.path.open(encoding="utf-8-sig") as handle:
            first = next((line for line in handle if line.strip()), None)
    except (UnicodeDecodeError, OSError) as exc:
        raise unreadable(source, cohort_id, str(exc)) from exc
    if first is None:
        return  # an empty source is the plan's business (guards), not a configuration error
    try:
        row = json.loads(first)
    except ValueError as exc:
        raise unreadable(source, cohort_id, f"line 1 is not JSON ({exc})") from exc
    if isinstance(row, dict) and source.column not in row:
        raise _no_column(source, cohort_id, tuple(str(k) for k in row))


def check_file_sources(config: Config) -> list[str]:
    """One diagnostic per file source that is missing or lacks its column, located."""
    problems: list[str] = []
    for cohort_id, cohort in sorted(config.cohorts.items()):
        source = cohort.source
        if not isinstance(source, FileSource) or cohort.id != cohort.declared_id:
            continue  # further connections of a cohort share its first's source
        try:
            if source.format == "csv":
                csv_layout(source, cohort_id)
            elif source.format == "parquet":
                parquet_column(source, cohort_id)
            else:
                _check_jsonl(source, cohort_id)
        except SourceError as exc:
            where = f"{cohort.location}: " if cohort.location is not None else ""
            problems.append(f"{where}$.cohorts.{cohort_id}.source: {exc.message}")
    return problems
