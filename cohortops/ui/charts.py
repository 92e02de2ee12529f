"""Server-side SVG charts: members over time and adds/removes per run.

Each chart is drawn from the same rows the page shows as a table beside it, so the numbers are
readable without the picture. Labels go through :mod:`cohortops.ui.markup` like everything else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cohortops.ui.markup import Html, h, join
from cohortops.ui.static import BLUE, ORANGE

WIDTH, HEIGHT = 560, 220
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 16, 34


@dataclass(frozen=True)
class Point:
    label: str  # shown under the axis (first and last only) and in the tooltip
    value: int


def _short(n: float) -> str:
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= size:
            return f"{n / size:.1f}{suffix}".replace(".0", "")
    return f"{n:.0f}"


def _frame(
    title: str, body: Html, ticks: Sequence[tuple[float, str]], first: str, last: str
) -> Html:
    grid = join(
        h(
            '<line x1="{}" x2="{}" y1="{y}" y2="{y}" stroke="#ddd"/>'
            '<text x="{}" y="{y}" dy="4" text-anchor="end" font-size="11">{}</text>',
            LEFT,
            WIDTH - RIGHT,
            LEFT - 6,
            label,
            y=f"{y:.1f}",
        )
        for y, label in ticks
    )
    return h(
        '<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{hh}" viewBox="0 0 {w} {hh}" '
        'role="img" aria-label="{t}"><title>{t}</title>{}{}'
        '<text x="{}" y="{}" font-size="11">{}</text>'
        '<text x="{}" y="{}" font-size="11" text-anchor="end">{}</text></svg>',
        grid,
        body,
        LEFT,
        HEIGHT - 10,
        first,
        WIDTH - RIGHT,
        HEIGHT - 10,
        last,
        w=WIDTH,
        hh=HEIGHT,
        t=title,
    )


def _x(i: int, n: int) -> float:
    span = WIDTH - LEFT - RIGHT
    return LEFT + (span * i / (n - 1) if n > 1 else span / 2)


def size_chart(points: Sequence[Point], title: str = "Members after each run") -> Html:
    """A line of the member count after each run, oldest left."""
    if not points:
        return Html('<p class="muted">No runs recorded yet.</p>')
    top = max(max(p.value for p in points), 1)
    plot = HEIGHT - TOP - BOTTOM

    def y(v: float) -> float:
        return TOP + plot * (1 - v / top)

    coords = [(_x(i, len(points)), y(p.value)) for i, p in enumerate(points)]
    line = " ".join(f"{x:.1f},{yy:.1f}" for x, yy in coords)
    dots = join(
        h(
            '<circle cx="{}" cy="{}" r="3" fill="{}"><title>{}: {}</title></circle>',
            f"{x:.1f}",
            f"{yy:.1f}",
            BLUE,
            p.label,
            f"{p.value:,}",
        )
        for (x, yy), p in zip(coords, points, strict=True)
    )
    body = h('<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>{}', BLUE, line, dots)
    ticks = [(y(top * f), _short(top * f)) for f in (0, 0.5, 1)]
    return _frame(title, body, ticks, points[0].label, points[-1].label)


def change_chart(
    adds: Sequence[Point], removes: Sequence[Point], title: str = "Adds and removes per run"
) -> Html:
    """Adds as bars above the axis (blue), removes below it (orange, hatched by position)."""
    if not adds:
        return Html('<p class="muted">No runs recorded yet.</p>')
    top = max([1, *(p.value for p in adds), *(p.value for p in removes)])
    plot = HEIGHT - TOP - BOTTOM
    mid = TOP + plot / 2
    n = len(adds)
    slot = (WIDTH - LEFT - RIGHT) / n
    bar = max(slot * 0.7, 1.0)
    bars = []
    for i, (a, r) in enumerate(zip(adds, removes, strict=True)):
        x = LEFT + slot * i + (slot - bar) / 2
        up, down = plot / 2 * a.value / top, plot / 2 * r.value / top
        bars.append(
            h(
                '<rect x="{x}" y="{}" width="{w}" height="{}" fill="{}"><title>{}: +{}</title></rect>'
                '<rect x="{x}" y="{}" width="{w}" height="{}" fill="{}" stroke="#7a5500" '
                'stroke-width="0.5"><title>{}: -{}</title></rect>',
                f"{mid - up:.1f}",
                f"{up:.1f}",
                BLUE,
                a.label,
                f"{a.value:,}",
                f"{mid:.1f}",
                f"{down:.1f}",
                ORANGE,
                r.label,
                f"{r.value:,}",
                x=f"{x:.1f}",
                w=f"{bar:.1f}",
            )
        )
    axis = h(
        '<line x1="{}" x2="{}" y1="{y}" y2="{y}" stroke="#333"/>',
        LEFT,
        WIDTH - RIGHT,
        y=f"{mid:.1f}",
    )
    ticks = [(TOP, "+" + _short(top)), (mid, "0"), (TOP + plot, "-" + _short(top))]
    return _frame(title, join([axis, *bars]), ticks, adds[0].label, adds[-1].label)


def legend() -> Html:
    return h(
        '<p class="muted"><svg width="12" height="12"><rect width="12" height="12" fill="{}"/>'
        '</svg> added (above the axis) &nbsp; <svg width="12" height="12"><rect width="12" '
        'height="12" fill="{}"/></svg> removed (below the axis)</p>',
        BLUE,
        ORANGE,
    )
