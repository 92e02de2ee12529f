"""Pull-request comment rendering: totals, a summary table, details collapsed.

GitHub refuses comments over 65,535 characters, so the output is built against a budget and
truncated with a note when thousands of cohorts change; the note points at the full plan.
"""

from __future__ import annotations

import html
import re

from cohortops.membership import IdArray
from cohortops.plan import render_common as fmt
from cohortops.plan.model import CohortPlan, Guard, Plan

GITHUB_LIMIT = 65_535
SAMPLE = 10
_ICONS = {"create": "➕", "update": "🔄", "rename": "➡️", "destroy": "➖", "noop": "·"}
_RESERVE = 600  # room kept for the truncation note and the footer
_BLOCK_LINES = 20  # blocking guards of one kind listed one by one up to this many
_BACKTICKS = re.compile(r"`+")


def code(text: str, *, in_table: bool = False) -> str:
    """``text`` as a code span that survives backticks, pipes (in tables) and newlines."""
    text = " ".join(text.splitlines())
    runs = [len(m) for m in _BACKTICKS.findall(text)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    if in_table:
        text = text.replace("|", "\\|")
    return f"{fence}{pad}{text}{pad}{fence}"


class _Budget:
    """Parts of the comment, added while they fit; ``keep`` leaves room for later sections."""

    def __init__(self, limit: int) -> None:
        self.parts: list[str] = []
        self.limit = limit
        self.left = limit - _RESERVE

    def add(self, text: str, *, keep: int = 0) -> bool:
        if len(text) + 1 > self.left - keep:
            return False
        self.parts.append(text)
        self.left -= len(text) + 1
        return True

    def add_all(self, texts: list[str], *, keep: int = 0) -> int:
        """Add in order until one does not fit; return how many were left out."""
        for i, text in enumerate(texts):
            if not self.add(text, keep=keep):
                return len(texts) - i
        return 0


def render_markdown(plan: Plan, *, limit: int = GITHUB_LIMIT, sample: int = SAMPLE) -> str:
    out = _Budget(limit)
    out.add("### cohortops plan\n")
    state = fmt.state_line(plan, code)
    if state:
        out.add(state + "\n")
    if plan.has_changes or plan.has_errors:
        out.add(f"**{fmt.totals_line(plan.summary)}**\n")
        for line in fmt.extra_lines(plan):
            out.add(line + "\n")
    else:
        out.add(f"**{fmt.NO_CHANGES}**\n")
    blocked = plan.blocked_cohorts()
    if blocked:
        out.add(
            f"> [!CAUTION]\n> {fmt.plural(len(blocked), 'cohort is', 'cohorts are')} blocked by "
            "guards: `apply` refuses them unless the flag named below is given.\n"
        )
    notes = _guard_lines(plan.guards) + [f"- ⚠️ {_inline(w.message)}" for w in plan.warnings]
    notes += [
        f"- 🧹 {code(cp.cohort_id)} {_inline(hygiene)}"
        for cp in fmt.ordered(plan)
        if (hygiene := fmt.hygiene_line(cp)) is not None
    ]
    notes_hidden = out.add_all(notes, keep=limit // 2)
    if notes:
        out.add("")
    shown = [cp for cp in fmt.ordered(plan) if cp.is_change or cp.errored]
    rows_hidden = 0
    if shown:
        out.add("| | cohort | action | + | − | requests | notes |\n|---|---|---|--:|--:|--:|---|")
        rows_hidden = out.add_all([_row(cp) for cp in shown], keep=limit // 5)
        if rows_hidden:
            out.add(f"| | … {fmt.plural(rows_hidden, 'more cohort')} | | | | | |")
        out.add("")
    details_hidden = out.add_all([_details(cp, sample) for cp in shown])
    out.left += _RESERVE
    hidden = [
        (notes_hidden, "guard or warning", "guards and warnings"),
        (rows_hidden, "table row", "table rows"),
        (details_hidden, "cohort detail", "cohort details"),
    ]
    left_out = [fmt.plural(n, one, many) for n, one, many in hidden if n]
    if left_out:
        out.add(
            f"_Shortened to stay under GitHub's {GITHUB_LIMIT:,}-character comment limit: "
            f"{', '.join(left_out)} not shown. `cohortops show PLANFILE` or the JSON plan lists "
            "everything._\n"
        )
    out.add(
        f"<sub>state lineage {code(plan.lineage)} serial {plan.serial} · config "
        f"{code(plan.config_digest[:12])} · {plan.created_at.isoformat(timespec='seconds')}</sub>"
    )
    return "\n".join(out.parts) + "\n"


def _row(cp: CohortPlan) -> str:
    if cp.errored:
        return f"| ❗ | {code(cp.cohort_id, in_table=True)} | error | | | | could not be planned |"
    notes = fmt.row_notes(cp, "⛔ blocked", lambda moved: code(moved, in_table=True))
    adds = 0 if cp.baseline else cp.adds
    return (
        f"| {_ICONS[cp.action]} | {code(cp.cohort_id, in_table=True)} | {cp.action} | "
        f"{fmt.num(adds)} | {fmt.num(cp.removes)} | {fmt.num(cp.cost.requests)} | "
        f"{', '.join(notes)} |"
    )


def _guard_lines(guards: tuple[Guard, ...]) -> list[str]:
    """Blocking guards one by one unless one kind repeats a lot; warnings grouped by kind."""
    lines = []
    for severity, spread in (("block", _BLOCK_LINES), ("warn", 1)):
        kinds: dict[str, list[Guard]] = {}
        for g in sorted(guards, key=lambda g: g.id):
            if g.severity == severity:
                kinds.setdefault(g.kind, []).append(g)
        for _kind, group in sorted(kinds.items()):
            if len(group) <= spread:
                lines += [_guard_line(g, g.cohorts, g.reason) for g in group]
            else:
                cohorts = tuple(c for g in group for c in g.cohorts)
                lines.append(_guard_line(group[0], cohorts, group[0].reason, len(group)))
    return lines


def _guard_line(g: Guard, cohorts: tuple[str, ...], reason: str, count: int = 1) -> str:
    kind = f"`{g.kind}`"
    if count > 1:
        kind += f" on {fmt.plural(count, 'check')} ({_who(cohorts)}), e.g."
    else:
        kind = f"{_who(cohorts)} {kind}:"
    if g.severity == "block":
        flag = f" Use `{g.override}` to apply anyway." if g.override else ""
        return f"- ⛔ **BLOCKED** {kind} {_inline(reason)}.{flag}"
    return f"- ⚠️ {kind} {_inline(reason)}"


def _who(cohorts: tuple[str, ...]) -> str:
    who = ", ".join(code(c) for c in cohorts[:5])
    if len(cohorts) > 5:
        who += f" and {fmt.num(len(cohorts) - 5)} more"
    return who


def _details(cp: CohortPlan, sample: int) -> str:
    title = f"<code>{html.escape(cp.cohort_id)}</code> — {html.escape(fmt.headline(cp))}"
    body = [f"<details><summary>{title}</summary>", ""]
    if cp.errored:
        body.append(f"❗ {_inline(cp.errored)}")
    else:
        body += [f"{fmt.member_line(cp)}; {fmt.cost_line(cp)}", ""]
        if cp.adds and not cp.baseline:
            body.append(_id_list("added", cp.to_add, cp.adds, sample))
        if cp.removes:
            body.append(_id_list("removed", cp.to_remove, cp.removes, sample))
        lines = list(cp.settings_diff) + fmt.remote_lines(cp)
        if lines:
            fence = "`" * max([3, *(len(r) + 1 for r in _BACKTICKS.findall("\n".join(lines)))])
            body += ["", f"{fence}diff", *lines, fence]
    body += ["", "</details>", ""]  # the blank line ends the HTML block for what follows
    return "\n".join(body)


def _id_list(what: str, ids: IdArray, total: int, n: int) -> str:
    shown = fmt.sample(ids, n)
    more = f" and {fmt.num(total - len(shown))} more" if total > len(shown) else ""
    return f"- {what}: " + ", ".join(code(x) for x in shown) + more


_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")  # CommonMark: equal runs


def _inline(text: str) -> str:
    """Free text from reasons: one line, no HTML, links, images or mentions outside code spans.

    Reasons quote ids (from sources, Braze or the state) as they are; a `code span` already shows
    its content literally, everything else is escaped for both HTML and Markdown.
    """
    text = " ".join(text.split())
    out, end = [], 0
    for match in _CODE_SPAN.finditer(text):
        out.append(_plain(text[end : match.start()]))
        out.append(match.group(0))
        end = match.end()
    out.append(_plain(text[end:]))
    return "".join(out)


def _plain(text: str) -> str:
    text = html.escape(text, quote=False).replace("@", "@\u200b")
    return re.sub(r"([\\`\[\]])", r"\\\1", text)
