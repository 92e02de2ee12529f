"""A tiny HTML builder that escapes every value it is handed unless it is already markup.

Pages are built from :class:`Html` fragments; anything else (ids, names, error text from sources
or Braze) goes through :func:`html.escape` on the way in, attribute quotes included. There is no
inline script or style: the Content-Security-Policy the app sends forbids both.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import quote


class Html(str):
    """A string that is already safe markup."""

    __slots__ = ()


def esc(value: object) -> Html:
    """``value`` as text: markup passes through, anything else is escaped."""
    if isinstance(value, Html):
        return value
    return Html(html.escape("" if value is None else str(value), quote=True))


def h(template: str, *args: object, **kwargs: object) -> Html:
    """``template`` (trusted, written here) with every argument escaped."""
    return Html(template.format(*(esc(a) for a in args), **{k: esc(v) for k, v in kwargs.items()}))


def join(parts: Iterable[object], sep: str = "") -> Html:
    return Html(esc(sep).join(esc(p) for p in parts))


def url(*segments: str, query: Mapping[str, str] | None = None) -> Html:
    """A same-site path whose segments are percent-encoded (never a scheme of their own)."""
    path = "/" + "/".join(quote(s, safe="") for s in segments)
    if query:
        path += "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query.items())
    return esc(path)


def link(text: object, href: Html) -> Html:
    return h('<a href="{}">{}</a>', href, text)


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    numeric: Sequence[int] = (),
    caption: str | None = None,
    cls: str = "",
) -> Html:
    """A table; columns listed in ``numeric`` are right-aligned. Every cell is escaped."""
    head = join(h('<th scope="col"{}>{}</th>', _num(i, numeric), t) for i, t in enumerate(headers))
    opens = ['<td class="num">' if i in numeric else "<td>" for i in range(len(headers))]
    body = "".join(
        "<tr>" + "".join(f"{o}{esc(v)}</td>" for o, v in zip(opens, row, strict=False)) + "</tr>"
        for row in rows
    )  # plain concatenation: a 1,000-run history is 10,000 cells
    cap = h("<caption>{}</caption>", caption) if caption else Html("")
    return h(
        '<table class="{}">{}<thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
        cls,
        cap,
        head,
        Html(body),
    )


def _num(index: int, numeric: Sequence[int]) -> Html:
    return Html(' class="num"') if index in numeric else Html("")


def definition_list(items: Iterable[tuple[str, object]]) -> Html:
    return h("<dl>{}</dl>", join(h("<dt>{}</dt><dd>{}</dd>", k, v) for k, v in items))


NAV = (("Overview", "/"), ("Plans", "/plans"), ("Member", "/member"), ("Audit", "/audit"))


def page(title: str, body: Html, *, live: bool = False, refresh: int | None = None) -> Html:
    """A whole document; ``live`` loads the script that polls the progress endpoint."""
    nav = join(h('<a href="{}">{}</a>', href, text) for text, href in NAV)
    script = Html('<script src="/static/live.js" defer></script>') if live else Html("")
    if refresh is not None:
        script = h('<meta http-equiv="refresh" content="{}">{}', int(refresh), script)
    return h(
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<title>{} · cohortops</title><link rel="stylesheet" href="/static/app.css">{}</head>'
        "<body><header><strong>cohortops</strong><nav>{}</nav></header>"
        "<main><h1>{}</h1>{}</main></body></html>",
        title,
        script,
        nav,
        title,
        body,
    )
