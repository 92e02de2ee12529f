"""Checks that a rendered page holds no markup, script or link that data could have injected."""

from __future__ import annotations

from html.parser import HTMLParser

OUR_SCRIPTS = {"/static/live.js"}
SVG_TAGS = {"svg", "title", "line", "text", "polyline", "circle", "rect"}


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def injected(document: str, *, allowed: frozenset[str] = frozenset()) -> list[str]:
    """Every tag or attribute in ``document`` that our own templates never write."""
    parser = _Collect()
    parser.feed(document)
    problems = []
    ours = {
        "html", "head", "meta", "title", "link", "script", "body", "header", "strong", "nav",
        "a", "main", "h1", "h2", "h3", "div", "dl", "dt", "dd", "table", "caption", "thead",
        "tbody", "tr", "th", "td", "span", "br", "code", "pre", "p", "ul", "li", "details",
        "summary", "figure", "form", "label", "input", "button", "sub", "blockquote", "em",
        *SVG_TAGS, *allowed,
    }  # fmt: skip
    for tag, attrs in parser.tags:
        if tag not in ours:
            problems.append(f"unexpected <{tag}>")
        if tag == "script" and attrs.get("src") not in OUR_SCRIPTS:
            problems.append(f"foreign script {attrs}")
        for name, value in attrs.items():
            if name.startswith("on"):
                problems.append(f"event handler {name}={value!r} on <{tag}>")
            if name in ("href", "src", "action") and value is not None:
                v = value.strip().lower()
                if not (v.startswith("/") or v.startswith("#") or v.startswith("http://127.")):
                    problems.append(f"link {name}={value!r} on <{tag}>")
    return problems
