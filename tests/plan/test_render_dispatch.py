from __future__ import annotations

import json

import pytest

from cohortops.errors import PlanError
from cohortops.plan import render
from cohortops.plan.planner import make_plan

from .builders import NOW, cohort, config, diff, state


def test_render_dispatches_by_format() -> None:
    plan = make_plan(config([cohort("a")]), state(), {"a": diff("a", add=["x"])}, now=NOW)
    assert render(plan, "text").startswith("cohortops will perform the following actions:")
    assert "\x1b[" in render(plan, "text", color=True)
    assert render(plan, "markdown").startswith("### cohortops plan")
    assert json.loads(render(plan, "json"))["summary"]["members_to_add"] == 1
    with pytest.raises(PlanError, match="Unknown plan format 'yaml'"):
        render(plan, "yaml")
