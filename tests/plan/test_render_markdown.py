from __future__ import annotations

import time

from cohortops.plan.planner import make_plan
from cohortops.plan.render_markdown import GITHUB_LIMIT, code, render_markdown

from .builders import NOW, cohort, config, diff, record, state, users


def test_code_spans_escape_backticks_pipes_and_newlines() -> None:
    assert code("user_1") == "`user_1`"
    assert code("a`b") == "``a`b``"
    assert code("`x") == "`` `x ``"
    assert code("a``b`") == "``` a``b` ```"
    assert code("a|b") == "`a|b`"
    assert code("a|b", in_table=True) == "`a\\|b`"
    assert code("a\nb") == "`a b`"


def test_small_plan_comment() -> None:
    old = config([cohort("churn", max_remove_percent=20)])
    cfg = config([cohort("churn", max_remove_percent=20), cohort("new|one")])
    st = state(record(old, "churn", 100))
    diffs = {
        "churn": diff("churn", add=["a`b"], remove=users(30), recorded=100),
        "new|one": diff("new|one", add=["x"]),
    }
    md = render_markdown(make_plan(cfg, st, diffs, now=NOW))
    assert md.startswith("### cohortops plan\n")
    assert (
        "**Plan: 2 cohorts to change, +2 / -30 members, ~3 requests, ~32 data points, "
        "~0.0 s at 500 req/s**"
    ) in md
    assert "> [!CAUTION]" in md
    assert "| 🔄 | `churn` | update | 1 | 30 | 2 | ⛔ blocked |" in md
    assert "| ➕ | `new\\|one` | create | 1 | 0 | 1 |  |" in md
    assert "Use `--allow-mass-removal` to apply anyway." in md
    assert "- added: ``a`b``" in md
    assert "<summary><code>new|one</code>" in md
    assert md.count("<details>") == md.count("</details>") == 2
    assert "Shortened" not in md


def test_no_changes_comment() -> None:
    cfg = config([cohort("a")])
    md = render_markdown(
        make_plan(cfg, state(record(cfg, "a", 1)), {"a": diff("a", recorded=1)}, now=NOW)
    )
    assert "**No changes: the state matches the configuration. `cohortops drift` checks Braze" in md
    assert "<details>" not in md


def test_five_thousand_cohorts_stay_under_the_github_limit() -> None:
    long = "x" * 200
    declared = [cohort(f"cohort-{i:05d}", "kubit" if i % 2 else "lytics") for i in range(5000)]
    gone = [cohort(f"gone-{i:04d}") for i in range(500)]
    old = config(gone)
    cfg = config(declared)
    diffs = {c.id: diff(c.id, add=[f"{long}{j}" for j in range(12)]) for c in declared}
    diffs |= {c.id: diff(c.id, remove=["r"], recorded=1, desired=0) for c in gone}
    st = state(*(record(old, c.id, 1) for c in gone))
    plan = make_plan(cfg, st, diffs, now=NOW)
    start = time.perf_counter()
    md = render_markdown(plan)
    elapsed = time.perf_counter() - start
    assert len(md) < GITHUB_LIMIT
    assert len(md) > GITHUB_LIMIT * 0.8  # the budget is used, not wasted
    assert "Shortened to stay under GitHub's 65,535-character comment limit" in md
    assert "more cohorts |" in md
    assert md.count("<details>") == md.count("</details>")
    assert md.rstrip().endswith("</sub>")
    assert "Plan: 5,500 cohorts to change" in md
    assert "`existing_users_only` on 2,500 checks" in md  # grouped, not 2,500 lines
    assert elapsed < 5


def test_tiny_limit_still_valid() -> None:
    cfg = config([cohort(f"c{i}") for i in range(50)])
    plan = make_plan(cfg, state(), {f"c{i}": diff(f"c{i}", add=["a"]) for i in range(50)}, now=NOW)
    md = render_markdown(plan, limit=3000)
    assert len(md) < 3000
    assert md.count("<details>") == md.count("</details>")


HOSTILE = ("<img src=x onerror=alert(1)>", "[click](javascript:alert(1))", "](javascript:alert(1))")


def _as_html(markdown: str) -> str:
    """Render like a forge would before sanitising: raw HTML on, every link scheme accepted."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    return md.render(markdown)


def test_hostile_ids_and_reasons_stay_text() -> None:
    from dataclasses import replace

    from ui.hostile import injected

    from cohortops.plan.model import Guard, PlanWarning

    cfg = config([cohort("churn", max_remove_percent=20), cohort("new")])
    st = state(record(config([cohort("churn")]), "churn", 100))
    diffs = {
        "churn": diff("churn", add=list(HOSTILE), remove=users(30), recorded=100),
        "new": diff("new", add=["x", *HOSTILE]),
    }
    plan = make_plan(cfg, st, diffs, now=NOW)
    text = " ".join(HOSTILE) + " `code` ``<b>x</b>``` @team"
    plan = replace(
        plan,
        warnings=(*plan.warnings, PlanWarning(f"source row {text}", "churn")),
        guards=(
            *plan.guards,
            Guard("g-x", "max_remove_percent", "block", f"id {text}", ("churn",), "--allow"),
        ),
        cohorts=(
            *plan.cohorts,
            replace(plan.cohorts[0], cohort_id=HOSTILE[0], errored=f"failed for {text}"),
        ),
    )
    markdown = render_markdown(plan)
    rendered = _as_html(markdown)
    assert not injected(rendered), injected(rendered)
    assert "<img" not in rendered and "<b>x</b>" not in rendered
    assert "&lt;img src=x onerror=alert(1)&gt;" in rendered  # shown, as text
