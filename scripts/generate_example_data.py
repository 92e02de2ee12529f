"""Regenerate configs/data/ reproducibly (fixed seed): `python scripts/generate_example_data.py`.

The files hold a few thousand ids each out of a population of 10,000 users (user_000000 …
user_009999, the ids `cohortops demo` seeds into the sandbox). A few rows are deliberately messy
(blank, padded, duplicated) so plans show the source hygiene at work.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "configs" / "data"
POPULATION = 10_000


def ids(rng: random.Random, count: int) -> list[str]:
    return [f"user_{n:06d}" for n in sorted(rng.sample(range(POPULATION), count))]


def write_csv(path: Path, column: str, values: list[str]) -> None:
    lines = [column, *values]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_jsonl(path: Path, field: str, values: list[str]) -> None:
    path.write_text("".join(json.dumps({field: v}) + "\n" for v in values), encoding="utf-8")


def main() -> None:
    rng = random.Random(20261124)
    DATA.mkdir(parents=True, exist_ok=True)
    power = ids(rng, 3_000)
    power[10] = f"  {power[10]}  "  # padded: trimmed by the source hygiene
    power.insert(20, "")  # blank: skipped and reported
    power.insert(30, power[31])  # duplicate: counted once
    write_csv(DATA / "power_users.csv", "user_id", power)
    write_jsonl(DATA / "weekly_buyers.jsonl", "external_id", ids(rng, 1_500))
    churn = ids(rng, 2_000)
    # users outside the seeded population: Lytics creates them (create_missing_users)
    churn += [f"user_{n:06d}" for n in range(POPULATION, POPULATION + 50)]
    write_csv(DATA / "churn_risk.csv", "user_id", churn)
    write_jsonl(DATA / "newsletter_engaged.jsonl", "user_id", ids(rng, 4_000))
    # members of the sandbox's Braze segment engaged_30d (the demo seeds it from this file)
    write_csv(DATA / "engaged_30d.csv", "user_id", ids(rng, 1_250))


if __name__ == "__main__":
    main()
