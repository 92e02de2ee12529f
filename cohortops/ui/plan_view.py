"""A saved plan as a page: the content of the markdown plan comment, from the same helpers.

Totals, blocked cohorts and guards, warnings, the cohort table, then per cohort its headline,
members, cost, samples of adds and removes and the settings difference, and the state the plan
was made against. Text comes from :mod:`cohortops.plan.render_common`; only markup differs.
"""

from __future__ import annotations

from pathlib import Path

from cohortops.membership import IdArray
from cohortops.plan import render_common as fmt
from cohortops.plan.model import CohortPlan, Guard, Plan
from cohortops.ui.markup import Html, definition_list, esc, h, join, table

SAMPLE = 10


def plan_files(root: Path, extra: Path | None) -> list[Path]:
    """``*.plan`` files under the project (not in hidden folders), plus ``--plan``."""
    found = {extra.resolve()} if extra is not None else set()
    for path in root.rglob("*.plan"):
        rel = path.relative_to(root).parts
        if path.is_file() and not any(p.startswith(".") for p in rel[:-1]):
            found.add(path.resolve())
        if len(found) > 500:
            break
    return sorted(found)


def _guard(g: Guard) -> Html:
    who = ", ".join(g.cohorts)
    if g.severity == "block":
        flag = h(" Use <code>{}</code> to apply anyway.", g.override) if g.override else ""
        return h(
            '<li><span class="bad">BLOCKED</span> <code>{}</code> on {}: {}.{}</li>',
            g.kind,
            who,
            g.reason,
            flag,
        )
    return h("<li>warning <code>{}</code> on {}: {}</li>", g.kind, who, g.reason)


def _row(cp: CohortPlan) -> list[object]:
    if cp.errored:
        return ["error", h("<code>{}</code>", cp.cohort_id), "", "", "", "could not be planned"]
    notes = fmt.row_notes(cp, "blocked", str)
    adds = 0 if cp.baseline else cp.adds
    return [
        cp.action,
        h("<code>{}</code>", cp.cohort_id),
        fmt.num(adds),
        fmt.num(cp.removes),
        fmt.num(cp.cost.requests),
        ", ".join(notes),
    ]


def _ids(what: str, ids: IdArray, total: int) -> Html:
    shown = fmt.sample(ids, SAMPLE)
    more = f" and {fmt.num(total - len(shown))} more" if total > len(shown) else ""
    return h("<p>{}: {}{}</p>", what, join((h("<code>{}</code>", x) for x in shown), ", "), more)


def _details(cp: CohortPlan) -> Html:
    parts: list[Html] = []
    if cp.errored:
        parts.append(h('<p class="bad">{}</p>', cp.errored))
    else:
        parts.append(h("<p>{}; {}</p>", fmt.member_line(cp), fmt.cost_line(cp)))
        if cp.adds and not cp.baseline:
            parts.append(_ids("added", cp.to_add, cp.adds))
        if cp.removes:
            parts.append(_ids("removed", cp.to_remove, cp.removes))
        lines = list(cp.settings_diff) + fmt.remote_lines(cp)
        if lines:
            parts.append(h("<pre>{}</pre>", "\n".join(lines)))
    return h(
        "<details open><summary><code>{}</code> — {}</summary>{}</details>",
        cp.cohort_id,
        fmt.headline(cp),
        join(parts),
    )


def plan_body(plan: Plan, source: str) -> Html:
    parts: list[Html] = [h('<p class="muted">Plan file {}</p>', source)]
    if plan.has_changes or plan.has_errors:
        parts.append(h("<p><strong>{}</strong></p>", fmt.totals_line(plan.summary)))
        parts += [h("<p>{}</p>", line) for line in fmt.extra_lines(plan)]
    else:
        parts.append(h("<p><strong>{}</strong></p>", fmt.NO_CHANGES))
    blocked = plan.blocked_cohorts()
    if blocked:
        parts.append(
            h(
                '<p class="bad">{} blocked by guards: apply refuses them unless the flag named '
                "below is given.</p>",
                fmt.plural(len(blocked), "cohort is", "cohorts are"),
            )
        )
    notes = [_guard(g) for g in sorted(plan.guards, key=lambda g: (g.severity != "block", g.id))]
    notes += [h("<li>warning: {}</li>", w.message) for w in plan.warnings]
    notes += [
        h("<li><code>{}</code> {}</li>", cp.cohort_id, hygiene)
        for cp in fmt.ordered(plan)
        if (hygiene := fmt.hygiene_line(cp)) is not None
    ]
    if notes:
        parts.append(h("<h2>Guards and warnings</h2><ul>{}</ul>", join(notes)))
    shown = [cp for cp in fmt.ordered(plan) if cp.is_change or cp.errored]
    if shown:
        parts.append(Html("<h2>Cohorts</h2>"))
        parts.append(
            table(
                ["action", "cohort", "+", "−", "requests", "notes"],
                [_row(cp) for cp in shown],
                numeric=(2, 3, 4),
            )
        )
        parts.append(Html("<h2>Details</h2>"))
        parts += [_details(cp) for cp in shown]
    parts.append(Html("<h2>Made against</h2>"))
    parts.append(
        definition_list(
            [
                ("state lineage", h("<code>{}</code>", plan.lineage)),
                ("state serial", plan.serial),
                ("config digest", h("<code>{}</code>", plan.config_digest[:12])),
                ("created", plan.created_at.isoformat(timespec="seconds")),
                ("targets", ", ".join(plan.targets) if plan.targets else "all cohorts"),
            ]
        )
    )
    return join(parts)


def stale_note(plan: Plan, lineage: str, serial: int) -> Html:
    if plan.lineage != lineage:
        return h('<p class="bad">Stale: made for another state (lineage {}).</p>', plan.lineage)
    if plan.serial != serial:
        return h(
            '<p class="bad">Stale: the state moved from serial {} to {} since it was made.</p>',
            plan.serial,
            serial,
        )
    return esc("")
