"""Segment export through the client: request, wait for readiness, download, ids as Arrow."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cohortops.braze import BrazeClient
from cohortops.braze.segment_download import download_archive, fetch_segment_ids
from cohortops.errors import BrazeError
from cohortops.sandbox import SandboxServer, serve_in_thread
from cohortops.sandbox.testing import API_KEY, ManualClock, make_config


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with serve_in_thread(make_config(segment_export_ready_ms=300)) as running:
        yield running


def _client(server: SandboxServer) -> BrazeClient:
    return BrazeClient(server.base_url, API_KEY, destination_id="sandbox")


def test_fetch_waits_for_readiness_and_reads_ids(server: SandboxServer, tmp_path: Path) -> None:
    users = [{"external_id": f"u{i:05d}", "attributes": {"segs": ["churn"]}} for i in range(7000)]
    users += [
        {
            "user_alias": {"alias_name": "anon-1", "alias_label": "lbl"},
            "attributes": {"segs": ["churn"]},
        },
        {"external_id": "other", "attributes": {"segs": ["x"]}},
    ]
    server.seed_users(users)
    server.define_segment("seg", {"attribute": "segs", "includes": "churn"})
    started = time.monotonic()
    with _client(server) as client:
        ids = fetch_segment_ids(client, "seg", tmp_path, poll_seconds=0.05)
        assert time.monotonic() - started >= 0.3
        assert ids.to_pylist() == [f"u{i:05d}" for i in range(7000)]
        time.sleep(0.35)  # the previous export must be complete before the next
        aliases = fetch_segment_ids(
            client,
            "seg",
            tmp_path,
            identifier="user_alias",
            alias_label="lbl",
            output_format="gzip",
            poll_seconds=0.05,
        )
    assert aliases.to_pylist() == ["anon-1"]
    assert list(tmp_path.iterdir()) == []


def test_not_ready_in_time_and_oversized_download(tmp_path: Path) -> None:
    clock = ManualClock()
    config = make_config(segment_export_ready_ms=1000)
    with serve_in_thread(config, clock=clock) as server:
        users = [{"external_id": f"u{i}", "attributes": {"s": ["v"]}} for i in range(500)]
        server.seed_users(users)
        server.define_segment("seg", {"attribute": "s", "includes": "v"})
        with _client(server) as client:
            started = client.export_segment("seg")
        assert started.url is not None
        with pytest.raises(BrazeError, match="not ready after"):
            download_archive(started.url, tmp_path / "a", ready_timeout=0.1, poll_seconds=0.05)
        clock.now += 2
        with pytest.raises(BrazeError, match="exceeds 100 bytes"):
            download_archive(started.url, tmp_path / "a", max_bytes=100)
        assert not (tmp_path / "a").exists()
        assert download_archive(started.url, tmp_path / "a") > 100


def test_unknown_segment_is_one_line_error(server: SandboxServer, tmp_path: Path) -> None:
    with _client(server) as client, pytest.raises(BrazeError) as caught:
        fetch_segment_ids(client, "nope", tmp_path)
    assert "\n" not in str(caught.value)
