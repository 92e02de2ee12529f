"""Who is running cohortops, and from where: recorded in locks, audit entries and run history."""

from __future__ import annotations

import getpass
import json
import os
import socket
import subprocess
from dataclasses import dataclass
from typing import Any

from cohortops.state.logs import RunTrigger


@dataclass(frozen=True)
class Actor:
    who: str  # "alice" (CI actor), "alice@example.com" (git), "root@host"
    trigger: RunTrigger
    git_commit: str | None = None
    pull_request: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "who": self.who,
            "trigger": self.trigger,
            "git_commit": self.git_commit,
            "pull_request": self.pull_request,
        }


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = out.stdout.strip()
    return value if out.returncode == 0 and value else None


def _pull_request(env: dict[str, str]) -> int | None:
    ref = env.get("GITHUB_REF", "")
    if ref.startswith("refs/pull/"):
        number = ref.split("/")[2]
        return int(number) if number.isdigit() else None
    path = env.get("GITHUB_EVENT_PATH")
    if path and os.path.isfile(path):
        try:
            with open(path, encoding="utf-8") as fh:
                event = json.load(fh)
        except (OSError, ValueError):
            return None
        pr_number = (event.get("pull_request") or {}).get("number")
        return pr_number if isinstance(pr_number, int) else None
    return None


def detect_actor(trigger: RunTrigger | None = None, environ: dict[str, str] | None = None) -> Actor:
    env = dict(os.environ if environ is None else environ)
    in_ci = env.get("CI", "").lower() in {"1", "true", "yes"}
    who = env.get("GITHUB_ACTOR") or env.get("COHORTOPS_ACTOR")
    if not who:
        email = _git("config", "user.email")
        who = email or f"{getpass.getuser()}@{socket.gethostname()}"
    return Actor(
        who=who,
        trigger=trigger or ("ci" if in_ci else "manual"),
        git_commit=env.get("GITHUB_SHA") or _git("rev-parse", "HEAD"),
        pull_request=_pull_request(env),
    )
