"""The archive a segment export downloads as: JSON-lines files of at most ``USERS_PER_FILE`` users.

``zip`` (Braze's default): one ZIP holding ``<object_prefix>-<n>.json`` files. ``gzip``: the
same files in a gzip-compressed tar. Braze documents "a ZIP or GZIP archive" of JSON-lines
files, about 5,000 users each, but not the member names; cohortops reads any ``.json`` member.
"""

from __future__ import annotations

import gzip
import io
import itertools
import tarfile
import zipfile
from collections.abc import Iterable, Iterator

FORMATS = ("zip", "gzip")
USERS_PER_FILE = 5000


def _files(lines: Iterable[bytes], prefix: str) -> Iterator[tuple[str, bytes]]:
    it = iter(lines)
    for n in itertools.count():
        chunk = list(itertools.islice(it, USERS_PER_FILE))
        if not chunk and n > 0:
            return
        yield f"{prefix}-{n}.json", b"".join(line + b"\n" for line in chunk)
        if len(chunk) < USERS_PER_FILE:
            return


def build_archive(lines: Iterable[bytes], prefix: str, output_format: str) -> tuple[bytes, int]:
    """(archive bytes, number of users). An empty segment gives one empty file."""
    out = io.BytesIO()
    count = 0
    if output_format == "zip":
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            for name, data in _files(lines, prefix):
                count += data.count(b"\n")
                zf.writestr(name, data)
        return out.getvalue(), count
    with (
        gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1, mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w") as tar,
    ):
        for name, data in _files(lines, prefix):
            count += data.count(b"\n")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue(), count
