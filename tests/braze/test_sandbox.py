"""The client and executor against the real sandbox over a socket on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

import pytest
from proxyserver import Proxy

from cohortops.braze import (
    AttributeBatch,
    BatchExecutor,
    BatchResult,
    BrazeAuthError,
    BrazeClient,
    BrazePermissionError,
    BrazeRetriesExhausted,
    attribute_batches,
    cohort_import_batches,
)
from cohortops.membership import MemberOp
from cohortops.sandbox import ALL_PERMISSIONS, SandboxConfig, SandboxServer, serve_in_thread

pytestmark = pytest.mark.timeout(60)

PARTNER = {"partner_api_key": "sandbox-partner-key", "client_secret": "sandbox-data-import-key"}
USERS = 600


def ids(count: int, start: int = 0) -> list[str]:
    return [f"user_{n:09d}" for n in range(start, start + count)]


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    config = SandboxConfig(
        api_keys={"sandbox-key": ALL_PERMISSIONS, "export-only": frozenset({"users.export.ids"})},
        max_array_length=100,
    )
    with serve_in_thread(config, host="127.0.0.1", port=0) as sb:
        yield sb


@pytest.fixture
def sb(server: SandboxServer) -> SandboxServer:
    server.reset()
    server.seed_users(
        {"external_ids_range": {"prefix": "user_", "start": 0, "count": USERS, "width": 9}}
    )
    return server


@pytest.fixture
def client(sb: SandboxServer) -> Iterator[BrazeClient]:
    with BrazeClient(
        sb.base_url,
        "sandbox-key",
        destination_id="sandbox",
        requests_per_second=2000,
        export_requests_per_second=2000,
        timeout=5,
        backoff_base=0.01,
        backoff_cap=0.2,
        api_key_hint="BRAZE_API_KEY",
    ) as braze:
        yield braze


def attribute_holders(sb: SandboxServer, attribute: str, value: str) -> set[str]:
    return {
        u["external_id"]
        for u in sb.state()["users"]
        if value in u["custom_attributes"].get(attribute, [])
    }


def run_all(
    client: BrazeClient, batches: Iterable[AttributeBatch], workers: int = 8
) -> list[BatchResult[AttributeBatch]]:
    results: list[BatchResult[AttributeBatch]] = []
    BatchExecutor(client.requests_per_second, workers=workers).run(
        batches,
        client.track_attributes,
        results.append,
    )
    return results


def test_batches_land_in_order_sized_and_complete(sb: SandboxServer, client: BrazeClient) -> None:
    members = [*ids(500), "x" * 256]
    batches = attribute_batches(
        members,
        attribute="segments",
        value="vip",
        action="add",
        identifier="external_id",
        update_existing_only=True,
    )
    results = run_all(client, batches)
    assert batches.invalid == [("x" * 256, "longer than 255 characters (256)")]
    assert sorted(i for r in results for i in r.acknowledged) == ids(500)
    assert all(r.failed == () and r.error is None for r in results)
    assert attribute_holders(sb, "segments", "vip") == set(ids(500))
    counters = sb.counters()
    assert counters["objects_per_request"] == {"75": 6, "50": 1}
    assert counters["requests_total"] == 7


def test_the_client_sends_through_the_proxy_the_environment_names(
    sb: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    proxy = Proxy()
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    batches = attribute_batches(
        ids(150),
        attribute="segments",
        value="vip",
        action="add",
        identifier="external_id",
        update_existing_only=False,
    )
    try:
        with BrazeClient(sb.base_url, "sandbox-key", destination_id="sandbox", timeout=5) as braze:
            results = run_all(braze, batches, workers=2)
    finally:
        proxy.close()
    assert all(r.failed == () for r in results)
    assert proxy.requests == [f"POST {sb.base_url}/users/track"] * 2
    assert sb.counters()["requests_total"] == 2


def test_partial_errors_fail_only_the_bad_objects(sb: SandboxServer, client: BrazeClient) -> None:
    batch = AttributeBatch(
        attribute="segments",
        value="vip",
        action="add",
        identifier="external_id",
        alias_label=None,
        ids=("user_000000001", "y" * 300, "user_000000002"),
        update_existing_only=True,
    )
    result = client.track_attributes(batch)
    assert result.acknowledged == ("user_000000001", "user_000000002")
    assert [i for i, _ in result.failed] == ["y" * 300]
    assert result.error is None
    assert attribute_holders(sb, "segments", "vip") == {"user_000000001", "user_000000002"}


def test_small_rate_limit_is_followed_without_429s(sb: SandboxServer, client: BrazeClient) -> None:
    sb.set_faults(rate_limit=15, rate_window_seconds=1.0)
    batches = attribute_batches(
        ids(300),
        attribute="segments",
        value="slow",
        action="add",
        identifier="external_id",
        update_existing_only=True,
        max_objects=10,
    )
    results = run_all(client, batches, workers=6)
    assert all(r.error is None for r in results)
    assert attribute_holders(sb, "segments", "slow") == set(ids(300))
    counters = sb.counters()
    # X-RateLimit-Remaining/Reset hold the client back before Braze has to refuse.
    assert counters["rate_limited"] <= 2
    assert counters["requests"]["/users/track"] == {"201": 30}


@pytest.mark.parametrize("retry_after", [False, True])
def test_429s_from_a_shared_workspace_budget_are_retried(
    sb: SandboxServer, retry_after: bool
) -> None:
    """Two clients (two limiters) share one window: the 429s they cause are waited out."""
    # Seed 2 injects one 429 (with the window's headers) among the first 40 requests, so the
    # wait-and-retry path runs even when the two clients happen not to collide.
    sb.set_faults(
        rate_limit=20,
        rate_window_seconds=1.0,
        send_retry_after=retry_after,
        burst_429_rate=0.05,
        seed=2,
    )
    outcomes: list[list[BatchResult[AttributeBatch]]] = []

    def apply(value: str) -> None:
        with BrazeClient(
            sb.base_url, "sandbox-key", destination_id="sandbox", requests_per_second=1000
        ) as braze:
            batches = attribute_batches(
                ids(200),
                attribute="segments",
                value=value,
                action="add",
                identifier="external_id",
                update_existing_only=True,
                max_objects=10,
            )
            outcomes.append(run_all(braze, batches, workers=4))

    threads = [threading.Thread(target=apply, args=(v,)) for v in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(outcomes) == 2
    assert all(r.error is None for results in outcomes for r in results)
    assert attribute_holders(sb, "segments", "one") == set(ids(200))
    assert attribute_holders(sb, "segments", "two") == set(ids(200))
    counters = sb.counters()
    assert counters["requests"]["/users/track"]["201"] == 40
    assert counters["rate_limited"] + counters["faults"]["burst_429"] >= 1


def test_transient_faults_are_retried_to_success(sb: SandboxServer, client: BrazeClient) -> None:
    sb.set_faults(fault_rate=0.2, burst_429_rate=0.05, seed=3)
    batches = attribute_batches(
        ids(USERS),
        attribute="segments",
        value="flaky",
        action="add",
        identifier="external_id",
        update_existing_only=True,
        max_objects=20,
    )
    results = run_all(client, batches)
    assert all(r.error is None for r in results)
    assert attribute_holders(sb, "segments", "flaky") == set(ids(USERS))
    faults = sb.counters()["faults"]
    assert sum(faults.values()) > 0


def test_retries_are_bounded(sb: SandboxServer) -> None:
    sb.set_faults(fault_rate=1.0)
    with BrazeClient(
        sb.base_url, "sandbox-key", destination_id="sandbox", max_attempts=3, backoff_base=0.01
    ) as braze:
        batch = next(
            iter(
                attribute_batches(
                    ids(5),
                    attribute="segments",
                    value="never",
                    action="add",
                    identifier="external_id",
                    update_existing_only=True,
                )
            )
        )
        result = braze.track_attributes(batch)
    assert isinstance(result.error, BrazeRetriesExhausted)
    assert result.acknowledged == ()
    assert sb.counters()["requests_total"] == 3
    assert attribute_holders(sb, "segments", "never") == set()


def test_dropped_connections_after_apply_converge(sb: SandboxServer, client: BrazeClient) -> None:
    sb.set_faults(drop_after_apply_rate=0.3, seed=5)
    cases: tuple[tuple[MemberOp, set[str]], ...] = (
        ("add", set(ids(300))),
        ("remove", set(ids(150, 150))),
    )
    for action, expected in cases:
        members = ids(150) if action == "remove" else ids(300)
        batches = attribute_batches(
            members,
            attribute="segments",
            value="dropped",
            action=action,
            identifier="external_id",
            update_existing_only=True,
            max_objects=15,
        )
        results = run_all(client, batches)
        assert all(r.error is None for r in results)
        assert attribute_holders(sb, "segments", "dropped") == expected
    assert sb.counters()["faults"]["drop_after_apply"] > 0
    # Re-applied adds did not duplicate the value in anyone's array.
    for user in sb.state()["users"]:
        values = user["custom_attributes"].get("segments", [])
        assert len(values) == len(set(values))


def test_export_finds_known_and_reports_unknown(sb: SandboxServer, client: BrazeClient) -> None:
    wanted = [*ids(110), "ghost-1", "ghost-2"]
    result = client.export_ids(wanted, fields_to_export=["external_id"])
    found = [u["external_id"] for u in result.users]
    assert len(found) == 110 and set(found) == set(ids(110))
    assert sorted(result.invalid_user_ids) == ["ghost-1", "ghost-2"]
    assert sb.counters()["requests"]["/users/export/ids"]["201"] == 3


def test_cohort_import_add_remove_and_rename(sb: SandboxServer, client: BrazeClient) -> None:
    created = datetime(2024, 1, 1, tzinfo=UTC)
    client.create_or_rename_cohort("kubit", "power", "Power users", created_at=created, **PARTNER)

    def apply(action: MemberOp, members: list[str]) -> None:
        for batch in cohort_import_batches(
            members,
            partner="kubit",
            cohort_id="power",
            action=action,
            identifier="external_id",
            max_ids=200,
        ):
            result = client.cohort_import(batch, **PARTNER)
            assert result.error is None and result.acknowledged == batch.ids

    apply("add", [*ids(450), "unknown-user"])
    apply("remove", ids(100))
    client.create_or_rename_cohort(
        "kubit", "power", "Power users (30d)", created_at=created, **PARTNER
    )
    [cohort] = sb.state(include_users=False)["cohorts"]
    assert cohort["name"] == "Power users (30d)"
    assert cohort["member_external_ids"] == ids(350, 100)  # unknown ids are skipped, never created
    assert sb.state(include_users=False)["user_count"] == USERS
    assert sb.counters()["ids_per_cohort_request"] == {"200": 2, "51": 1, "100": 1}


def test_cohort_423_is_retried(sb: SandboxServer, client: BrazeClient) -> None:
    sb.set_faults(locked_423_rate=0.5, seed=1)
    client.create_or_rename_cohort("kubit", "c", "C", created_at=datetime.now(UTC), **PARTNER)
    for batch in cohort_import_batches(
        ids(200), partner="kubit", cohort_id="c", action="add", identifier="external_id", max_ids=20
    ):
        assert client.cohort_import(batch, **PARTNER).error is None
    assert sb.counters()["faults"]["423"] > 0


def test_credentials_errors(sb: SandboxServer) -> None:
    batch = next(
        iter(
            attribute_batches(
                ids(3),
                attribute="segments",
                value="v",
                action="add",
                identifier="external_id",
                update_existing_only=True,
            )
        )
    )
    with BrazeClient(sb.base_url, "wrong-key", destination_id="sandbox") as braze:
        assert isinstance(braze.track_attributes(batch).error, BrazeAuthError)
    with BrazeClient(sb.base_url, "export-only", destination_id="sandbox") as braze:
        assert isinstance(braze.track_attributes(batch).error, BrazePermissionError)
        assert braze.export_ids(["user_000000001"]).invalid_user_ids == ()
        cohort = next(
            iter(
                cohort_import_batches(
                    ids(3), partner="kubit", cohort_id="c", action="add", identifier="external_id"
                )
            )
        )
        result = braze.cohort_import(cohort, partner_api_key="bad", client_secret="bad")
        assert isinstance(result.error, BrazeAuthError) and "partner" in str(result.error)
    assert sb.counters()["requests_total"] == 4


def test_stop_reports_in_flight_batches(sb: SandboxServer, client: BrazeClient) -> None:
    sb.set_faults(latency_ms=20)
    stop = threading.Event()
    results: list[BatchResult[AttributeBatch]] = []

    def on_done(result: BatchResult[AttributeBatch]) -> None:
        results.append(result)
        if len(results) == 5:
            stop.set()

    batches = attribute_batches(
        ids(USERS),
        attribute="segments",
        value="partial",
        action="add",
        identifier="external_id",
        update_existing_only=True,
        max_objects=5,
    )
    stats = BatchExecutor(1000, workers=4).run(batches, client.track_attributes, on_done, stop=stop)
    acknowledged = {i for r in results for i in r.acknowledged}
    assert stats.stopped and stats.completed == len(results) < USERS // 5
    # What Braze holds is exactly what was reported: nothing applied went unrecorded.
    assert attribute_holders(sb, "segments", "partial") == acknowledged
