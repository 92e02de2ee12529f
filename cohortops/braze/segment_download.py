"""Fetch a segment export's archive from the URL Braze answered with.

The URL is a pre-signed object-store link: no API key is sent. Until Braze has written the
archive it answers 403 or 404; this polls (every ``poll_seconds``) until it answers 200 or
``ready_timeout`` passes. The body is streamed to a file, refusing more than ``max_bytes``.
Transfers go through ``cohortops.http`` (proxies from the environment, timeouts).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pyarrow as pa

from cohortops.braze.segment_archive import DEFAULT_MAX_BYTES as DEFAULT_MAX_ARCHIVE_BYTES
from cohortops.braze.segment_archive import read_member_ids
from cohortops.errors import BrazeError
from cohortops.http.client import HTTPError, describe, download

if TYPE_CHECKING:
    from cohortops.braze.client import BrazeClient

NOT_READY = (403, 404)
DEFAULT_MAX_BYTES = 2 * 1024**3


def _where(url: str) -> str:
    parts = urlsplit(url)  # the query string of a signed URL is a credential: never shown
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def download_archive(
    url: str,
    target: Path,
    *,
    ready_timeout: float = 1800.0,
    poll_seconds: float = 5.0,
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout: float = 60.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Write the archive to ``target``; returns its size in bytes."""
    deadline = clock() + ready_timeout
    while True:
        try:
            status, size = download(url, target, max_bytes=max_bytes, timeout=timeout)
        except HTTPError as exc:
            raise BrazeError(
                f"Cannot download the segment export from {_where(url)}: {describe(exc)}.",
                hint="Check the network, then run the command again.",
            ) from None
        if status == 200 and size < 0:
            raise BrazeError(
                f"The segment export at {_where(url)} exceeds {max_bytes:,} bytes.",
                hint="Raise the download bound, or split the segment.",
            )
        if status == 200:
            return size
        if status not in NOT_READY:
            raise BrazeError(
                f"Downloading the segment export from {_where(url)} answered HTTP {status}.",
                hint="Run the command again; a new export gets a new URL.",
            )
        if clock() + poll_seconds > deadline:
            raise BrazeError(
                f"The segment export at {_where(url)} was not ready after {ready_timeout:.0f} s.",
                hint="Large segments take longer; raise the wait or try again later.",
            )
        sleep(poll_seconds)


def export_archive(
    client: BrazeClient,
    segment_id: str,
    workdir: Path,
    *,
    identifier: str = "external_id",
    output_format: str = "zip",
    max_download_bytes: int = DEFAULT_MAX_BYTES,
    ready_timeout: float = 1800.0,
    poll_seconds: float = 5.0,
) -> Path:
    """Export the segment (only the identifier's field) and download its archive into ``workdir``;
    the caller deletes the file."""
    field = "user_aliases" if identifier == "user_alias" else identifier
    started = client.export_segment(segment_id, (field,), output_format)
    assert started.url is not None  # segment_export_result refuses a missing URL
    target = workdir / f"segment-{started.object_prefix}.archive"
    try:
        download_archive(
            started.url,
            target,
            ready_timeout=ready_timeout,
            poll_seconds=poll_seconds,
            max_bytes=max_download_bytes,
        )
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


def fetch_segment_ids(
    client: BrazeClient,
    segment_id: str,
    workdir: Path,
    *,
    identifier: str = "external_id",
    alias_label: str | None = None,
    output_format: str = "zip",
    max_download_bytes: int = DEFAULT_MAX_BYTES,
    max_archive_bytes: int = DEFAULT_MAX_ARCHIVE_BYTES,
    ready_timeout: float = 1800.0,
    poll_seconds: float = 5.0,
) -> pa.Array:
    """Export the segment, download its archive into ``workdir`` and read its member ids.

    Returns a sorted, de-duplicated pyarrow string array; the archive is deleted afterwards.
    """
    target = export_archive(
        client,
        segment_id,
        workdir,
        identifier=identifier,
        output_format=output_format,
        max_download_bytes=max_download_bytes,
        ready_timeout=ready_timeout,
        poll_seconds=poll_seconds,
    )
    try:
        return read_member_ids(
            target, identifier, alias_label=alias_label, max_bytes=max_archive_bytes
        )
    finally:
        target.unlink(missing_ok=True)
