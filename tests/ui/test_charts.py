from __future__ import annotations

from cohortops.ui.charts import Point, change_chart, size_chart
from cohortops.ui.static import BLUE, ORANGE


def test_size_chart_draws_one_point_per_run_and_escapes_labels() -> None:
    points = [Point(f"<b>{i}</b>", i * 1000) for i in range(30)]
    svg = size_chart(points)
    assert svg.count("<circle") == 30 and "<polyline" in svg
    assert "<b>" not in svg and "&lt;b&gt;0&lt;/b&gt;: 0" in svg
    assert "29k" in svg  # the top tick
    assert "No runs" in size_chart([])


def test_change_chart_draws_adds_above_and_removes_below() -> None:
    adds = [Point("r1", 10), Point("r2", 0)]
    removes = [Point("r1", 5), Point("r2", 20)]
    svg = change_chart(adds, removes)
    assert svg.count(f'fill="{BLUE}"') == 2 and svg.count(f'fill="{ORANGE}"') == 2
    assert "r2: -20" in svg and "r1: +10" in svg and "+20" in svg
