"""Terminal rendering of a plan, Terraform-like: ``+`` create, ``~`` update, ``>`` rename,
``-`` destroy, ``!`` cannot be planned. Colour is the caller's decision (the CLI knows the tty).
"""

from __future__ import annotations

import json
from collections import defaultdict

from cohortops.membership import IdArray
from cohortops.plan import render_common as fmt
from cohortops.plan.model import CohortPlan, Guard, Plan, PlanWarning

SAMPLE = 10
_COLORS = {
    "+": "32",
    "~": "33",
    ">": "36",
    "-": "31",
    "!": "31;1",
    " ": "0",
    "block": "31;1",
    "warn": "33",
    "bold": "1",
    "dim": "2",
}


class _Painter:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, style: str, text: str) -> str:
        if not self.color:
            return text
        return f"\x1b[{_COLORS[style]}m{text}\x1b[0m"


def render_text(plan: Plan, *, color: bool = False, sample: int = SAMPLE) -> str:
    paint = _Painter(color)
    lines: list[str] = []
    single: dict[str, list[Guard]] = defaultdict(list)
    shared: list[Guard] = []
    for g in plan.guards:
        (single[g.cohorts[0]] if len(g.cohorts) == 1 else shared).append(g)
    by_cohort: dict[str | None, list[PlanWarning]] = defaultdict(list)
    for w in plan.warnings:
        by_cohort[w.cohort].append(w)

    shown = fmt.ordered(plan)
    state = fmt.state_line(plan)
    if state:
        lines += [paint("dim", state), ""]
    if plan.has_changes:
        lines += ["cohortops will perform the following actions:", ""]
    for cp in shown:
        lines += _cohort(cp, single[cp.cohort_id], by_cohort[cp.cohort_id], paint, sample)
        lines.append("")
    if shared:
        lines.append(paint("bold", "Guards across cohorts:"))
        lines += ["  " + _guard(g, paint) for g in shared]
        lines.append("")
    if by_cohort[None]:
        lines.append(paint("bold", "Warnings:"))
        lines += ["  " + paint("warn", f"warning: {w.message}") for w in by_cohort[None]]
        lines.append("")
    if plan.has_changes or plan.has_errors:
        lines.append(paint("bold", fmt.totals_line(plan.summary)))
        lines += fmt.extra_lines(plan)
    else:
        lines.append(paint("bold", fmt.NO_CHANGES))
    blocked = plan.blocked_cohorts()
    if blocked:
        lines.append(
            paint(
                "block",
                f"{fmt.plural(len(blocked), 'cohort is', 'cohorts are')} blocked by guards; "
                "apply refuses them unless the named flags are given.",
            )
        )
    return "\n".join(lines) + "\n"


def _cohort(
    cp: CohortPlan,
    guards: list[Guard],
    warnings: list[PlanWarning],
    paint: _Painter,
    sample: int,
) -> list[str]:
    symbol = "!" if cp.errored else fmt.SYMBOLS[cp.action]
    title = fmt.printable(cp.cohort_id)
    if cp.moved_from:
        title = f"{fmt.printable(cp.moved_from)} > {title}"
    if cp.name != cp.cohort_id:
        title += " " + json.dumps(cp.name, ensure_ascii=False)
    out = [paint(symbol, f"  {symbol} {title}") + paint("dim", f" ({fmt.headline(cp)})")]
    pad = "      "
    if cp.errored:
        return [*out, paint("!", f"{pad}ERROR: {cp.errored}")]
    if cp.adds or cp.removes or cp.action != "noop":
        out.append(pad + fmt.member_line(cp))
    hygiene = fmt.hygiene_line(cp)
    if hygiene:
        out.append(pad + paint("dim", hygiene))
    if not cp.baseline:
        out += _ids(cp.to_add, cp.adds, "+", "to add", paint, sample)
    out += _ids(cp.to_remove, cp.removes, "-", "to remove", paint, sample)
    for line in cp.settings_diff:
        out.append(pad + paint(line[0] if line[0] in "+-~" else " ", line))
    out += [pad + line for line in fmt.remote_lines(cp)]
    if cp.cost.requests or cp.cost.data_points:
        out.append(pad + fmt.cost_line(cp))
    out += [pad + _guard(g, paint) for g in guards]
    out += [pad + paint("warn", f"warning: {w.message}") for w in warnings]
    return out


def _ids(ids: IdArray, total: int, symbol: str, what: str, paint: _Painter, n: int) -> list[str]:
    shown = fmt.sample(ids, n)
    out = [paint(symbol, f"        {symbol} {fmt.printable(x)}") for x in shown]
    if total > len(shown):
        out.append(paint("dim", f"        … {fmt.num(total - len(shown))} more {what}"))
    return out


def _guard(g: Guard, paint: _Painter) -> str:
    if g.severity == "block":
        flag = f"; use {g.override} to apply anyway" if g.override else ""
        return paint("block", f"BLOCKED {g.kind}: {g.reason}{flag}")
    return paint("warn", f"warning ({g.kind}): {g.reason}")
