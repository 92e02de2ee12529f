"""BatchExecutor: laziness, concurrency, exactly-once reporting, stopping, failures."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from cohortops.braze import BatchExecutor, auto_workers


def test_every_batch_is_reported_once_on_the_calling_thread() -> None:
    seen: list[int] = []
    threads: set[int] = set()
    senders: set[str] = set()

    def send(n: int) -> int:
        senders.add(threading.current_thread().name)
        return n * 10

    def on_done(result: int) -> None:
        threads.add(threading.get_ident())
        seen.append(result)

    stats = BatchExecutor(100, workers=4).run(range(500), send, on_done)
    assert sorted(seen) == [n * 10 for n in range(500)]
    assert threads == {threading.get_ident()}
    assert all(name.startswith("braze-worker-") for name in senders)
    assert (stats.started, stats.completed, stats.not_started) == (500, 500, 0)
    assert stats.exhausted and not stats.stopped and stats.workers == 4


def test_batches_are_pulled_lazily() -> None:
    pulled = 0
    gaps: list[int] = []
    done = 0

    def source() -> Iterator[int]:
        nonlocal pulled
        for n in range(2000):
            pulled += 1
            yield n

    def on_done(_: int) -> None:
        nonlocal done
        done += 1
        gaps.append(pulled - done)

    BatchExecutor(1, workers=3).run(source(), lambda n: n, on_done)
    # queue (3) + in flight (3) + results waiting (6) + one in the feeder's hand
    assert max(gaps) <= 3 + 3 + 6 + 1
    assert done == 2000


def test_workers_really_run_concurrently() -> None:
    barrier = threading.Barrier(8, timeout=10)

    def send(n: int) -> int:
        barrier.wait()  # breaks (and fails the test) unless 8 sends are in flight at once
        return n

    results: list[int] = []
    BatchExecutor(1, workers=8).run(range(32), send, results.append)
    assert sorted(results) == list(range(32))


def test_stop_finishes_in_flight_batches_and_starts_no_more() -> None:
    stop = threading.Event()
    release = threading.Event()
    started: list[int] = []
    lock = threading.Lock()

    def send(n: int) -> int:
        with lock:
            started.append(n)
            if len(started) == 4:
                stop.set()
                release.set()
        release.wait(10)
        return n

    reported: list[int] = []
    stats = BatchExecutor(1, workers=4).run(range(1000), send, reported.append, stop=stop)
    assert stats.stopped and not stats.exhausted
    assert sorted(reported) == sorted(started)
    assert stats.started == stats.completed == len(started)
    assert len(started) <= 4 + 4  # at most one more round was already past its stop check
    assert 0 <= stats.not_started <= 8


@pytest.mark.parametrize("where", ["send", "on_done", "source"])
def test_failures_stop_the_run_and_are_reraised(where: str) -> None:
    reported: list[int] = []

    def source() -> Iterator[int]:
        for n in range(100):
            if where == "source" and n == 50:
                raise OSError("source broke")
            yield n

    def send(n: int) -> int:
        if where == "send" and n == 20:
            raise OSError("send broke")
        return n

    def on_done(n: int) -> None:
        if where == "on_done" and n == 10:
            raise OSError("on_done broke")
        reported.append(n)

    with pytest.raises(OSError, match="broke"):
        BatchExecutor(1, workers=2).run(source(), send, on_done)
    assert len(reported) < 100
    assert len(set(reported)) == len(reported)


def test_ctrl_c_in_the_calling_thread_drains_then_reraises() -> None:
    reported: list[int] = []
    sent: list[int] = []

    def send(n: int) -> int:
        sent.append(n)
        return n

    def on_done(n: int) -> None:
        reported.append(n)
        if len(reported) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        BatchExecutor(1, workers=2).run(range(10_000), send, on_done)
    assert sorted(reported) == sorted(sent)  # every sent batch was reported
    assert len(sent) < 10_000


def test_concurrency_is_sized_from_rate_and_latency() -> None:
    assert auto_workers(1000, 0.05, 128) == 76
    assert auto_workers(500, 0.1, 64) == 64
    assert auto_workers(1, 0.01, 128) == 2
    assert BatchExecutor(100, expected_latency=0.2).workers == 31
    with pytest.raises(ValueError):
        BatchExecutor(100, workers=0)
