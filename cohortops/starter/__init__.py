"""`cohortops init`: a commented starter configuration that validates as written."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from cohortops.errors import CohortopsError

FILES = {"cohortops.yaml": "cohortops.yaml", "members.csv": "data/members.csv"}


def write_starter(directory: Path, *, force: bool = False) -> list[Path]:
    targets = {name: directory / rel for name, rel in FILES.items()}
    existing = [p for p in targets.values() if p.exists()]
    if existing and not force:
        raise CohortopsError(
            f"{existing[0]} already exists; choose another directory or pass --force"
        )
    written = []
    package = resources.files("cohortops.starter")
    for name, target in targets.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(package.joinpath(name).read_text(encoding="utf-8"), encoding="utf-8")
        written.append(target)
    return written
