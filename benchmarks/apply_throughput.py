"""Apply throughput: push N users through BrazeClient + BatchExecutor into the sandbox.

The sandbox runs in a child process (so the client's CPU is attributable), with added latency
per request; the client is limited to ``--rate`` requests per second. Prints requests/s, the
ratio to the limit, client and server CPU per request, wall time and peak RSS.

    .venv/bin/python benchmarks/apply_throughput.py --users 1000000 --rate 1000 --latency-ms 50

``--mode sink`` (the default) keeps the sandbox cheap enough to out-run the client on this
2-core machine; ``--mode full`` (the complete user model) is itself the bottleneck here, near
750-870 requests/s. ``--shared-transport`` sends every request through one shared httpx
connection pool instead of the client's per-request transports, for comparison.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import time
from collections import Counter
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cohortops.braze import (
    AttributeBatch,
    BatchExecutor,
    BatchResult,
    BrazeClient,
    attribute_batches,
)


def _serve(conn: Connection, options: dict[str, Any]) -> None:
    """Child process: run the sandbox until told to stop, then report its CPU and counters."""
    from cohortops.sandbox import SandboxConfig, serve_in_thread

    config = SandboxConfig(
        latency_ms=options["latency_ms"],
        sink=options["sink"],
        rate_limit=options["server_rate_limit"],
        max_array_length=100,
    )
    with serve_in_thread(config, host="127.0.0.1", port=0) as server:
        if options["seed"]:
            server.seed_users(
                {"external_ids_range": {"prefix": "user_", "count": options["users"], "width": 9}}
            )
        before = resource.getrusage(resource.RUSAGE_SELF)
        conn.send(server.base_url)
        conn.recv()  # "stop"
        after = resource.getrusage(resource.RUSAGE_SELF)
        counters = server.counters()
        holders = 0
        if not options["sink"]:
            users = server.state()["users"]
            holders = sum(1 for u in users if "bench" in u["custom_attributes"].get("segments", []))
    conn.send(
        {
            "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "rss_mb": after.ru_maxrss / 1024,
            "counters": counters,
            "holders": holders,
        }
    )


def _ids(count: int) -> Iterator[str]:
    for n in range(count):
        yield f"user_{n:09d}"


def run(args: argparse.Namespace) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    options = {
        "latency_ms": args.latency_ms,
        "sink": args.mode == "sink",
        "server_rate_limit": args.server_rate_limit,
        "seed": args.seed_users,
        "users": args.users,
    }
    process = context.Process(target=_serve, args=(child, options), daemon=True)
    process.start()
    stopped = False
    try:
        base_url = parent.recv()
        transport = None
        if args.shared_transport:
            import httpx

            transport = httpx.HTTPTransport()
        client = BrazeClient(
            base_url,
            "sandbox-key",
            destination_id="bench",
            requests_per_second=args.rate,
            transport=transport,
        )
        executor = BatchExecutor(
            args.rate,
            expected_latency=args.latency_ms / 1000 + args.overhead_ms / 1000,
            workers=args.workers,
        )
        batches = attribute_batches(
            _ids(args.users),
            attribute="segments",
            value="bench",
            action="add",
            identifier="external_id",
            update_existing_only=args.seed_users,
            max_objects=args.batch,
        )
        outcome: Counter[str] = Counter()
        acknowledged = 0

        def on_done(result: BatchResult[AttributeBatch]) -> None:
            nonlocal acknowledged
            acknowledged += len(result.acknowledged)
            outcome["error" if result.error else "ok"] += 1

        cpu0 = time.process_time()
        wall0 = time.perf_counter()
        stats = executor.run(batches, client.track_attributes, on_done)
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
        client.close()
        parent.send("stop")
        stopped = True
        server = parent.recv()
    finally:
        if not stopped:
            process.terminate()
        process.join(timeout=30)
    requests = stats.completed
    return {
        "mode": args.mode,
        "users": args.users,
        "acknowledged": acknowledged,
        "requests": requests,
        "errors": outcome["error"],
        "workers": stats.workers,
        "wall_s": wall,
        "req_per_s": requests / wall,
        "users_per_s": acknowledged / wall,
        "ratio": requests / wall / args.rate,
        "client_cpu_ms_per_req": cpu * 1000 / requests,
        "client_cpu_util": cpu / wall,
        "client_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "server_cpu_ms_per_req": server["cpu"] * 1000 / requests,
        "server_peak_rss_mb": server["rss_mb"],
        "server_requests": server["counters"]["requests_total"],
        "server_holders": server["holders"],
        "rate_limited": server["counters"].get("rate_limited", 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=1000, help="client limit, requests/s")
    parser.add_argument("--latency-ms", type=float, default=50, help="added by the sandbox")
    parser.add_argument("--batch", type=int, default=75, help="objects per request")
    parser.add_argument("--mode", choices=["full", "sink"], default="sink")
    parser.add_argument("--workers", type=int, default=None, help="default: sized from rate")
    parser.add_argument(
        "--overhead-ms", type=float, default=25, help="latency beyond --latency-ms, for sizing"
    )
    parser.add_argument("--server-rate-limit", type=int, default=None)
    parser.add_argument(
        "--seed-users", action="store_true", help="seed users, send _update_existing_only"
    )
    parser.add_argument(
        "--shared-transport",
        action="store_true",
        help="compare: all requests share one httpx connection pool",
    )
    args = parser.parse_args()
    figures = run(args)
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        shown = (
            f"{value:,.3f}"
            if isinstance(value, float)
            else f"{value:,}"
            if isinstance(value, int)
            else value
        )
        print(f"{key:<{width}}  {shown}")


if __name__ == "__main__":
    main()
