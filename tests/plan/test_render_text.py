from __future__ import annotations

from cohortops.plan import render_common as fmt
from cohortops.plan.model import Summary
from cohortops.plan.planner import make_plan
from cohortops.plan.render_text import render_text

from .builders import NOW, cohort, config, destination, diff, record, state, users


def test_totals_line_format() -> None:
    summary = Summary(
        cohorts_to_create=1,
        cohorts_to_update=1,
        cohorts_to_destroy=1,
        members_to_add=12_345,
        members_to_remove=678,
        requests=174,
        data_points=13_023,
        seconds=0.4,
        rates=(500.0,),
    )
    assert fmt.totals_line(summary) == (
        "Plan: 3 cohorts to change, +12,345 / -678 members, ~174 requests, "
        "~13,023 data points, ~0.4 s at 500 req/s"
    )


def test_totals_line_with_several_rates_and_singulars() -> None:
    summary = Summary(cohorts_to_create=1, requests=1, data_points=1, seconds=75.0, rates=(50, 500))
    assert fmt.totals_line(summary) == (
        "Plan: 1 cohort to change, +0 / -0 members, ~1 request, ~1 data point, "
        "~1 min 15 s at 50–500 req/s (each destination at its own rate)"
    )


def test_durations() -> None:
    assert [fmt.duration(s) for s in (0.04, 9.96, 12.4, 3599, 7325)] == [
        "0.0 s",
        "10 s",
        "12 s",
        "59 min 59 s",
        "2 h 2 min",
    ]


def test_no_changes() -> None:
    cfg = config([cohort("a")])
    plan = make_plan(cfg, state(record(cfg, "a", 1)), {"a": diff("a", recorded=1)}, now=NOW)
    assert render_text(plan) == (
        "No changes: the state matches the configuration. `cohortops drift` checks Braze "
        "against the state.\n"
    )


def test_cohort_block_with_samples_counts_and_totals() -> None:
    cfg = config([cohort("churn", max_remove_percent=20)], destinations=[destination(rps=500)])
    st = state(record(cfg, "churn", 100))
    d = diff("churn", add=users(12, "new_"), remove=users(30), recorded=100)
    out = render_text(make_plan(cfg, st, {"churn": d}, now=NOW))
    lines = out.splitlines()
    assert (
        "  ~ churn (update, attribute lytics_segments via lytics → braze-prod, external_id)"
        in lines
    )
    assert "      members: +12 / -30 (desired 82, recorded 100)" in lines
    adds = [x.strip() for x in lines if x.strip().startswith("+ new_")]
    assert adds == [f"+ new_{i:06d}" for i in range(10)]
    assert "        … 2 more to add" in lines
    assert "        - user_000009" in lines and "        - user_000010" not in lines
    assert "        … 20 more to remove" in lines
    blocked = next(x for x in lines if "BLOCKED" in x)
    assert blocked.strip().startswith("BLOCKED max_remove_percent: churn would remove 30 of 100")
    assert blocked.endswith("use --allow-mass-removal to apply anyway")
    assert lines[-2] == (
        "Plan: 1 cohort to change, +12 / -30 members, ~2 requests, ~42 data points, "
        "~0.0 s at 500 req/s"
    )
    assert lines[-1].startswith("1 cohort is blocked by guards")


def test_symbols_for_each_action() -> None:
    old = config([cohort("gone"), cohort("upd"), cohort("from")])
    cfg = config([cohort("new"), cohort("upd"), cohort("to", moved_from="from")])
    st = state(record(old, "gone", 1), record(old, "upd", 1), record(old, "from", 0))
    diffs = {
        "gone": diff("gone", remove=["g"], recorded=1, desired=0),
        "upd": diff("upd", add=["u"], recorded=1),
        "new": diff("new", add=["n"]),
        "to": diff("to"),
    }
    lines = render_text(make_plan(cfg, st, diffs, now=NOW)).splitlines()
    heads = [x for x in lines if x.startswith("  ") and not x.startswith("   ")]
    assert [h.split(" (")[0] for h in heads] == ["  - gone", "  + new", "  > from > to", "  ~ upd"]


def test_settings_diff_lines_shown() -> None:
    old = config([cohort("c", max_remove_percent=20)])
    new = config([cohort("c", max_remove_percent=30)])
    out = render_text(
        make_plan(new, state(record(old, "c", 1)), {"c": diff("c", recorded=1)}, now=NOW)
    )
    assert "      ~ guards.max_remove_percent: 20 → 30" in out.splitlines()


def test_errored_cohort_and_warning_lines() -> None:
    cfg = config([cohort("bad"), cohort("k", "kubit")])
    plan = make_plan(
        cfg, state(), {"k": diff("k", add=["x"])}, now=NOW, source_errors={"bad": "boom"}
    )
    out = render_text(plan)
    assert "  ! bad (create" in out
    assert "      ERROR: source failed: boom" in out
    assert "warning (existing_users_only): cohort import affects existing Braze users only" in out
    assert "1 cohort could not be planned and will not be applied." in out


def test_colour_only_when_asked_and_control_characters_escaped() -> None:
    cfg = config([cohort("a")])
    plan = make_plan(cfg, state(), {"a": diff("a", add=["evil\x1b[2Jid"])}, now=NOW)
    plain = render_text(plan)
    assert "\x1b" not in plain
    assert '+ "evil\\u001b[2Jid"' in plain
    coloured = render_text(plan, color=True)
    assert "\x1b[32m  + a\x1b[0m" in coloured


def test_source_hygiene_counts_show_in_text_and_markdown() -> None:
    import dataclasses

    from cohortops.plan.render_markdown import render_markdown
    from cohortops.plan.render_text import render_text

    cfg = config([cohort("churn")], destinations=[destination()])
    st = state(record(cfg, "churn", 100))
    plan = make_plan(cfg, st, {"churn": diff("churn", add=users(2, "n_"), recorded=100)}, now=NOW)
    cp = dataclasses.replace(
        plan.cohorts[0], duplicates=3, skipped={"repeated_header": 1, "empty": 2}
    )
    plan = dataclasses.replace(plan, cohorts=(cp, *plan.cohorts[1:]))
    expected = (
        "source: 3 duplicate rows; 2 skipped: empty identifier; 1 skipped: row repeats the "
        "header (two exports concatenated?)"
    )
    assert expected in render_text(plan)
    assert expected in render_markdown(plan)
