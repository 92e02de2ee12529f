"""Scale benchmark for the member diff: 1M and 10M members, 1% churn.

Builds, under benchmarks/.data/ (gitignored), a recorded set as a zstd Parquet snapshot (one
sorted string column ``id``, as the state store writes it) and a desired set as a shuffled CSV
(1% of the recorded ids removed, 1% new ones added; ids like ``user_000123456``). Then it times
the DuckDB engine in a child process (wall time and peak RSS of that child, interpreter start
included) and, for comparison, the Python reference engine on the same data.

    .venv/bin/python benchmarks/plan_scale.py                 # 1M and 10M, both engines
    .venv/bin/python benchmarks/plan_scale.py --sizes 1M --no-python
    .venv/bin/python benchmarks/plan_scale.py --cli           # whole `cohortops plan` process

Targets for the whole ``cohortops plan --format json`` process: 10M ≤ 3 s and ≤ 500 MB RSS,
1M ≤ 0.5 s. CPU seconds are printed too: on a shared 2-core machine they are the steadier figure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / ".data"
TARGETS = {1_000_000: (0.5, None), 10_000_000: (3.0, 500)}  # seconds, MB (whole plan process)


@dataclass(frozen=True)
class Dataset:
    members: int
    desired_csv: Path
    snapshot: Path
    adds: int
    removes: int


def parse_size(text: str) -> int:
    text = text.strip().upper()
    scale = {"K": 1_000, "M": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("KM")) * scale)


def build_dataset(members: int, seed: int = 7) -> Dataset:
    """Write (once) the snapshot and desired CSV for ``members`` recorded members."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    DATA.mkdir(parents=True, exist_ok=True)
    churn = members // 100
    snapshot = DATA / f"snapshot_{members}.parquet"
    desired = DATA / f"desired_{members}.csv"
    done = DATA / f"dataset_{members}.done"
    if not done.exists():
        recorded = pa.array(range(members), pa.int64())
        removed = pa.array(sorted(random.Random(seed).sample(range(members), churn)), pa.int64())
        kept = pc.filter(recorded, pc.invert(pc.is_in(recorded, value_set=removed)))
        wanted = pa.concat_arrays([kept, pa.array(range(members, members + churn), pa.int64())])
        wanted = pc.take(wanted, pc.sort_indices(pc.random(len(wanted), initializer=seed)))

        def ids(numbers: pa.Array) -> pa.Array:
            digits = pc.utf8_lpad(pc.cast(numbers, pa.string()), 9, "0")
            return pc.binary_join_element_wise("user_", digits, "")

        pq.write_table(pa.table({"id": ids(recorded)}), snapshot, compression="zstd")
        options = pcsv.WriteOptions(quoting_style="none")
        pcsv.write_csv(pa.table({"user_id": ids(wanted)}), desired, options)
        done.write_text("ok\n")
    return Dataset(members, desired, snapshot, adds=churn, removes=churn)


def child_diff(args: argparse.Namespace) -> None:
    """Run one diff in this (child) process and print its figures as JSON."""
    start = time.perf_counter()
    from cohortops.config.model import FileSource
    from cohortops.plan.diff import make_engine
    from cohortops.state.records import RecordedMembers

    if args.engine == "duckdb":  # make_engine imports it lazily; count it as import time
        import cohortops.plan.diff_duckdb  # noqa: F401

    imported = time.perf_counter()
    source = FileSource(path=Path(args.desired), format="csv", column="user_id")
    recorded = RecordedMembers(
        cohort_id="bench",
        snapshot=Path(args.snapshot),
        delta_added=[],
        delta_removed=[],
        count=args.members,
    )
    engine = make_engine(args.engine, memory_limit=args.memory_limit, threads=args.threads or None)
    try:
        diff = engine.diff("bench", source, recorded)
    finally:
        engine.close()
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "import_s": imported - start,
                "diff_s": done - imported,
                "adds": diff.adds,
                "removes": diff.removes,
                "desired": diff.desired_count,
            }
        )
    )


def measure(
    command: list[str], env: dict[str, str] | None = None
) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds, peak RSS (MB) and stdout of a child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, env=env, cwd=ROOT)
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"child failed ({proc.returncode}): {' '.join(command)}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out


def run_engine(data: Dataset, engine: str, args: argparse.Namespace) -> dict[str, float]:
    command = [
        sys.executable,
        __file__,
        "--child",
        "--engine",
        engine,
        "--desired",
        str(data.desired_csv),
        "--snapshot",
        str(data.snapshot),
        "--members",
        str(data.members),
        "--memory-limit",
        args.memory_limit,
        "--threads",
        str(args.threads),
    ]
    wall, cpu, rss, out = measure(command)
    figures = json.loads(out.strip().splitlines()[-1])
    if (figures["adds"], figures["removes"]) != (data.adds, data.removes):
        raise SystemExit(f"{engine}: wrong diff {figures} for {data}")
    return {"wall_s": wall, "cpu_s": cpu, "rss_mb": rss, **figures}


def prepare_cli_config(data: Dataset) -> Path:
    """A config directory (DESIGN.md §2) with one attribute cohort sourced from the CSV."""
    config = DATA / f"config_{data.members}"
    config.mkdir(parents=True, exist_ok=True)
    (config / "cohortops.yaml").write_text(
        f"""version: 1
state:
  backend: sqlite
  path: state.db
destinations:
  bench:
    rest_endpoint: http://127.0.0.1:9
    api_key: ${{env:COHORTOPS_BENCH_API_KEY}}
connections:
  bench-attr:
    partner: bench
    destination: bench
    delivery:
      method: attribute
      attribute: bench_cohorts
cohorts:
  bench:
    name: Benchmark cohort ({data.members} members)
    connection: bench-attr
    identifier: external_id
    source: {{file: {data.desired_csv}, column: user_id}}
    guards: {{max_remove_percent: 100}}
"""
    )
    return config


def prepare_cli_state(config: Path, data: Dataset) -> None:
    """Record ``data.snapshot`` as the cohort's members in the config's state store.

    To be written against ``cohortops.state.open_store`` (upsert the cohort, load the snapshot's
    ids as acknowledged adds, compact) once the state store settles; the lead owns this step.
    """
    raise NotImplementedError("state setup needs cohortops.state.open_store")


def run_cli(data: Dataset) -> dict[str, float]:
    config = prepare_cli_config(data)
    prepare_cli_state(config, data)
    env = {**os.environ, "COHORTOPS_BENCH_API_KEY": "bench-key"}
    script = Path(sys.executable).with_name("cohortops")
    launcher = [str(script)] if script.exists() else [sys.executable, "-m", "cohortops"]
    cli = [*launcher, "plan", "--format", "json", "-c", str(config)]
    wall, cpu, rss, _ = measure(cli, env)
    return {"wall_s": wall, "cpu_s": cpu, "rss_mb": rss}


def report(data: Dataset, label: str, figures: dict[str, float]) -> None:
    detail = ""
    if "diff_s" in figures:
        detail = f"  (imports {figures['import_s']:.2f} s, diff {figures['diff_s']:.2f} s)"
    print(
        f"{data.members:>11,} {label:<8} wall {figures['wall_s']:6.2f} s  "
        f"cpu {figures['cpu_s']:6.2f} s  peak RSS {figures['rss_mb']:7.0f} MB{detail}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1M,10M", help="comma-separated, e.g. 1M,10M")
    parser.add_argument("--memory-limit", default="256MB")
    parser.add_argument("--threads", type=int, default=0, help="0 = DuckDB's default")
    parser.add_argument("--repeat", type=int, default=1, help="DuckDB runs per size (best kept)")
    parser.add_argument("--no-python", action="store_true", help="skip the Python engine")
    parser.add_argument("--cli", action="store_true", help="time `cohortops plan` instead")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--engine", default="duckdb", help=argparse.SUPPRESS)
    parser.add_argument("--desired", help=argparse.SUPPRESS)
    parser.add_argument("--snapshot", help=argparse.SUPPRESS)
    parser.add_argument("--members", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_diff(args)
        return
    for members in (parse_size(s) for s in args.sizes.split(",")):
        data = build_dataset(members)
        if args.cli:
            try:
                report(data, "plan", run_cli(data))
            except NotImplementedError as exc:
                raise SystemExit(f"--cli is not available yet: {exc}") from None
            continue
        runs = [run_engine(data, "duckdb", args) for _ in range(max(1, args.repeat))]
        best = min(runs, key=lambda r: r["wall_s"])
        report(data, "duckdb", best)
        seconds, megabytes = TARGETS.get(members, (None, None))
        if seconds is not None:
            print(f"{'':>11} target for the whole plan process: ≤ {seconds} s", end="")
            print(f", ≤ {megabytes} MB" if megabytes else "")
        if not args.no_python:
            slow = run_engine(data, "python", args)
            report(data, "python", slow)
            print(f"{'':>11} python / duckdb wall: {slow['wall_s'] / best['wall_s']:.1f}×")


if __name__ == "__main__":
    main()
