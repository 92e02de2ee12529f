"""Number, duration and line formatting shared by the plan renderers."""

from __future__ import annotations

import json
from collections.abc import Callable

from cohortops.membership import IdArray
from cohortops.plan.model import CohortPlan, Plan, Summary
from cohortops.sources.hygiene import MESSAGES

NO_CHANGES = (
    "No changes: the state matches the configuration. `cohortops drift` checks Braze against "
    "the state."
)
SYMBOLS = {"create": "+", "update": "~", "rename": ">", "destroy": "-", "noop": " "}


def num(n: int) -> str:
    return f"{n:,}"


def plural(n: int, word: str, words: str | None = None) -> str:
    return f"{num(n)} {word if n == 1 else (words or word + 's')}"


def rate(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def duration(seconds: float) -> str:
    if round(seconds, 1) < 10:
        return f"{seconds:.1f} s"
    if round(seconds) < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        minutes, rest = divmod(round(seconds), 60)
        return f"{minutes} min {rest} s"
    hours, rest = divmod(round(seconds), 3600)
    return f"{hours} h {rest // 60} min"


def totals_line(summary: Summary) -> str:
    """``Plan: 3 cohorts to change, +12,345 / -678 members, ~174 requests, ...``."""
    at = ""
    if len(summary.rates) == 1:
        at = f" at {rate(summary.rates[0])} req/s"
    elif summary.rates:
        low, high = rate(summary.rates[0]), rate(summary.rates[-1])
        at = f" at {low}–{high} req/s (each destination at its own rate)"
    return (
        f"Plan: {plural(summary.cohorts_to_change, 'cohort')} to change, "
        f"+{num(summary.members_to_add)} / -{num(summary.members_to_remove)} members, "
        f"~{plural(summary.requests, 'request')}, "
        f"~{plural(summary.data_points, 'data point')}, "
        f"~{duration(summary.seconds)}{at}"
    )


def extra_lines(plan: Plan) -> list[str]:
    """Lines that follow the totals: baseline members and cohorts that could not be planned."""
    lines = []
    s = plan.summary
    if s.members_baseline:
        lines.append(
            f"{plural(s.members_baseline, 'member')} will be recorded as a baseline "
            "without being sent (backfill_existing: false)."
        )
    if s.cohorts_errored:
        lines.append(
            f"{plural(s.cohorts_errored, 'cohort')} could not be planned and will not be applied."
        )
    return lines


def headline(cp: CohortPlan) -> str:
    """``create, attribute lytics_segments via lytics → braze-prod, external_id``."""
    delivery = f"attribute {cp.attribute}" if cp.method == "attribute" else "cohort_import"
    ident = cp.identifier + (f" ({cp.alias_label})" if cp.alias_label else "")
    action = "create (baseline)" if cp.baseline else cp.action
    return f"{action}, {delivery} via {cp.connection} → {cp.destination}, {ident}"


def member_line(cp: CohortPlan) -> str:
    if cp.baseline:
        return f"members: {num(cp.adds)} recorded as baseline, not sent"
    kept = f", {num(cp.kept)} left the source and are kept (removal: additive)" if cp.kept else ""
    return (
        f"members: +{num(cp.adds)} / -{num(cp.removes)} "
        f"(desired {num(cp.desired_count)}, recorded {num(cp.recorded_count)}){kept}"
    )


def hygiene_line(cp: CohortPlan) -> str | None:
    """What the source hygiene dropped, so a reviewer sees it without the JSON plan."""
    parts = []
    if cp.duplicates:
        parts.append(plural(cp.duplicates, "duplicate row"))
    for reason, count in sorted(cp.skipped.items()):
        parts.append(f"{num(count)} skipped: {MESSAGES.get(reason, reason)}")
    return "source: " + "; ".join(parts) if parts else None


def cost_line(cp: CohortPlan) -> str:
    note = f" ({cp.cost.note})" if cp.cost.note else ""
    return (
        f"cost: ~{plural(cp.cost.requests, 'request')}, "
        f"~{plural(cp.cost.data_points, 'data point')}{note}, ~{duration(cp.cost.seconds)}"
    )


def remote_lines(cp: CohortPlan) -> list[str]:
    lines = []
    if cp.needs_remote_create:
        lines.append(f"creates the Braze cohort {cp.remote_id!r} named {cp.name!r}")
    if cp.needs_remote_rename:
        lines.append(f"renames the Braze cohort {cp.remote_id!r} to {cp.name!r}")
    if cp.moved_from and cp.remote_id != cp.cohort_id:
        lines.append(f"keeps its Braze identity {cp.remote_id!r}")
    return lines


def sample(ids: IdArray, n: int) -> list[str]:
    return [str(x) for x in ids.slice(0, n).to_pylist()] if n > 0 else []


def printable(text: str) -> str:
    """Control characters in ids must not reach a terminal or a comment raw."""
    return text if text.isprintable() else json.dumps(text, ensure_ascii=False)


def ordered(plan: Plan) -> list[CohortPlan]:
    """Cohorts to show, most urgent first: errored, blocked, then the rest by id.

    Unchanged cohorts appear only when a guard or warning names them alone.
    """
    noted = {g.cohorts[0] for g in plan.guards if len(g.cohorts) == 1}
    noted |= {w.cohort for w in plan.warnings if w.cohort is not None}

    def rank(cp: CohortPlan) -> tuple[int, str]:
        return (0 if cp.errored else 1 if cp.blocked_by else 2, cp.cohort_id)

    shown = (cp for cp in plan.cohorts if cp.is_change or cp.errored or cp.cohort_id in noted)
    return sorted(shown, key=rank)


def state_line(plan: Plan, quote: Callable[[str], str] = str) -> str | None:
    """The state the plan was made against (every rendering names it), or None for old plans."""
    if not plan.state_where:
        return None
    where, how = plan.state_where, ""
    if where.endswith(")") and " (" in where:
        where, how = where[: where.rindex(" (")], where[where.rindex(" (") :]
    if plan.state_missing:
        return (
            f"State: {quote(where)}{how}: none yet, so this plan starts from empty; the first "
            "`cohortops apply` creates it there."
        )
    return f"State: {quote(where)}{how}, serial {plan.serial}."


def row_notes(cp: CohortPlan, blocked: str, quote: Callable[[str], str]) -> list[str]:
    """The notes column of a plan's cohort table (markdown and the dashboard alike)."""
    notes = []
    if cp.blocked_by:
        notes.append(blocked)
    if cp.baseline:
        notes.append(f"baseline {num(cp.adds)}")
    if cp.moved_from:
        notes.append(f"from {quote(cp.moved_from)}")
    if cp.settings_diff:
        notes.append("settings")
    return notes
