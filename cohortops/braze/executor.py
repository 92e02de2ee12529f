"""Keep enough requests in flight to reach the rate limit at real latencies.

Threads:
- one feeder pulls batches lazily from the caller's iterable into a bounded queue (so a
  10M-member apply never materialises more than a few dozen batches);
- N workers take batches from that queue and call ``send`` (the client's rate limiter paces
  them; each in-flight request checks out a transport of its own from the client's pool);
- the thread that called ``run`` receives every result and calls ``on_done`` — so ``on_done``
  runs on the caller's thread, one call at a time, and may use thread-bound resources such as
  a SQLite connection.

A ``stop`` event (or Ctrl-C in the calling thread) stops new batches from starting; batches
already in flight finish and are reported, then ``run`` returns (or re-raises the
KeyboardInterrupt). An exception from the iterable, ``send`` or ``on_done`` stops the run the
same way and is re-raised once in-flight work is reported.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

B = TypeVar("B")
R = TypeVar("R")

_POLL = 0.1  # seconds between checks of ``stop`` while blocked on a queue


@dataclass(frozen=True)
class ExecutorStats:
    """What one ``run`` did. ``not_started``: batches taken from the iterable but not sent
    because of a stop; batches never taken from it are not counted (``exhausted`` is False).
    """

    workers: int
    started: int
    completed: int
    not_started: int
    exhausted: bool
    stopped: bool
    elapsed: float


def auto_workers(requests_per_second: float, expected_latency: float, cap: int) -> int:
    """Concurrency for a rate: rate * latency (Little's law) with 50% headroom, capped."""
    needed = math.ceil(requests_per_second * expected_latency * 1.5) + 1
    return max(1, min(cap, needed))


class _Done:
    """Marks the end of a worker's or the feeder's stream."""


_DONE = _Done()


class BatchExecutor:
    """Runs batches through ``send`` on a pool of worker threads.

    ``workers`` (if given) fixes the concurrency; otherwise it is ``auto_workers(rate,
    expected_latency, max_workers)``. The rate itself is enforced by ``send`` (the client's
    limiter), not here.
    """

    def __init__(
        self,
        requests_per_second: float,
        *,
        expected_latency: float = 0.1,
        max_workers: int = 128,
        workers: int | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if workers is not None and workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers or auto_workers(requests_per_second, expected_latency, max_workers)
        self._clock = clock or time.monotonic

    def run(
        self,
        batches: Iterable[B],
        send: Callable[[B], R],
        on_done: Callable[[R], None],
        *,
        stop: threading.Event | None = None,
    ) -> ExecutorStats:
        """Send every batch; call ``on_done`` on this thread once per sent batch, any order.

        Returns when the iterable is exhausted and everything sent is reported, or once
        in-flight batches are reported after ``stop`` was set. Re-raises KeyboardInterrupt
        and the first exception of the iterable, ``send`` or ``on_done`` after that drain.
        """
        run = _Run(batches, send, self.workers, stop)
        started_at = self._clock()
        run.start()
        failure: BaseException | None = None
        interrupted: BaseException | None = None
        while run.live_workers:
            try:
                item = run.results.get(timeout=_POLL)
            except queue.Empty:
                continue
            except KeyboardInterrupt as exc:
                interrupted = interrupted or exc
                run.halt()
                continue
            if isinstance(item, _Done):
                run.live_workers -= 1
                continue
            try:
                on_done(item)
            except KeyboardInterrupt as exc:
                interrupted = interrupted or exc
                run.halt()
            except BaseException as exc:  # re-raised after in-flight work is reported
                failure = failure or exc
                run.halt()
        run.join()
        failure = failure or run.failure
        if interrupted is not None:
            raise interrupted
        if failure is not None:
            raise failure
        return ExecutorStats(
            workers=self.workers,
            started=run.started,
            completed=run.completed,
            not_started=run.not_started,
            exhausted=run.exhausted,
            stopped=run.stopped(),
            elapsed=self._clock() - started_at,
        )


class _Run(Generic[B, R]):
    """The threads and counters of one ``BatchExecutor.run``."""

    def __init__(
        self,
        batches: Iterable[B],
        send: Callable[[B], R],
        workers: int,
        stop: threading.Event | None,
    ) -> None:
        self.batches = batches
        self.send = send
        self.user_stop = stop
        # Set on failure or Ctrl-C; kept apart so the caller's event is never touched.
        self.halted = threading.Event()
        self.work: queue.Queue[B | _Done] = queue.Queue(maxsize=workers)
        # Bounded too: if on_done falls behind, workers wait instead of piling up results.
        self.results: queue.Queue[R | _Done] = queue.Queue(maxsize=2 * workers)
        self.lock = threading.Lock()
        self.started = 0
        self.completed = 0
        self.not_started = 0
        self.exhausted = False
        self.failure: BaseException | None = None
        self.live_workers = workers
        self.threads = [threading.Thread(target=self._feed, name="braze-feeder", daemon=True)]
        self.threads += [
            threading.Thread(target=self._work, name=f"braze-worker-{n}", daemon=True)
            for n in range(workers)
        ]
        self.worker_count = workers

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        for thread in self.threads:
            thread.join()

    def halt(self, failure: BaseException | None = None) -> None:
        with self.lock:
            if failure is not None and self.failure is None:
                self.failure = failure
        self.halted.set()

    def stopped(self) -> bool:
        return self.halted.is_set() or (self.user_stop is not None and self.user_stop.is_set())

    def _put(self, q: queue.Queue[B | _Done], item: B | _Done) -> bool:
        """Put unless stopped; sentinels always go in (workers drain the queue on stop)."""
        while True:
            if self.stopped() and not isinstance(item, _Done):
                return False
            try:
                q.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue

    def _feed(self) -> None:
        try:
            for batch in self.batches:
                if not self._put(self.work, batch):
                    break
            else:
                self.exhausted = True
        except BaseException as exc:  # the source failed: stop and let run() re-raise
            self.halt(exc)
        finally:
            for _ in range(self.worker_count):
                self._put(self.work, _DONE)

    def _work(self) -> None:
        try:
            while True:
                item = self.work.get()
                if isinstance(item, _Done):
                    return
                if self.stopped():
                    with self.lock:
                        self.not_started += 1
                    continue
                with self.lock:
                    self.started += 1
                try:
                    result = self.send(item)
                except BaseException as exc:
                    self.halt(exc)
                    continue
                self.results.put(result)
                with self.lock:
                    self.completed += 1
        finally:
            self.results.put(_DONE)
