"""`cohortops import COHORT` (Terraform's import): record who Braze holds now as the cohort's
recorded members, so the next plan removes those no longer desired and re-sends nobody already
there. Audited as ``state.import`` with counts (never the member list: it can be millions).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cohortops.config.model import Config
from cohortops.errors import CohortopsError
from cohortops.operations.braze_members import (
    ExportSettings,
    declared,
    read_file,
    read_segment,
)
from cohortops.plan.settings import cohort_settings
from cohortops.state import Store


@dataclass(frozen=True)
class ImportResult:
    cohort_id: str
    source: str  # "segment <id>" or the file name
    imported: int
    previous: int

    def line(self) -> str:
        was = f" (replacing {self.previous:,} recorded)" if self.previous else ""
        return (
            f"Imported {self.imported:,} members of {self.cohort_id} from {self.source}{was}. "
            "Run `cohortops plan` to see what differs from the source."
        )


def import_cohort(
    config: Config,
    store: Store,
    cohort_id: str,
    who: str,
    *,
    from_file: Path | None = None,
    replace: bool = False,
    export: ExportSettings | None = None,
) -> ImportResult:
    """Read Braze's members (the mirror segment, or ``from_file``) and record them.

    Refuses to overwrite a non-empty recorded set unless ``replace``. Takes the state lock.
    """
    cohort = declared(config, cohort_id)
    with store.lock("import", who):
        known = store.has_cohort(cohort_id)
        previous = store.recorded_members(cohort_id).count if known else 0
        if previous and not replace:
            raise CohortopsError(
                f"Cohort {cohort_id} already has {previous:,} recorded members; import would "
                "overwrite them.",
                hint="Pass --replace to overwrite the recorded set with what Braze holds.",
            )
        if from_file is not None:
            ids = read_file(from_file, cohort, export or ExportSettings())
            source = from_file.name
        else:
            ids = read_segment(config, cohort, export or ExportSettings())
            source = f"segment {cohort.braze_segment}"
        if not known:
            # remote_created stays unset: the next apply creates-or-renames the partner cohort,
            # which is idempotent when Kubit (or anyone) created it already.
            store.upsert_cohort(cohort_id, cohort_settings(config, cohort))
        count = store.replace_members(
            cohort_id,
            ids,
            "state.import",
            {"source": source, "imported": len(ids), "previous": previous},
        )
    return ImportResult(cohort_id, source, count, previous)
