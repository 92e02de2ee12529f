"""Array attribute overflow: users whose desired cohorts on one attribute exceed its limit.

Braze keeps at most ``max_array_length`` values in an array attribute and silently drops the
oldest when a new one arrives. Only a group of cohorts larger than the limit can overflow, so
the common case costs nothing; a larger group reads its sources and counts per user.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

import pyarrow as pa
import pyarrow.compute as pc

from cohortops.config.model import AttributeDelivery, Config, Source
from cohortops.errors import SourceError
from cohortops.plan.inputs import DiffInput
from cohortops.plan.model import OverflowFact, attribute_key
from cohortops.sources.desired import read_source_arrow

SAMPLE = 10


def overflow_facts(config: Config, inputs: Iterable[DiffInput]) -> Mapping[str, OverflowFact]:
    groups: dict[str, list[DiffInput]] = defaultdict(list)
    for item in inputs:
        if item.attribute_key is not None and item.source is not None:
            groups[item.attribute_key].append(item)
    facts: dict[str, OverflowFact] = {}
    for key, members in groups.items():
        limit = min(m.max_array_length or 0 for m in members)
        # every cohort of the attribute counts, also those outside --cohort
        cohorts = [c for c in config.cohorts.values() if _key_of(config, c.id) == key]
        if len(cohorts) <= limit:
            continue
        fact = _count(key, limit, [(c.id, c.source) for c in cohorts])
        if fact is not None:
            facts[key] = fact
    return facts


def _key_of(config: Config, cohort_id: str) -> str | None:
    connection = config.connection_of(config.cohorts[cohort_id])
    destination = config.destinations.get(connection.destination)
    if destination is not None and destination.kind == "lytics":
        return None  # a Lytics map field has no array length to overflow
    if isinstance(connection.delivery, AttributeDelivery):
        return attribute_key(connection.destination, connection.delivery.attribute)
    return None


def _count(key: str, limit: int, sources: list[tuple[str, Source]]) -> OverflowFact | None:
    arrays = []
    for cohort_id, source in sources:
        try:
            arrays.append(read_source_arrow(source, cohort_id).ids)
        except SourceError:
            continue  # reported by the diff of that cohort
    if not arrays:
        return None
    table = pa.table({"id": pa.concat_arrays(arrays)})
    counts = table.group_by("id").aggregate([("id", "count")])
    over = counts.filter(pc.greater(counts["id_count"], limit))
    if over.num_rows == 0:
        return None
    ordered = over.sort_by([("id_count", "descending"), ("id", "ascending")])
    return OverflowFact(
        attribute_key=key,
        limit=limit,
        users_over=over.num_rows,
        sample=tuple(ordered["id"].slice(0, SAMPLE).to_pylist()),
        max_memberships=int(pc.max(over["id_count"]).as_py()),
    )
