"""What Braze holds: read a cohort's mirror segment (or an export file) into one Arrow array.

Used by ``cohortops import``, ``plan --refresh`` / ``apply --refresh`` / ``apply --resync`` and
the complete ``drift``. Member ids never become Python objects: the archive is parsed by Arrow.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from cohortops.braze.destination import destination_client
from cohortops.braze.segment_archive import read_member_ids
from cohortops.braze.segment_download import fetch_segment_ids
from cohortops.config.model import Cohort, Config
from cohortops.errors import CohortopsError, SourceError
from cohortops.membership.distinct import sorted_distinct


@dataclass(frozen=True)
class ExportSettings:
    """Bounds and waits for reading a segment export (tests shorten the waits)."""

    poll_seconds: float = 5.0
    ready_timeout: float = 1800.0
    max_download_bytes: int = 2 * 1024**3
    max_archive_bytes: int = 8 * 1024**3


def declared(config: Config, cohort_id: str) -> Cohort:
    cohort = config.cohorts.get(cohort_id)
    if cohort is None:
        raise CohortopsError(
            f"Cohort '{cohort_id}' is not declared in the configuration.",
            hint="Import, refresh and resync work on declared cohorts; declare it first.",
        )
    return cohort


def segment_of(cohort: Cohort) -> str:
    if cohort.braze_segment is None:
        raise CohortopsError(
            f"Cohort {cohort.id} declares no braze_segment, so Braze cannot be read for it.",
            hint="Create a segment mirroring the cohort in Braze and set braze_segment: <id>, "
            "or pass --from FILE.",
        )
    return cohort.braze_segment


def read_segment(config: Config, cohort: Cohort, settings: ExportSettings) -> Any:
    """Export the cohort's mirror segment now; a sorted, distinct pyarrow string array."""
    segment = segment_of(cohort)
    destination = config.destination_of(cohort)
    with (
        tempfile.TemporaryDirectory(prefix="cohortops-segment-") as tmp,
        destination_client(destination) as client,
    ):
        return fetch_segment_ids(
            client,
            segment,
            Path(tmp),
            identifier=cohort.identifier,
            alias_label=cohort.alias_label,
            max_download_bytes=settings.max_download_bytes,
            max_archive_bytes=settings.max_archive_bytes,
            ready_timeout=settings.ready_timeout,
            poll_seconds=settings.poll_seconds,
        )


def read_file(path: Path, cohort: Cohort, settings: ExportSettings) -> Any:
    """A downloaded segment export (ZIP, GZIP, JSON lines) or a CSV with a header row.

    A CSV's column is the one named like the identifier (``external_id``, ``alias_name``,
    ``braze_id``), else its first column.
    """
    if not path.is_file():
        raise SourceError(f"Cannot read {path}: no such file.")
    if path.suffix.lower() != ".csv":
        return read_member_ids(
            path,
            cohort.identifier,
            alias_label=cohort.alias_label,
            max_bytes=settings.max_archive_bytes,
        )
    try:
        table = pacsv.read_csv(
            path, convert_options=pacsv.ConvertOptions(column_types={}, strings_can_be_null=True)
        )
    except (pa.ArrowInvalid, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SourceError(f"Cannot read {path.name}: {first}.") from None
    wanted = "alias_name" if cohort.identifier == "user_alias" else cohort.identifier
    name = wanted if wanted in table.column_names else table.column_names[0]
    ids = pc.drop_null(table.column(name).combine_chunks().cast(pa.string()))
    return sorted_distinct(pc.filter(ids, pc.not_equal(ids, "")))
