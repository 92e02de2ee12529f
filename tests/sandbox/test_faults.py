"""Seeded fault injection: 5xx, 423, 429 bursts, latency, and dropping the connection after applying."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
import pytest

from cohortops.sandbox import SandboxServer
from cohortops.sandbox.config import SandboxConfig
from cohortops.sandbox.faults import FaultInjector
from cohortops.sandbox.testing import cohort_body

from .conftest import StartSandbox
from .helpers import user


def body(external_id: str = "u1", value: str = "x") -> dict[str, object]:
    return {"attributes": [{"external_id": external_id, "segs": {"add": [value]}}]}


def statuses(server: SandboxServer, client: httpx.Client, count: int) -> list[int]:
    return [client.post("/users/track", json=body(f"u{i}")).status_code for i in range(count)]


def test_server_errors_are_502_503_504_and_apply_nothing(
    start_sandbox: StartSandbox, connect: Callable[..., httpx.Client]
) -> None:
    server = start_sandbox(fault_rate=1.0)
    client = connect(server)
    seen = statuses(server, client, 30)
    assert set(seen) == {502, 503, 504}
    assert server.state()["user_count"] == 0
    assert sum(server.counters()["faults"].values()) == 30
    assert client.get("/_sandbox/state").status_code == 200  # admin routes never fail


def test_faults_are_reproducible_from_the_seed(
    start_sandbox: StartSandbox, connect: Callable[..., httpx.Client]
) -> None:
    runs = []
    for seed in (7, 7, 8):
        server = start_sandbox(fault_rate=0.5, seed=seed)
        runs.append(statuses(server, connect(server), 40))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert 201 in runs[0] and {502, 503, 504} & set(runs[0])


def test_each_fault_kind_has_its_own_stream() -> None:
    alone = FaultInjector(SandboxConfig(fault_rate=0.3, seed=3))
    crowded = FaultInjector(
        SandboxConfig(
            fault_rate=0.3,
            burst_429_rate=0.5,
            locked_423_rate=0.5,
            drop_after_apply_rate=0.5,
            seed=3,
        )
    )
    first = [alone.draw(cohort_endpoint=True).server_error for _ in range(50)]
    second = [crowded.draw(cohort_endpoint=True).server_error for _ in range(50)]
    assert first == second
    assert any(first) and not all(first)


def test_423_only_on_cohort_endpoints(
    start_sandbox: StartSandbox, connect: Callable[..., httpx.Client]
) -> None:
    server = start_sandbox(locked_423_rate=1.0)
    client = connect(server)
    assert client.post("/users/track", json=body()).status_code == 201
    create = {**cohort_body("c1"), "name": "C1", "created_at": "2024-05-01T00:00:00Z"}
    locked = client.post("/partners/kubit/cohorts", json=create)
    assert locked.status_code == 423
    assert locked.json()["message"]
    assert client.post("/partners/kubit/cohorts/users", json=cohort_body("c1")).status_code == 423
    assert server.state()["cohorts"] == []


def test_429_bursts_last_the_configured_length() -> None:
    injector = FaultInjector(SandboxConfig(burst_429_rate=0.05, burst_429_length=4, seed=1))
    draws = [injector.burst_429() for _ in range(2000)]
    runs = "".join("x" if d else "." for d in draws).split(".")
    lengths = {len(r) for r in runs if r}
    assert lengths and all(n % 4 == 0 for n in lengths)


def test_injected_429_through_the_server(
    start_sandbox: StartSandbox, connect: Callable[..., httpx.Client]
) -> None:
    server = start_sandbox(burst_429_rate=1.0, rate_limit=100, send_retry_after=True)
    response = connect(server).post("/users/track", json=body())
    assert response.status_code == 429
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert int(response.headers["Retry-After"]) >= 1
    assert server.state()["user_count"] == 0


def test_drop_after_apply_applies_then_closes_without_response(
    start_sandbox: StartSandbox, connect: Callable[..., httpx.Client]
) -> None:
    server = start_sandbox(drop_after_apply_rate=1.0)
    client = connect(server)
    with pytest.raises(httpx.TransportError):
        client.post("/users/track", json=body("u1", "applied"))
    assert user(server, "u1")["custom_attributes"] == {"segs": ["applied"]}
    assert server.counters()["requests"]["/users/track"] == {"dropped": 1}
    # A fresh connection still works once the fault is switched off.
    server.set_faults(drop_after_apply_rate=0.0)
    assert client.post("/users/track", json=body("u1", "again")).status_code == 201


def test_latency_is_added_without_serialising_requests(start_sandbox: StartSandbox) -> None:
    server = start_sandbox(latency_ms=300)
    results: list[int] = []

    def call() -> None:
        with httpx.Client(
            base_url=server.base_url, headers={"Authorization": "Bearer sandbox-key"}, timeout=10
        ) as client:
            results.append(client.post("/users/track", json=body()).status_code)

    threads = [threading.Thread(target=call) for _ in range(6)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    elapsed = time.perf_counter() - started
    assert results == [201] * 6
    assert 0.3 <= elapsed < 1.7  # one after another would take at least 1.8 s


def test_faults_change_at_run_time_over_http(
    start_sandbox: StartSandbox, connect: Callable[..., httpx.Client]
) -> None:
    server = start_sandbox()
    client = connect(server)
    changed = client.post("/_sandbox/faults", json={"fault_rate": 1.0, "seed": 5})
    assert changed.status_code == 200
    assert changed.json()["fault_rate"] == 1.0
    assert client.post("/users/track", json=body()).status_code in (502, 503, 504)
    assert client.get("/_sandbox/faults").json()["seed"] == 5
    for bad in (
        {"fault_rate": 2},
        {"no_such_fault": 1},
        {"latency_ms": "slow"},
        {"send_retry_after": 1},
    ):
        response = client.post("/_sandbox/faults", json=bad)
        assert response.status_code == 400, bad
        assert response.json()["message"]
    server.set_faults(fault_rate=0.0)
    assert client.post("/users/track", json=body()).status_code == 201
