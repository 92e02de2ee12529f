"""`cohortops import` of a large segment export: wall time and peak RSS, apart from the download.

Writes a Braze-shaped ZIP export (JSON lines, 5,000 users per file, external_id + braze_id +
an email per line) of N members, then runs the import in a fresh process against a new SQLite
state and reports the import's wall time and the process's peak RSS (and its RSS before the
import, i.e. the interpreter and libraries).

    .venv/bin/python benchmarks/segment_import.py --members 1000000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from cohortops.operations.context import App
from cohortops.operations.import_members import import_cohort
import cohortops.braze.segment_archive, cohortops.state  # libraries loaded before measuring

config, archive = Path(sys.argv[1]), Path(sys.argv[2])
app = App(config)
_ = app.config
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
with app.store() as store:
    result = import_cohort(app.config, store, "big", "bench@local", from_file=archive)
wall = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"imported": result.imported, "wall_s": round(wall, 2),
                  "rss_before_mb": round(before / 1024), "peak_rss_mb": round(peak / 1024)}))
"""

CONFIG = """\
version: 1
state: {backend: sqlite, path: state.db}
destinations:
  braze: {rest_endpoint: "http://127.0.0.1:9", api_key: "${env:HOME}"}
connections:
  lytics:
    partner: lytics
    destination: braze
    delivery: {method: attribute, attribute: lytics_segments}
cohorts:
  big:
    connection: lytics
    identifier: external_id
    source: {file: desired.csv}
    braze_segment: seg-big
"""


def write_export(path: Path, members: int, anonymous_every: int = 0) -> float:
    """A ZIP export of ``members`` users; every ``anonymous_every``-th has no external_id."""
    from cohortops.sandbox.segment_archive import build_archive

    started = time.perf_counter()
    lines = (
        b'{"braze_id":"%024x","email":"u%d@example.com"}' % (n, n)
        if anonymous_every and n % anonymous_every == anonymous_every - 1
        else b'{"external_id":"user_%09d","braze_id":"%024x","email":"u%d@example.com"}' % (n, n, n)
        for n in range(members)
    )
    data, count = build_archive(lines, "bench-1700000000", "zip")
    assert count == members
    path.write_bytes(data)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cohortops-bench-import-") as tmp:
        root = Path(tmp)
        (root / "cohortops.yaml").write_text(CONFIG)
        (root / "desired.csv").write_text("id\nuser_000000001\n")
        archive = root / "export.zip"
        built = write_export(archive, args.members)
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(root), str(archive)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            sys.exit(done.stderr)
        figures = json.loads(done.stdout)
        figures.update(
            members=args.members,
            archive_mb=round(archive.stat().st_size / 1e6, 1),
            archive_build_s=round(built, 1),
        )
        print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
