"""`cohortops init`: a commented starter configuration that validates as written."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from cohortops.config.schema import schema_text
from cohortops.errors import CohortopsError

FILES = {"cohortops.yaml": "cohortops.yaml", "members.csv": "data/members.csv"}
SCHEMA = "cohortops.schema.json"  # beside the YAML: editors resolve `$schema` offline
GITIGNORE = (
    "# cohortops: the local state (SQLite, snapshots) and saved plans stay out of Git.\n"
    ".cohortops/\n"
    "*.plan\n"
)


def write_starter(directory: Path, *, force: bool = False) -> list[Path]:
    targets = {name: directory / rel for name, rel in FILES.items()}
    extra = {directory / SCHEMA: schema_text(), directory / ".gitignore": GITIGNORE}
    existing = [p for p in [*targets.values(), *extra] if p.exists()]
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
    for target, text in extra.items():
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written
