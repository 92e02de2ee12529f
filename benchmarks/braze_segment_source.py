"""A `braze_segment` source over a large segment export: wall time and peak RSS, apart from the
export request and download.

Writes a Braze-shaped ZIP export (JSON lines, 5,000 users per file, external_id + braze_id + an
email per line; every 100,000th user anonymous) of N members, then, each in a fresh process:
streams the source into Arrow batches, and runs the DuckDB member diff of the source against an
empty recorded set (what a first plan does). The export call is replaced by a copy of that file,
so the figures are the client's reading, hygiene and diff.

    .venv/bin/python benchmarks/braze_segment_source.py --members 1000000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from segment_import import write_export  # benchmarks/ is the script's directory

CHILD = r"""
import json, resource, shutil, sys, time
from pathlib import Path
import cohortops.sources.braze_segment as bs
from cohortops.config.model import BrazeSegmentSource, Destination, Secret

archive, mode = Path(sys.argv[1]), sys.argv[2]

def export_archive(client, segment, workdir, **kwargs):
    target = workdir / "segment.archive"
    shutil.copyfile(archive, target)
    return target

bs.export_archive = export_archive
braze = Destination("braze", Secret("http://127.0.0.1:9"), Secret("key"))
source = BrazeSegmentSource(segment="big", braze=braze)
if mode == "diff":
    from cohortops.diff.engine import make_engine
    from cohortops.operations.make_plan import empty_recorded
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
if mode == "stream":
    rows = sum(b.num_rows for b in bs.braze_segment_batches(source, "big"))
    out = {"rows": rows}
else:
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine("duckdb", temp_dir=Path(tmp))
        diff = engine.diff("big", source, empty_recorded("big"))
        engine.close()
    out = {"to_add": len(diff.to_add)}
wall = time.perf_counter() - started
cpu = resource.getrusage(resource.RUSAGE_SELF)
out.update(wall_s=round(wall, 2), cpu_s=round(cpu.ru_utime + cpu.ru_stime, 1),
           rss_before_mb=round(before / 1024), peak_rss_mb=round(cpu.ru_maxrss / 1024))
print(json.dumps(out))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cohortops-bench-segment-") as tmp:
        archive = Path(tmp) / "export.zip"
        built = write_export(archive, args.members, anonymous_every=100_000)
        figures: dict[str, object] = {
            "members": args.members,
            "archive_mb": round(archive.stat().st_size / 1e6, 1),
            "archive_build_s": round(built, 1),
        }
        for mode in ("stream", "diff"):
            done = subprocess.run(
                [sys.executable, "-c", CHILD, str(archive), mode],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                sys.exit(done.stderr)
            figures[mode] = json.loads(done.stdout)
        print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
