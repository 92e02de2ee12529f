"""Scale benchmark for the member diff: 1M and 10M members, 1% churn.

Builds, under benchmarks/.data/ (gitignored), a recorded set as a zstd Parquet snapshot (one
sorted string column ``id``) and a desired set as a shuffled CSV (1% of the recorded ids removed,
1% new ones added; ids like ``user_000123456``). Then it times the DuckDB engine in a child
process (interpreter start included) and, for comparison, the Python reference engine.

With ``--cli`` it times the whole ``cohortops plan --format json`` process instead, once per
state backend: the snapshot's ids are recorded through the state store (as acknowledged adds,
then compacted) in a generated config directory per backend and size, cached between runs;
PostgreSQL gets one schema per size. The first PostgreSQL plan also materialises the snapshot
into the local cache (``*``: cold); the median runs are warm.

    .venv/bin/python benchmarks/plan_scale.py                 # 1M and 10M, both engines
    .venv/bin/python benchmarks/plan_scale.py --sizes 1M --no-python
    .venv/bin/python benchmarks/plan_scale.py --cli --backends sqlite,postgres

Every figure is the median of ``--repeat`` runs (wall) with the median CPU (user + sys of the
child) and the largest peak RSS. Targets for the whole plan process: 10M ≤ 3 s and ≤ 500 MB
RSS, 1M ≤ 0.5 s. On a shared 2-core machine, CPU seconds are the steadier figure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / ".data"
TARGETS = {1_000_000: (0.5, None), 10_000_000: (3.0, 500)}  # seconds, MB (whole plan process)
PG_URL = os.environ.get("COHORTOPS_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_SCHEMA = "cohortops_plan_bench"
COHORT = "bench"
STATE_CHUNK = 1_000_000  # ids per record_batch while building the state


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
    from cohortops.diff.engine import make_engine
    from cohortops.state.snapshot import RecordedMembers

    if args.engine == "duckdb":  # make_engine imports it lazily; count it as import time
        import cohortops.diff.duckdb_engine  # noqa: F401

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


# Linux carries the peak RSS of a process's pre-exec memory into the exec'd program's
# ru_maxrss, and a forked child of this (large) process starts as a copy of it; so a small
# launcher spawns each measured command, times it, and reports its rusage on a pipe.
_LAUNCHER = """
import json, os, sys, time
fd, argv = int(sys.argv[1]), sys.argv[2:]
start = time.perf_counter()
pid = os.posix_spawnp(argv[0], argv, os.environ)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - start
figures = [wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)]
os.write(fd, json.dumps(figures).encode())
"""


def child_env(**extra: str) -> dict[str, str]:
    # An installed cohortops has its bytecode compiled; PYTHONDONTWRITEBYTECODE (set in some
    # shells and CI images) would make every child recompile the package, ~0.1 s of startup.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, **extra}


def measure(
    command: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT
) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds (user + sys), peak RSS (MB) and stdout of one child process."""
    env = child_env() if env is None else env
    read_end, write_end = os.pipe()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(write_end), *command],
            stdout=subprocess.PIPE,
            env=env,
            cwd=cwd,
            pass_fds=(write_end,),
        )
        os.close(write_end)
        out, _ = proc.communicate()
        with os.fdopen(read_end, "rb") as pipe:
            wall, cpu, rss, code = json.loads(pipe.read() or b"[0, 0, 0, -1]")
    except BaseException:
        os.close(read_end)
        raise
    if code not in (0, 2):  # 2: a plan with changes under --detailed-exitcode
        raise SystemExit(f"child failed ({code}): {' '.join(command)}")
    return float(wall), float(cpu), float(rss), out.decode()


def median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """The run with the median wall time, with the spread of all runs attached."""
    ordered = sorted(runs, key=lambda r: r["wall_s"])
    chosen = dict(ordered[len(ordered) // 2])
    chosen["n"] = len(runs)
    chosen["wall_all"] = [round(r["wall_s"], 2) for r in runs]  # type: ignore[assignment]
    chosen["cpu_med"] = statistics.median(r["cpu_s"] for r in runs)
    chosen["rss_max"] = max(r["rss_mb"] for r in runs)
    return chosen


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


def state_block(backend: str, data: Dataset, pg_url: str) -> str:
    if backend == "sqlite":
        return "state:\n  backend: sqlite\n  path: state.db\n"
    # One schema per dataset size: the store creates it (it is the URL's search_path).
    separator = "&" if "?" in pg_url else "?"
    url = f"{pg_url}{separator}options=-csearch_path%3D{PG_SCHEMA}_{data.members}"
    return f"state:\n  backend: postgres\n  url: {url}\n"


def cohort_config(state: str, name: str, csv: Path, extra: str = "") -> str:
    """A config (DESIGN.md §2) with one attribute cohort named ``bench`` sourced from ``csv``."""
    return f"""version: 1
{state}destinations:
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
    name: {name}
    connection: bench-attr
    identifier: external_id
    source: {{file: {csv}, column: user_id}}
{extra}"""


def prepare_cli_config(data: Dataset, backend: str = "sqlite", pg_url: str = PG_URL) -> Path:
    """A config directory with the cohort and a state backend per size."""
    config = DATA / f"cli_{backend}_{data.members}"
    config.mkdir(parents=True, exist_ok=True)
    state = state_block(backend, data, pg_url)
    name = f"Benchmark cohort ({data.members} members)"
    guards = "    guards: {max_remove_percent: 100}\n"
    (config / "cohortops.yaml").write_text(cohort_config(state, name, data.desired_csv, guards))
    return config


def prepare_cli_state(config: Path, data: Dataset) -> None:
    """Record ``data.snapshot`` as the cohort's members in the config's state store, once.

    Goes through the public store API, as an apply would (upsert the cohort with the settings
    the planner expects, acknowledged adds in large batches, compact), so the plan reads a
    snapshot the store itself wrote. A marker in the config directory caches it per size; the
    stored member count is checked too, so a dropped schema or deleted db is rebuilt.
    """
    import pyarrow.parquet as pq

    from cohortops.config import load_config
    from cohortops.plan.settings import cohort_settings
    from cohortops.state import open_store

    cfg = load_config(config)
    marker = config / "state.done"
    with open_store(cfg.state, cwd=config) as store:
        record = store.snapshot().cohorts.get(COHORT)
        if marker.exists() and record is not None and record.member_count == data.members:
            return
        started = time.perf_counter()
        settings = cohort_settings(cfg, cfg.cohorts[COHORT])
        with store.lock("benchmark", "bench@localhost"):
            if record is not None:
                store.forget_cohort(COHORT)
            store.upsert_cohort(COHORT, settings)
            with pq.ParquetFile(data.snapshot) as snapshot:
                for batch in snapshot.iter_batches(batch_size=STATE_CHUNK, columns=["id"]):
                    store.record_batch(COHORT, "add", batch.column(0).to_pylist(), audit=None)
            store.flush()
            store.compact(COHORT)
        count = store.recorded_members(COHORT).count
    if count != data.members:
        raise SystemExit(f"state for {config} holds {count} members, expected {data.members}")
    marker.write_text(f"{data.members}\n")
    took = time.perf_counter() - started
    print(f"{'':>11} built {cfg.state.backend} state in {took:.0f} s ({config})", flush=True)


def run_cli(config: Path, engine: str = "duckdb", cold: bool = False) -> dict[str, float]:
    """One `cohortops plan --format json` process, run in the config directory."""
    if cold:  # the postgres backend materialises the snapshot into .cohortops/cache first
        shutil.rmtree(config / ".cohortops" / "cache", ignore_errors=True)
    env = child_env(COHORTOPS_BENCH_API_KEY="bench-key")
    script = Path(sys.executable).with_name("cohortops")
    launcher = [str(script)] if script.exists() else [sys.executable, "-m", "cohortops"]
    cli = [*launcher, "plan", "--format", "json", "-c", str(config)]
    if engine != "duckdb":
        cli += ["--engine", engine]
    wall, cpu, rss, out = measure(cli, env, cwd=config)
    summary = json.loads(out)["summary"]
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "rss_mb": rss,
        "adds": summary["members_to_add"],
        "removes": summary["members_to_remove"],
    }


def report(data: Dataset, label: str, figures: dict[str, float]) -> None:
    detail = ""
    if "diff_s" in figures:
        detail = f"  (imports {figures['import_s']:.2f} s, diff {figures['diff_s']:.2f} s)"
    spread = ""
    if figures.get("n", 1) > 1:
        spread = f"  [median of {figures['n']:.0f}; walls {figures['wall_all']}]"
    cpu = figures.get("cpu_med", figures["cpu_s"])
    rss = figures.get("rss_max", figures["rss_mb"])
    print(
        f"{data.members:>11,} {label:<16} wall {figures['wall_s']:6.2f} s  "
        f"cpu {cpu:6.2f} s  peak RSS {rss:6.0f} MB{detail}{spread}",
        flush=True,
    )


def check(data: Dataset, label: str, figures: dict[str, float]) -> None:
    if (figures["adds"], figures["removes"]) != (data.adds, data.removes):
        raise SystemExit(f"{label}: wrong diff {figures} for {data}")


def target_line(members: int) -> None:
    seconds, megabytes = TARGETS.get(members, (None, None))
    if seconds is not None:
        limit = f", ≤ {megabytes} MB" if megabytes else ""
        print(f"{'':>11} target for the whole plan process: ≤ {seconds} s{limit}")


def cli_sizes(data: Dataset, args: argparse.Namespace) -> None:
    for backend in args.backends.split(","):
        config = prepare_cli_config(data, backend, args.pg_url)
        prepare_cli_state(config, data)
        if backend == "postgres":
            cold = run_cli(config, cold=True)
            check(data, "plan", cold)
            report(data, "plan postgres*", cold)
            print(f"{'':>11} * cold snapshot cache: the first plan on this machine")
        runs = [run_cli(config) for _ in range(max(1, args.repeat))]
        for run in runs:
            check(data, "plan", run)
        best = median_run(runs)
        report(data, f"plan {backend}", best)
        if not args.no_python:
            slow = run_cli(config, engine="python")
            check(data, "plan python", slow)
            report(data, f"plan {backend} py", slow)
            print(f"{'':>11} python / duckdb wall: {slow['wall_s'] / best['wall_s']:.1f}×")
    target_line(data.members)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1M,10M", help="comma-separated, e.g. 1M,10M")
    parser.add_argument("--memory-limit", default="256MB")
    parser.add_argument("--threads", type=int, default=0, help="0 = DuckDB's default")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size (median shown)")
    parser.add_argument("--no-python", action="store_true", help="skip the Python engine")
    parser.add_argument("--cli", action="store_true", help="time `cohortops plan` instead")
    parser.add_argument("--backends", default="sqlite,postgres", help="state backends (--cli)")
    parser.add_argument("--pg-url", default=PG_URL, help="PostgreSQL server for --cli")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--engine", default="duckdb", help=argparse.SUPPRESS)
    parser.add_argument("--desired", help=argparse.SUPPRESS)
    parser.add_argument("--snapshot", help=argparse.SUPPRESS)
    parser.add_argument("--members", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    # The desired CSVs live beside the generated config directories, not inside them.
    os.environ["COHORTOPS_SOURCE_ROOTS"] = str(DATA)
    if args.child:
        child_diff(args)
        return
    for members in (parse_size(s) for s in args.sizes.split(",")):
        data = build_dataset(members)
        if args.cli:
            cli_sizes(data, args)
            continue
        runs = [run_engine(data, "duckdb", args) for _ in range(max(1, args.repeat))]
        best = median_run(runs)
        report(data, "duckdb", best)
        target_line(members)
        if not args.no_python:
            slow = run_engine(data, "python", args)
            report(data, "python", slow)
            print(f"{'':>11} python / duckdb wall: {slow['wall_s'] / best['wall_s']:.1f}×")


if __name__ == "__main__":
    main()
