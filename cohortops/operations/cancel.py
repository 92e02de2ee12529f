"""`cohortops cancel [APPLY_ID]`: ask a running apply, on any machine sharing the state, to stop.

The request is a row in the state (no lock needed: the apply holds it). The apply polls for it
and then stops as on Ctrl-C: no new batch starts, in-flight batches finish and are recorded,
the command exits 130. The apply audits ``apply.cancel`` with the name of who asked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from cohortops.config.model import StateConfig
from cohortops.errors import CohortopsError
from cohortops.state import Store, open_store

POLL_SECONDS = 0.25


def cancel_apply(store: Store, apply_id: str | None, who: str) -> str:
    """Record the request; returns the line to print. Refuses when no such apply runs."""
    running = store.unfinished_applies()
    holder = store.current_lock()
    live = holder is not None and holder.operation in ("apply", "run")
    if apply_id is None:
        if not running or not live:
            raise CohortopsError(
                "No apply is running against this state; nothing to cancel.",
                hint="`cohortops history` lists past applies.",
            )
        target = running[-1]
    else:
        found = [a for a in running if a.apply_id == apply_id]
        if not found or not live:
            raise CohortopsError(
                f"Apply {apply_id} is not running against this state; nothing to cancel."
            )
        target = found[0]
    store.request_cancel(target.apply_id, who)
    return (
        f"Asked apply {target.apply_id} (by {target.who}) to stop: it finishes its in-flight "
        "batches, records them and exits."
    )


@dataclass
class CancelSeen:
    who: str
    at: str


class CancelWatcher:
    """Polls the state (through its own connection) for a cancel of ``apply_id()``.

    ``apply_id`` is read on every poll (the apply id exists before the watcher starts);
    ``on_cancel`` is called once, from the watcher's thread.
    """

    def __init__(
        self,
        state: StateConfig,
        apply_id: Callable[[], str],
        on_cancel: Callable[[], None],
        poll_seconds: float = POLL_SECONDS,
        base: Path | None = None,  # the configuration directory (relative paths, cache)
    ) -> None:
        self._state = state
        self._base = base
        self._apply_id = apply_id
        self._on_cancel = on_cancel
        self._poll = poll_seconds
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self.seen: CancelSeen | None = None

    def _run(self) -> None:
        try:
            store = open_store(self._state, cwd=self._base)
        except CohortopsError:
            return  # the apply itself reports state problems; cancel just stays unavailable
        try:
            while not self._done.wait(self._poll):
                try:
                    found = store.cancel_request(self._apply_id())
                except CohortopsError:
                    continue
                if found is not None:
                    self.seen = CancelSeen(found[0], found[1].isoformat())
                    self._on_cancel()
                    return
        finally:
            store.close()

    def __enter__(self) -> CancelWatcher:
        self._thread = threading.Thread(target=self._run, name="cohortops-cancel", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
