"""The dashboard in a real browser: Debian's chromium driven by Playwright, no browser download.

`scripts/ci_browser.sh` installs chromium in CI; elsewhere these tests skip when it is missing
(and fail in CI, where it must be there). The run also writes the README's screenshots.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cohortops.operations.context import App
from cohortops.ui import build_app

from .drifted import drifted_project
from .seed import FAIL_REASON, XSS_ID, seed
from .serving import served

CHROMIUM = Path(os.environ.get("COHORTOPS_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "img"

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: .ci/run must run scripts/ci_browser.sh first")
    pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def calm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[App, Path]]:
    """A project with plain names, for the screenshots."""
    root = tmp_path_factory.mktemp("ui-calm")
    old = Path.cwd()
    os.chdir(root)
    try:
        yield seed(root, hostile=False), root
    finally:
        os.chdir(old)


def new_page(browser: Any) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.dialogs = dialogs
    return page


def test_pages_in_a_browser(browser: Any, calm: tuple[App, Path]) -> None:
    app, _root = calm
    SHOTS.mkdir(parents=True, exist_ok=True)
    with served(build_app(app)) as base:
        page = new_page(browser)
        page.goto(base + "/")
        assert page.title() == "Overview · cohortops"
        rows = page.locator("table.overview tbody tr")
        assert rows.count() == 3
        assert "Growth: active in 7 of 30 days" in rows.nth(0).inner_text()
        page.wait_for_selector("#live[data-running='0']")
        page.screenshot(path=str(SHOTS / "overview.png"), full_page=True)

        page.click("text=growth")
        assert page.title() == "Cohort growth · cohortops"
        assert page.locator("table.runs tbody tr").count() == 30
        assert page.locator("svg[role=img]").count() == 2
        reason = page.locator("table.runs tbody tr", has_text="failed").first.inner_text()
        assert "Braze answered 503" in reason
        page.screenshot(path=str(SHOTS / "cohort.png"), full_page=False)

        page.click("nav >> text=Member")
        page.fill("input[name=id]", "user_00030")
        page.click("button[type=submit]")
        timeline = page.locator("table tbody tr")
        assert timeline.count() == 3
        assert "#101" in timeline.nth(0).inner_text()

        page.click("nav >> text=Plans")
        page.click("a[href^='/plan/']")
        assert page.title() == "Plan review.plan · cohortops"
        text = page.inner_text("main")
        assert "Plan: " in text and "Made against" in text and "added:" in text
        page.screenshot(path=str(SHOTS / "plan.png"), full_page=False)

        page.click("nav >> text=Audit")
        page.wait_for_selector("#verdict.good", timeout=10_000)
        assert "hash chain verified" in page.inner_text("#verdict")
        assert page.dialogs == []


def test_hostile_ids_do_not_execute(browser: Any, seeded: tuple[App, Path]) -> None:
    app, _root = seeded
    with served(build_app(app)) as base:
        page = new_page(browser)
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        for path in ("/", "/cohort/growth", "/plans", "/audit"):
            page.goto(base + path)
        page.goto(base + "/member?id=" + XSS_ID.replace(" ", "%20"))
        page.click("nav >> text=Plans")
        page.click("a[href^='/plan/']")
        page.goto(base + "/cohort/growth")
        assert FAIL_REASON in page.inner_text("table.runs")  # the reason, shown as text
        assert page.locator("main img, main script, main iframe").count() == 0
        assert page.dialogs == [], page.dialogs


def test_token_refusal_in_a_browser(browser: Any, seeded: tuple[App, Path]) -> None:
    app, _root = seeded
    with served(build_app(app, token="t0ken-for-test")) as base:
        page = new_page(browser)
        response = page.goto(base + "/")
        assert response.status == 401
        assert "needs its token" in page.inner_text("body")
        assert page.goto(base + "/?token=t0ken-for-test").status == 200
        assert page.goto(base + "/cohort/growth").status == 200  # the cookie carries it


def test_live_progress_of_a_running_apply(browser: Any, seeded: tuple[App, Path]) -> None:
    app, _root = seeded
    with served(build_app(app)) as base, app.store() as store, store.lock("apply", "ci@runner"):
        page = new_page(browser)
        page.goto(base + "/")
        page.wait_for_selector("#live[data-running='0']")
        store.journal_begin("live01", "d" * 64, {"cohorts": ["imports"], "members_to_add": 50})
        store.record_batch("imports", "add", [f"live_{i}" for i in range(30)])
        store.flush()
        page.wait_for_selector("#live:has-text('30 of 50')", timeout=10_000)
        assert "ci@runner" in page.inner_text("#live")
        store.journal_end("live01", "success")
        store.compact("imports")


def test_overview_shows_the_last_drift_check(browser: Any, tmp_path: Path) -> None:
    with drifted_project(tmp_path) as app, served(build_app(app)) as base:
        page = new_page(browser)
        page.goto(base + "/")
        rows = page.locator("table.overview tbody tr")
        drift = {
            rows.nth(i).locator("td").first.inner_text().split()[0]: rows.nth(i)
            .locator("td")
            .last.inner_text()
            for i in range(rows.count())
        }
        assert drift["a"].startswith("1 missing in 2 sampled (checked "), drift
        assert drift["b"].startswith("none in 1 sampled (checked "), drift
        page.click("a[href='/cohort/a']")
        assert "1 missing in 2 sampled" in page.inner_text("main")
