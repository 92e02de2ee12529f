"""A state client run as a real subprocess, so tests can kill it with SIGKILL.

    python tests/state/child.py '<json spec>' hold|crash

``hold``: take the lock, print ``LOCKED <id>``, wait for stdin to close.
``crash``: take the lock, begin an apply, record 3 members durably (flush) and 2 more that stay
in the writer's queue, print ``READY``, wait for stdin to close (the test kills it first).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cohortops.config.model import Secret, StateConfig
from cohortops.state import StoreOptions, open_store


def main() -> None:
    spec = json.loads(sys.argv[1])
    mode = sys.argv[2]
    if spec["backend"] == "sqlite":
        config = StateConfig(path=Path(spec["path"]))
    else:
        config = StateConfig(backend="postgres", url=Secret(spec["url"]))
    # Nothing commits by itself: only flush() makes batches durable.
    options = StoreOptions(group_ids=10**9, group_seconds=3600.0)
    store = open_store(config, cwd=Path(spec["cwd"]), options=options)
    with store.lock("apply", "child@ci") as info:
        if mode == "crash":
            store.upsert_cohort("c", {})
            store.journal_begin("apply-1", "digest", {"adds": 5})
            store.record_batch("c", "add", ["d1", "d2", "d3"], {"apply_id": "apply-1"})
            store.flush()
            store.record_batch("c", "add", ["p1", "p2"], {"apply_id": "apply-1"})
            print("READY", flush=True)
        else:
            print(f"LOCKED {info.id}", flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
