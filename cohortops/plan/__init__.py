"""Planning: the pure planner, guards, cost estimate, renderers and the plan file."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cohortops.plan.model import Plan

FORMATS = ("text", "markdown", "json")


def render(plan: Plan, fmt: str, *, color: bool = False) -> str:
    """The plan in ``fmt`` (text, markdown or json); ``color`` applies to text only."""
    # Imported here so that importing a submodule (memberdiff, model) stays light.
    from cohortops.errors import PlanError
    from cohortops.plan.render_json import render_json
    from cohortops.plan.render_markdown import render_markdown
    from cohortops.plan.render_text import render_text

    if fmt == "text":
        return render_text(plan, color=color)
    if fmt == "markdown":
        return render_markdown(plan)
    if fmt == "json":
        return render_json(plan)
    raise PlanError(f"Unknown plan format {fmt!r}.", hint=f"Use one of: {', '.join(FORMATS)}.")
