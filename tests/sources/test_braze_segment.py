"""Braze segment sources as Arrow batches, against the sandbox's segment export over sockets."""

from __future__ import annotations

import dataclasses

import pytest

from cohortops.config.model import BrazeSegmentSource, Destination, Secret
from cohortops.errors import SourceError
from cohortops.sandbox import DEFAULT_API_KEY
from cohortops.sandbox.testing import running_sandbox
from cohortops.sources import read_source_arrow
from cohortops.sources.braze_segment import braze_segment_batches
from cohortops.sources.stream import source_batches


def source(base_url: str, segment: str, key: str = DEFAULT_API_KEY) -> BrazeSegmentSource:
    braze = Destination("braze-prod", Secret(base_url), Secret(key))
    return BrazeSegmentSource(segment=segment, braze=braze, poll_seconds=0.05, ready_timeout=5)


def test_members_stream_in_batches_with_positions_and_anonymous_users_flagged() -> None:
    with running_sandbox() as server:
        server.add_braze_segment("seg", [f"m{i}" for i in range(7)] + [" padded "])
        # an anonymous user (no external id) joins the segment: the members' mark
        mark = server.sandbox.segments.segments["seg"].filter.value
        server.seed_users([{"email": "anon@example.com", "attributes": {"segment:seg": mark}}])
        batches = list(braze_segment_batches(source(server.base_url, "seg"), "c", chunk_rows=3))
        desired = read_source_arrow(source(server.base_url, "seg"), "c")
    rows = [r for b in batches for r in b.to_pylist()]
    assert [b.num_rows for b in batches] == [3, 3, 3]
    assert [r["pos"] for r in rows] == list(range(1, 10))
    flagged = [r for r in rows if r["flag"] is not None]
    assert len(flagged) == 1 and flagged[0]["raw"] is None
    assert flagged[0]["flag"] == "missing_id_field"
    assert desired.skipped == {"missing_id_field": 1}
    assert desired.issues[0].where.startswith("braze segment seg user ")
    assert sorted(desired.ids.to_pylist()) == sorted([f"m{i}" for i in range(7)] + ["padded"])


def test_user_alias_members_by_label() -> None:
    with running_sandbox() as server:
        server.seed_users(
            [
                {"user_alias": {"alias_name": "a1", "alias_label": "crm"}},
                {"user_alias": {"alias_name": "a2", "alias_label": "other"}},
            ]
        )
        server.define_segment("aliased", {"attribute": "tier", "includes": "gold"})
        server.seed_users(
            [
                {
                    "user_alias": {"alias_name": n, "alias_label": lbl},
                    "attributes": {"tier": "gold"},
                }
                for n, lbl in (("a1", "crm"), ("a2", "other"))
            ]
        )
        aliased = dataclasses.replace(
            source(server.base_url, "aliased"), identifier="user_alias", alias_label="crm"
        )
        desired = read_source_arrow(aliased, "c")
    assert desired.ids.to_pylist() == ["a1"]


def test_an_unknown_segment_or_refused_key_is_a_one_line_source_error_without_the_key() -> None:
    with running_sandbox() as server, pytest.raises(SourceError) as refused:
        list(source_batches(source(server.base_url, "seg", key="wrong-key"), "c"))
    message = str(refused.value)
    assert message.startswith("Cohort c: ") and "\n" not in message
    assert "wrong-key" not in message and DEFAULT_API_KEY not in message


def test_a_missing_api_key_variable_fails_the_cohort_only() -> None:
    braze = Destination("braze-prod", Secret("http://127.0.0.1:9"), Secret("${env:NO_SUCH_KEY}"))
    with pytest.raises(SourceError, match="NO_SUCH_KEY is not set"):
        list(source_batches(BrazeSegmentSource(segment="s", braze=braze), "c"))


def test_decompression_is_bounded() -> None:
    with running_sandbox() as server:
        server.add_braze_segment("big", [f"member-{i:06d}" for i in range(2000)])
        with pytest.raises(SourceError, match="decompresses to more than 1,000 bytes"):
            list(braze_segment_batches(source(server.base_url, "big"), "c", max_archive_bytes=1000))


def test_an_export_never_written_times_out() -> None:
    with running_sandbox(segment_export_ready_ms=60_000) as server:
        server.add_braze_segment("slow", ["a"])
        slow = dataclasses.replace(source(server.base_url, "slow"), ready_timeout=0.3)
        with pytest.raises(SourceError, match="not ready after"):
            list(source_batches(slow, "c"))
