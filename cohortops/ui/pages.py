"""The dashboard's pages, as :class:`~cohortops.ui.markup.Html` built from :mod:`.data`."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from cohortops.state import AuditEntry, RunRecord
from cohortops.ui import charts, data
from cohortops.ui.markup import Html, definition_list, esc, h, join, link, page, table, url

TIME = "%Y-%m-%d %H:%M UTC"


def when(at: dt.datetime | None) -> str:
    return at.astimezone(dt.UTC).strftime(TIME) if at is not None else "never"


def _drift(r: data.CohortRow) -> str:
    return f"{r.drift} (checked {when(r.drift_at)})" if r.drift_at is not None else r.drift


def result(run: RunRecord | None) -> Html:
    if run is None:
        return esc("no run yet")
    return h('<span class="result-{}">{}</span>', run.result, run.result)


def _cohort_link(cohort_id: str) -> Html:
    return link(h("<code>{}</code>", cohort_id), url("cohort", cohort_id))


def _live() -> Html:
    return Html(
        '<div id="live" class="live" aria-live="polite">Checking for a running apply…</div>'
    )


def overview(view: data.Overview) -> Html:
    rows = []
    for r in view.rows:
        last = r.last_run
        changes = f"+{last.added:,} / −{last.removed:,}" if last else ""
        failed = f"{last.failed:,}" if last else ""
        state = "" if r.declared else " (not declared: a plan destroys it)"
        rows.append(
            [
                h(
                    "{}{}<br><span class='muted'>{}</span>",
                    _cohort_link(r.cohort_id),
                    state,
                    r.name,
                ),
                r.connection,
                r.delivery,
                f"{r.members:,}" if r.members is not None else "not applied",
                h(
                    "{}<br><span class='muted'>{}</span>",
                    result(last),
                    when(last.ended_at) if last else "",
                ),
                changes,
                failed,
                h(
                    "{}<br><span class='muted'>{}</span>",
                    when(r.next_run) if r.schedule else "",
                    r.schedule or "no schedule",
                ),
                h('<span class="bad">blocked</span>') if last and last.result == "blocked" else "",
                _drift(r),
            ]
        )
    head = definition_list(
        [
            ("state", view.location),
            ("lineage / serial", f"{view.lineage} / {view.serial}"),
            ("lock", view.lock or "free"),
        ]
    )
    body = table(
        [
            "cohort",
            "connection",
            "delivery",
            "members",
            "last run",
            "+ / −",
            "failed",
            "next run",
            "guards",
            "drift",
        ],
        rows,
        numeric=(3, 5, 6),
        cls="overview",
    )
    return page("Overview", join([_live(), head, body]), live=True)


def _settings(title: str, settings: Mapping[str, Any] | None) -> Html:
    if settings is None:
        return h("<h3>{}</h3><p class='muted'>none</p>", title)
    text = json.dumps(settings, indent=2, sort_keys=True, default=str)
    return h("<h3>{}</h3><pre>{}</pre>", title, text)


def describe(entry: AuditEntry) -> str:
    details = dict(entry.data)
    members = details.pop("members", None)
    if isinstance(members, list):
        details["members"] = len(members)
    return " ".join(f"{k}={v}" for k, v in sorted(details.items()) if v not in (None, ""))


def audit_table(entries: Sequence[AuditEntry]) -> Html:
    return table(
        ["seq", "when", "kind", "actor", "details"],
        [[e.seq, when(e.at), e.kind, e.actor, describe(e)] for e in entries],
        numeric=(0,),
    )


def cohort(view: data.CohortDetail) -> Html:
    r = view.row
    runs = data.points(view.runs)
    sizes = [charts.Point(when(x.ended_at), x.total_members) for x in runs]
    adds = [charts.Point(when(x.ended_at), x.added) for x in runs]
    removes = [charts.Point(when(x.ended_at), x.removed) for x in runs]
    chart_rows = [
        [when(x.ended_at), x.result, f"{x.total_members:,}", f"+{x.added:,}", f"−{x.removed:,}"]
        for x in runs
    ]
    facts = definition_list(
        [
            ("name", r.name),
            ("Braze name", view.remote_name or "—"),
            ("connection", r.connection or "—"),
            ("delivery", r.delivery or "—"),
            ("members", f"{r.members:,}" if r.members is not None else "not applied"),
            ("schedule", r.schedule or "none"),
            ("next run", when(r.next_run) if r.next_run else "—"),
            (
                "last run",
                h("{} {}", result(r.last_run), when(r.last_run.ended_at) if r.last_run else ""),
            ),
            ("why", r.reason or "—"),
            ("drift", _drift(r)),
        ]
    )
    history = table(
        [
            "run",
            "started",
            "trigger",
            "result",
            "added",
            "removed",
            "failed",
            "members",
            "apply",
            "reason",
        ],
        [
            [
                x.run_id,
                when(x.started_at),
                x.trigger,
                result(x),
                f"{x.added:,}",
                f"{x.removed:,}",
                f"{x.failed:,}",
                f"{x.total_members:,}",
                x.apply_id or "",
                x.error or "",
            ]
            for x in view.runs
        ],
        numeric=(0, 4, 5, 6, 7),
        cls="runs",
    )
    body = join(
        [
            _live(),
            facts,
            h("<h2>Size and changes</h2>"),
            h(
                '<div class="chart"><figure>{}</figure><figure>{}{}</figure></div>',
                charts.size_chart(sizes),
                charts.change_chart(adds, removes),
                charts.legend(),
            ),
            h(
                '<details><summary>Chart numbers ({} runs)</summary><div class="scroll">{}</div></details>',
                len(runs),
                table(
                    ["run ended", "result", "members", "added", "removed"],
                    chart_rows,
                    numeric=(2, 3, 4),
                ),
            ),
            h("<h2>Run history ({})</h2>", len(view.runs)),
            _more_runs(r.cohort_id, len(view.runs)),
            h('<div class="scroll">{}</div>', history),
            h("<h2>Recent audit entries</h2>"),
            audit_table(view.audit),
            h("<h2>Settings</h2>"),
            _settings("as declared in the configuration", view.declared),
            _settings("as recorded at the last apply", view.recorded),
        ]
    )
    return page(f"Cohort {r.cohort_id}", body, live=True)


def _more_runs(cohort_id: str, shown: int) -> Html:
    if shown < data.RUNS_SHOWN or shown >= data.RUNS_ALL:
        return Html("")
    return h(
        '<p class="muted">The newest {} runs. {}</p>',
        shown,
        link(f"Show up to {data.RUNS_ALL:,}", url("cohort", cohort_id, query={"runs": "all"})),
    )


def member_form(member_id: str = "") -> Html:
    return h(
        '<form method="get" action="/member"><label>Member id '
        '<input type="text" name="id" value="{}" required></label> '
        '<button type="submit">Show timeline</button></form>',
        member_id,
    )


def member(view: data.Timeline | None) -> Html:
    if view is None:
        return page("Member timeline", member_form())
    rows = []
    for e in view.events:
        verb = {"add": "entered", "remove": "left"}.get(e.op or "", e.kind)
        if e.details.get("baseline"):
            verb += " (baseline, not sent)"
        apply_id = str(e.details.get("apply_id") or "")
        start = view.applies.get(apply_id, {})
        rows.append(
            [
                when(e.at),
                verb,
                _cohort_link(e.cohort_id) if e.cohort_id else "",
                apply_id,
                e.actor,
                start.get("pull_request") or "",
                start.get("git_commit") or "",
                start.get("trigger") or "",
            ]
        )
    if rows:
        body = table(
            ["when", "change", "cohort", "apply", "actor", "pull request", "commit", "trigger"],
            rows,
        )
    else:
        body = h("<p>No recorded change for member <code>{}</code>.</p>", view.member_id)
    return page(f"Member {view.member_id}", join([member_form(view.member_id), body]))


def audit(verdict: str, ok: bool, recent: Sequence[AuditEntry], *, pending: bool = False) -> Html:
    cls = "muted" if pending else "good" if ok else "bad"
    body = join(
        [
            h('<p class="{}" id="verdict"><strong>{}</strong></p>', cls, verdict),
            h("<h2>Newest entries</h2>"),
            audit_table(recent),
        ]
    )
    return page("Audit log", body, refresh=2 if pending else None)


def plans(files: Sequence[tuple[str, str]]) -> Html:
    if not files:
        body = h(
            "<p>No <code>*.plan</code> file in the project. Save one with "
            "<code>cohortops plan --out NAME.plan</code> or start the dashboard with "
            "<code>--plan FILE</code>.</p>"
        )
    else:
        body = h(
            "<ul>{}</ul>",
            join(h("<li>{}</li>", link(name, url("plan", key))) for key, name in files),
        )
    return page("Saved plans", body)


def plan(name: str, body: Html) -> Html:
    return page(f"Plan {name}", body)


def not_found(what: str) -> Html:
    return page("Not found", h("<p>{}</p>", what))


def error(message: str) -> Html:
    return page("Error", h('<p class="bad">{}</p>', message))
