"""Lytics source benchmark: a 2M-member audience scanned from the sandbox's Lytics API.

The sandbox runs in its own process (its memory is not counted) with a generated audience of
``--members`` profiles. Two measurements, each in a fresh child process (interpreter start
included), report wall seconds, CPU seconds and peak RSS:

- ``scan``: the segment scan streamed into Arrow batches (``cohortops.sources.lytics``);
- ``plan``: the whole ``App.plan`` of one cohort whose source is that audience (DuckDB engine,
  empty SQLite state), i.e. the scan plus hygiene, the diff and the plan.

    .venv/bin/python benchmarks/lytics_scan.py                 # 2M members, pages of 5,000
    .venv/bin/python benchmarks/lytics_scan.py --members 200K --page 1000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "sandbox-lytics-token"

SANDBOX = """
import sys
from cohortops.sandbox import SandboxConfig, serve_forever
serve_forever(SandboxConfig(), "127.0.0.1", int(sys.argv[1]), on_ready=lambda url: print(url, flush=True))
"""

SCAN = """
import json, os, resource, sys, time
from cohortops.config.model import LyticsSource, Secret
from cohortops.sources.lytics import lytics_batches
start = time.perf_counter()
os.environ["LT"] = "sandbox-lytics-token"
source = LyticsSource(segment="bench", token=Secret("${env:LT}"), endpoint=Secret(sys.argv[1]),
                      page_size=int(sys.argv[2]))
rows = sum(batch.num_rows for batch in lytics_batches(source, "bench"))
print(json.dumps({"rows": rows, "seconds": time.perf_counter() - start,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

PLAN = """
import json, os, resource, sys, time
from pathlib import Path
from cohortops.operations.context import App
start = time.perf_counter()
os.environ["LYTICS_TOKEN"] = "sandbox-lytics-token"
os.environ["BRAZE_API_KEY"] = "sandbox-key"
app = App(Path(sys.argv[1]))
with app.store() as store:
    plan = app.plan(store)
cohort = plan.cohort("bench")
print(json.dumps({"rows": cohort.adds, "seconds": time.perf_counter() - start,
                  "errored": cohort.errored,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

CONFIG = """version: 1
state: {{backend: sqlite, path: state.db}}
destinations:
  braze: {{rest_endpoint: "http://127.0.0.1:1", api_key: "${{env:BRAZE_API_KEY}}"}}
connections:
  c: {{partner: lytics, destination: braze, delivery: {{method: attribute, attribute: segs}}}}
cohorts:
  bench:
    connection: c
    identifier: external_id
    source:
      lytics: {{segment: bench, token: "${{env:LYTICS_TOKEN}}", endpoint: "{endpoint}",
               page_size: {page}}}
"""


def parse_size(text: str) -> int:
    text = text.strip().upper()
    scale = {"K": 1_000, "M": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("KM")) * scale)


def child(code: str, *args: str) -> dict[str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True, cwd=ROOT
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall"] = wall
    result["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", default="2M")
    parser.add_argument("--page", type=int, default=5000)
    parser.add_argument("--port", type=int, default=0, help="Sandbox port (0: a free one).")
    args = parser.parse_args()
    members = parse_size(args.members)
    server = subprocess.Popen(
        [sys.executable, "-c", SANDBOX, str(args.port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        base = server.stdout.readline().strip()
        audience = {
            "id": "bench",
            "range": {"prefix": "user_", "count": members, "width": 9, "missing_every": 100_000},
        }
        httpx.post(f"{base}/_sandbox/lytics/audiences", json=audience).raise_for_status()
        endpoint = f"{base}/lytics"
        scan = child(SCAN, endpoint, str(args.page))
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "cohortops.yaml"
            config.write_text(CONFIG.format(endpoint=endpoint, page=args.page))
            plan = child(PLAN, str(config))
        # the scan yields every profile; the plan adds all but the ones without the id field
        assert scan["rows"] == members, scan
        assert plan["rows"] == members - members // 100_000, plan
        for name, result in (("scan", scan), ("plan", plan)):
            print(
                f"{name}: {members:,} profiles, pages of {args.page:,}: "
                f"wall {result['wall']:.1f} s (in-process {result['seconds']:.1f} s), "
                f"CPU {result['cpu']:.1f} s, peak RSS {result['rss_mb']:.0f} MB"
            )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
