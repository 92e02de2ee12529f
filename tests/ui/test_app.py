"""The dashboard over HTTP (in process): every page, escaping, token and host checks."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from cohortops.errors import CohortopsError
from cohortops.operations.context import App
from cohortops.plan import render_common as fmt
from cohortops.plan.planfile import read_plan
from cohortops.ui import build_app, require_token

from .drifted import drifted_project
from .hostile import injected
from .seed import FAIL_REASON, HOSTILE, MD_ID, SCRIPT, STATE_ONLY, XSS_ID


@pytest.fixture(scope="module")
def client(seeded: tuple[App, Path]) -> TestClient:
    app, _root = seeded
    return TestClient(build_app(app, allowed_hosts=None))


def pages(client: TestClient) -> dict[str, str]:
    plan_keys = re.findall(r'href="/plan/(\w+)"', client.get("/plans").text)
    assert plan_keys, "the saved plan is not listed"
    urls = [
        "/",
        "/cohort/growth",
        "/cohort/imports",
        f"/cohort/{STATE_ONLY}",
        "/member?id=user_00030",
        "/audit",
        "/plans",
        f"/plan/{plan_keys[0]}",
        *(f"/member?id={x}" for x in HOSTILE),
    ]
    out = {}
    for url in urls:
        response = client.get(url, params=None)
        assert response.status_code == 200, (url, response.text[:500])
        out[url] = response.text
    return out


def test_every_page_answers_without_injected_markup(client: TestClient) -> None:
    for url, text in pages(client).items():
        assert not injected(text), (url, injected(text))
        assert SCRIPT not in text and XSS_ID not in text, url
    response = client.get("/")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_overview_lists_declared_and_recorded_cohorts(client: TestClient) -> None:
    text = client.get("/").text
    for expected in ("growth", "imports", "attribute segs", "cohort_import", "daily at 06:00"):
        assert expected in text
    assert "old &lt;img src=x onerror=alert(1)&gt;" in text  # recorded, no longer declared
    assert "not declared" in text
    assert 'href="/cohort/old%20%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E"' in text


def test_cohort_page_shows_runs_reasons_charts_and_settings(client: TestClient) -> None:
    text = client.get("/cohort/growth").text
    assert text.count('<tr><td class="num">') >= 30  # run history rows
    assert "Run history (30)" in text
    assert "<svg" in text and "<polyline" in text and text.count("<rect") >= 60
    assert "Chart numbers (30 runs)" in text
    assert "Braze answered 400 for &lt;img src=x onerror=alert(1)&gt;" in text  # the reason
    assert "&quot;max_remove_percent&quot;: 50" in text  # declared settings
    assert "Recent audit entries" in text and "batch" in text
    assert client.get("/cohort/nope").status_code == 404


def test_member_timeline_names_apply_actor_pull_request_and_commit(client: TestClient) -> None:
    text = client.get("/member", params={"id": "user_00030"}).text
    assert text.count("entered") == 3 and "left" not in text
    assert "a0001" in text and "seeder@test" in text and "c000001" in text
    assert "#1 &lt;script&gt;alert(2)&lt;/script&gt;" in text
    hostile = client.get("/member", params={"id": XSS_ID}).text
    assert "a0003" in hostile and "entered" in hostile
    assert "No recorded change" in client.get("/member", params={"id": "nobody"}).text


def test_plan_page_has_the_markdown_plans_content(
    client: TestClient, seeded: tuple[App, Path]
) -> None:
    _app, root = seeded
    plan = read_plan(root / "review.plan")
    key = re.findall(r'href="/plan/(\w+)"', client.get("/plans").text)[0]
    text = client.get(f"/plan/{key}").text
    assert html.escape(fmt.totals_line(plan.summary)) in text
    growth = plan.cohort("growth")
    for line in (fmt.member_line(growth), fmt.headline(growth), fmt.cost_line(growth)):
        assert html.escape(line) in text
    for member in fmt.sample(growth.to_add, 10):
        assert f"<code>{html.escape(member)}</code>" in text
    assert plan.lineage in text and "state serial" in text
    assert "could not be planned" in text  # the undeclared cohort's error
    assert client.get("/plan/0000").status_code == 404


def test_audit_page_shows_the_verdict(client: TestClient) -> None:
    for _ in range(50):
        text = client.get("/audit").text
        if "intact" in text:
            break
    assert re.search(r"Audit log intact: [\d,]+ entries, hash chain verified", text)


def test_progress_is_json_and_empty_without_a_running_apply(client: TestClient) -> None:
    assert client.get("/api/progress").json() == {"applies": []}


def test_token_is_required_when_set(seeded: tuple[App, Path]) -> None:
    app, _root = seeded
    guarded = TestClient(build_app(app, token="s3cret-token", allowed_hosts=None))
    refused = guarded.get("/")
    assert refused.status_code == 401 and "growth" not in refused.text
    assert guarded.get("/api/progress").status_code == 401
    assert guarded.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert guarded.get("/", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
    first = guarded.get("/?token=s3cret-token")
    assert first.status_code == 200 and "httponly" in first.headers["set-cookie"].lower()
    assert guarded.get("/cohort/growth").status_code == 200  # the cookie now carries it


def test_unknown_host_headers_are_refused_on_loopback(seeded: tuple[App, Path]) -> None:
    app, _root = seeded
    local = TestClient(build_app(app), base_url="http://127.0.0.1:8400")
    assert local.get("/").status_code == 200
    rebound = TestClient(build_app(app), base_url="http://evil.example:8400")
    assert rebound.get("/").status_code == 400


def test_other_hosts_need_a_token() -> None:
    require_token("127.0.0.1", None)
    require_token("0.0.0.0", "t")
    with pytest.raises(CohortopsError, match="without a token"):
        require_token("0.0.0.0", None)


def test_markdown_id_in_pages_is_text(client: TestClient) -> None:
    text = client.get("/").text
    assert MD_ID in text  # shown, as text; no element links to it
    assert FAIL_REASON not in text  # raw, unescaped form never appears


def test_overview_and_cohort_page_show_the_last_drift_check(tmp_path: Path) -> None:
    with drifted_project(tmp_path) as app:
        client = TestClient(build_app(app, allowed_hosts=None))
        overview = html.unescape(client.get("/").text)
        assert "1 missing in 2 sampled (checked " in overview
        assert "none in 1 sampled (checked " in overview
        assert "1 missing in 2 sampled" in html.unescape(client.get("/cohort/a").text)
        assert "u000002" not in overview


def test_a_complete_check_shows_both_directions(tmp_path: Path) -> None:
    from cohortops.apply.actor import Actor
    from cohortops.operations import drift_record

    with drifted_project(tmp_path) as app:
        row = {"cohort_id": "b", "complete": True, "drifted": True, "checked": 1, "recorded": 1}
        rows = [{**row, "missing_count": 2, "not_recorded_count": 3}]
        with app.store() as store:
            lineage = store.snapshot().lineage
            assert drift_record.record(store, rows, Actor("t@ci", "manual"), lineage) is None
        overview = html.unescape(TestClient(build_app(app, allowed_hosts=None)).get("/").text)
        assert "2 missing, 3 unexpected (checked " in overview
