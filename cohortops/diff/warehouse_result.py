"""Reading the warehouse diff's result rows and folding the recorded deltas into them.

    adds    = (X - A - D) ∪ (desired ∩ D)        X = desired - mirror, Y = mirror - desired
    removes = (Y - A - D) ∪ (A - desired)        A, D = delta added / removed
    |R|     = |S| - |(A ∪ D) ∩ S| + |A|          S = the mirror, B = desired ∩ S ∩ (A ∪ D)
    desired ∩ (A ∪ D) = (X ∩ (A ∪ D)) ∪ B        S ∩ (A ∪ D) = (Y ∩ (A ∪ D)) ∪ B
    |distinct desired| = |S| - |Y| + |X|

A removal wins over an add of the same id, as in the store. Any engine's result (DuckDB,
PostgreSQL, Spark) goes through the same functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from cohortops.diff.warehouse_sql import (
    ADD,
    CODE_REASONS,
    FINGERPRINT,
    IN_BOTH,
    REMOVE,
    STATS,
)
from cohortops.membership.distinct import string_ids

EMPTY = pa.array([], pa.string())


def deltas(added: Any, removed: Any) -> tuple[pa.Array, pa.Array]:
    """Distinct, disjoint delta ids ``(A, D)``; an id in both is removed."""
    removed = pc.unique(string_ids(removed))
    added = pc.unique(string_ids(added))
    return added.filter(pc.invert(pc.is_in(added, removed))), removed


@dataclass
class Result:
    """The rows of one diff query, by kind."""

    ids: dict[int, list[pa.Array]] = field(
        default_factory=lambda: {ADD: [], REMOVE: [], IN_BOTH: []}
    )
    counts: dict[int, int] = field(default_factory=dict)
    fingerprint: tuple[int, str] | None = None
    nbytes: int = 0
    good_rows: int = 0  # valid source rows, duplicates included

    def read(self, batches: Iterable[pa.RecordBatch]) -> Result:
        for batch in batches:
            self.nbytes += batch.nbytes
            kinds = batch.column(0)
            for kind, parts in self.ids.items():
                mask = pc.equal(kinds, kind)
                chosen = batch.column(1).filter(mask)
                if len(chosen):
                    parts.append(chosen.cast(pa.string()))
                    if kind != REMOVE:  # a desired id: its rows are valid source rows
                        self.good_rows += pc.sum(batch.column(2).filter(mask)).as_py()
            for row in batch.filter(pc.greater_equal(kinds, FINGERPRINT)).to_pylist():
                if row["kind"] == FINGERPRINT:
                    self.fingerprint = (int(row["n"]), str(row["id"]))
                else:
                    self.counts[int(row["kind"])] = int(row["n"])
        return self

    def _ids(self, kind: int) -> pa.Array:
        parts = self.ids[kind]
        return pa.concat_arrays(parts) if parts else EMPTY

    def _count(self, kind: int) -> int:
        # from the pieces' lengths: only fold needs the ids themselves, concatenated once
        return sum(len(part) for part in self.ids[kind])

    def skipped(self) -> dict[str, int]:
        found = {CODE_REASONS[k - STATS]: n for k, n in self.counts.items() if k > STATS and n}
        return dict(sorted(found.items()))

    @property
    def distinct(self) -> int:
        mirrored = self.fingerprint[0] if self.fingerprint else 0
        return mirrored - self._count(REMOVE) + self._count(ADD)

    @property
    def duplicates(self) -> int:
        return self.counts.get(STATS, 0) + self.good_rows - self.distinct

    def fold(self, added: pa.Array, removed: pa.Array, mirrored: int) -> tuple[Any, Any, int]:
        """Sorted ``(adds, removes)`` against ``S ∪ A − D`` and that set's size."""
        x, y, both_ids = self._ids(ADD), self._ids(REMOVE), self._ids(IN_BOTH)
        both = pa.concat_arrays([added, removed])
        in_delta = pa.concat_arrays([x.filter(pc.is_in(x, both)), both_ids])
        in_mirror = pa.concat_arrays([y.filter(pc.is_in(y, both)), both_ids])
        adds = pa.concat_arrays(
            [x.filter(pc.invert(pc.is_in(x, both))), removed.filter(pc.is_in(removed, in_delta))]
        )
        removes = pa.concat_arrays(
            [
                y.filter(pc.invert(pc.is_in(y, both))),
                added.filter(pc.invert(pc.is_in(added, in_delta))),
            ]
        )
        return _sorted(adds), _sorted(removes), mirrored - len(in_mirror) + len(added)


def _sorted(values: pa.Array) -> pa.Array:
    return values.take(pc.sort_indices(values)) if len(values) > 1 else values
