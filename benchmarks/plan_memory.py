"""First-plan memory: `cohortops plan --out` and `cohortops show` of a cohort with nothing recorded.

Generates (once, under benchmarks/.data/, gitignored) a CSV of N ids like ``user_000123456`` in
shuffled order and a config directory whose cohort reads it, with no state yet, so every id is
an add. Then runs ``plan --out first.plan`` and ``show first.plan`` as child processes and prints
each one's wall time, CPU time and peak RSS (of the process alone; see plan_scale.measure).
Target: both ≤ 500 MB at 10M members.

    .venv/bin/python benchmarks/plan_memory.py                # 10M
    .venv/bin/python benchmarks/plan_memory.py --members 1M
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from plan_scale import DATA, child_env, cohort_config, measure, parse_size

TARGET_MB = 500


def build_csv(members: int, seed: int = 11) -> Path:
    """The desired CSV: ``members`` distinct ids, shuffled (pyarrow writes 10M in ~5 s)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    path = DATA / f"first_{members}.csv"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        numbers = pa.array(range(members), pa.int64())
        numbers = pc.take(numbers, pc.sort_indices(pc.random(members, initializer=seed)))
        digits = pc.utf8_lpad(pc.cast(numbers, pa.string()), 9, "0")
        ids = pc.binary_join_element_wise("user_", digits, "")
        tmp = path.with_suffix(".tmp")
        pcsv.write_csv(pa.table({"user_id": ids}), tmp, pcsv.WriteOptions(quoting_style="none"))
        tmp.replace(path)
    return path


def build_config(members: int, csv: Path) -> Path:
    """A config directory with one attribute cohort and no state (removed before each run)."""
    config = DATA / f"first_cli_{members}"
    config.mkdir(parents=True, exist_ok=True)
    state = "state:\n  backend: sqlite\n  path: state.db\n"
    name = f"First plan ({members} members)"
    extra = "    backfill_existing: true\n"  # every id is sent: no baseline
    (config / "cohortops.yaml").write_text(cohort_config(state, name, csv, extra))
    (config / "state.db").unlink(missing_ok=True)
    return config


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", default="10M", help="e.g. 1M, 10M")
    args = parser.parse_args(argv)
    members = parse_size(args.members)
    started = time.perf_counter()
    csv = build_csv(members)
    print(f"csv: {csv} ({csv.stat().st_size / 1e6:.0f} MB, {time.perf_counter() - started:.0f} s)")
    config = build_config(members, csv)
    env = child_env(COHORTOPS_BENCH_API_KEY="bench-key", COHORTOPS_SOURCE_ROOTS=str(DATA))
    env.pop("COHORTOPS_PLAN_KEY", None)
    script = Path(sys.executable).with_name("cohortops")
    cli = [str(script)] if script.exists() else [sys.executable, "-m", "cohortops"]
    plan_file = config / "first.plan"
    loadavg = Path("/proc/loadavg")
    if loadavg.exists():
        print(f"load average: {loadavg.read_text().strip()}")
    for label, command in (
        ("plan --out", [*cli, "plan", "-c", str(config), "--out", str(plan_file)]),
        ("show", [*cli, "show", str(plan_file)]),
    ):
        wall, cpu, rss, out = measure(command, env, cwd=config)
        verdict = "ok" if rss <= TARGET_MB else f"over the {TARGET_MB} MB target"
        print(
            f"{members:>11,} {label:<11} wall {wall:6.2f} s  cpu {cpu:6.2f} s  "
            f"peak RSS {rss:6.0f} MB  ({verdict}; {len(out):,} bytes of output)",
            flush=True,
        )
    print(f"plan file: {plan_file.stat().st_size / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
