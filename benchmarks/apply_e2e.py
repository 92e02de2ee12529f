"""End-to-end apply: `cohortops apply --auto-approve` of N members against the sandbox.

Both run as separate processes (the sandbox via `cohortops sandbox`), so the figures are the
CLI's own: wall time, requests/s, members/s, peak RSS and CPU of the apply process.

    .venv/bin/python benchmarks/apply_e2e.py --members 1000000 --rate 1000 --latency-ms 0

The cohort uses attribute delivery (75 members per /users/track request). A second plan must
show no changes, and the sandbox's member count must equal the recorded state.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

DATA = Path(__file__).resolve().parent / ".data"


def write_members(path: Path, count: int) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        fh.write("id\n")
        fh.writelines(f"user_{n:09d}\n" for n in range(count))


def start_sandbox(args: argparse.Namespace) -> tuple[subprocess.Popen[str], str]:
    cmd = [
        sys.executable,
        "-m",
        "cohortops",
        "sandbox",
        "--port",
        "0",
        "--latency-ms",
        str(args.latency_ms),
    ]
    if args.sink:
        cmd.append("--sink")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
    if not match:
        proc.kill()
        raise SystemExit(f"sandbox did not start: {line!r}")
    return proc, match.group(1)


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out = proc.stdout.read() if proc.stdout else ""
    err = proc.stderr.read() if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 2):
        raise SystemExit(f"{' '.join(cmd[2:5])} failed ({code}): {err.strip()[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--sink", action="store_true", help="sandbox in sink mode")
    args = parser.parse_args()

    members = DATA / f"apply_e2e_{args.members}.csv"
    write_members(members, args.members)
    sandbox, url = start_sandbox(args)
    work = Path(tempfile.mkdtemp(prefix="cohortops-apply-bench-"))
    try:
        (work / "cfg.yaml").write_text(
            "version: 1\n"
            f"state: {{backend: sqlite, path: {work / 'state.db'}}}\n"
            f"destinations:\n  b:\n    rest_endpoint: {url}\n    api_key: ${{env:BRAZE_API_KEY}}\n"
            f"    requests_per_second: {args.rate}\n"
            "connections:\n  l:\n    partner: lytics\n    destination: b\n"
            "    delivery: {method: attribute, attribute: segs, create_missing_users: true}\n"
            f"cohorts:\n  bench:\n    connection: l\n    identifier: external_id\n"
            f"    source: {{file: {members}}}\n"
        )
        # The generated members file lives under benchmarks/.data, outside the config's tree.
        env = {
            **os.environ,
            "BRAZE_API_KEY": "sandbox-key",
            "CI": "true",
            "COHORTOPS_SOURCE_ROOTS": str(DATA),
        }
        base = [sys.executable, "-m", "cohortops"]
        wall, cpu, rss, _ = run([*base, "apply", "--auto-approve", "-c", str(work)], env)
        requests = -(-args.members // 75)
        print(
            f"apply of {args.members:,} members: {wall:.1f} s wall, {cpu:.1f} s CPU, "
            f"peak RSS {rss / 1024:.0f} MB"
        )
        print(
            f"  {requests / wall:,.0f} requests/s ({requests / wall / args.rate:.0%} of the "
            f"{args.rate:,.0f} req/s limit), {args.members / wall:,.0f} members/s"
        )
        wall2, _, rss2, out = run([*base, "plan", "-c", str(work), "--format", "json"], env)
        summary = json.loads(out)["summary"]
        print(
            f"second plan: {wall2:.2f} s, {rss2 / 1024:.0f} MB, +{summary['members_to_add']} "
            f"/ -{summary['members_to_remove']}"
        )
        with urllib.request.urlopen(f"{url}/_sandbox/counters", timeout=30) as resp:
            counters = json.load(resp)
        print(f"sandbox requests: {counters.get('requests_total')}")
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
