"""When a cohort is due: explicit DST and calendar cases, then properties over many zones."""

from __future__ import annotations

import datetime as dt
from typing import Literal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cohortops.config.model import Schedule
from cohortops.config.schedule import describe, due_at, latest_at, next_at, occurrence

UTC = dt.UTC
PARIS = "Europe/Paris"
NEW_YORK = "America/New_York"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


def daily(at: str, tz: str) -> Schedule:
    return Schedule("daily", dt.time.fromisoformat(at), tz)


def weekly(weekday: int, at: str, tz: str) -> Schedule:
    return Schedule("weekly", dt.time.fromisoformat(at), tz, weekday=weekday)


def monthly(day: int | Literal["last"], at: str, tz: str = "UTC") -> Schedule:
    return Schedule("monthly", dt.time.fromisoformat(at), tz, day=day)


def once(date: str, at: str, tz: str = "UTC") -> Schedule:
    return Schedule("once", dt.time.fromisoformat(at), tz, date=dt.date.fromisoformat(date))


# -- DST -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "day", "expected"),
    [
        # Paris springs forward at 01:00 UTC on 2024-03-31 (02:00 CET → 03:00 CEST): 02:00 and
        # 02:30 do not exist and run when the clocks jump, 03:00 CEST itself.
        (daily("02:30", PARIS), dt.date(2024, 3, 31), utc(2024, 3, 31, 1, 0)),
        (daily("02:00", PARIS), dt.date(2024, 3, 31), utc(2024, 3, 31, 1, 0)),
        (daily("03:00", PARIS), dt.date(2024, 3, 31), utc(2024, 3, 31, 1, 0)),
        (daily("01:59", PARIS), dt.date(2024, 3, 31), utc(2024, 3, 31, 0, 59)),
        (daily("02:30", PARIS), dt.date(2024, 3, 30), utc(2024, 3, 30, 1, 30)),
        (daily("02:30", PARIS), dt.date(2024, 4, 1), utc(2024, 4, 1, 0, 30)),
        # Paris falls back at 01:00 UTC on 2024-10-27 (03:00 CEST → 02:00 CET): 02:30 happens
        # twice and runs at the first one, still CEST.
        (daily("02:30", PARIS), dt.date(2024, 10, 27), utc(2024, 10, 27, 0, 30)),
        (daily("03:00", PARIS), dt.date(2024, 10, 27), utc(2024, 10, 27, 2, 0)),
        # New York springs forward at 07:00 UTC on 2024-03-10 (02:00 EST → 03:00 EDT).
        (daily("02:30", NEW_YORK), dt.date(2024, 3, 10), utc(2024, 3, 10, 7, 0)),
        (daily("01:30", NEW_YORK), dt.date(2024, 3, 10), utc(2024, 3, 10, 6, 30)),
        (daily("03:30", NEW_YORK), dt.date(2024, 3, 10), utc(2024, 3, 10, 7, 30)),
        # New York falls back at 06:00 UTC on 2024-11-03: 01:30 EDT first, 01:30 EST an hour on.
        (daily("01:30", NEW_YORK), dt.date(2024, 11, 3), utc(2024, 11, 3, 5, 30)),
        (daily("02:00", NEW_YORK), dt.date(2024, 11, 3), utc(2024, 11, 3, 7, 0)),
    ],
)
def test_occurrence_across_dst(schedule: Schedule, day: dt.date, expected: dt.datetime) -> None:
    assert occurrence(schedule, day) == expected
    assert latest_at(schedule, expected) == expected
    assert latest_at(schedule, expected - dt.timedelta(seconds=1)) != expected
    assert next_at(schedule, expected - dt.timedelta(seconds=1)) == expected


def test_ambiguous_time_runs_once_in_paris() -> None:
    schedule = daily("02:30", PARIS)
    first = utc(2024, 10, 27, 0, 30)  # 02:30 CEST
    second = utc(2024, 10, 27, 1, 30)  # 02:30 CET, the same wall time again
    assert due_at(schedule, utc(2024, 10, 26, 0, 31), first) == first
    # Ran at the first 02:30: the second one, an hour later, is not a new occurrence.
    assert due_at(schedule, first + dt.timedelta(minutes=1), second) is None
    assert due_at(schedule, first + dt.timedelta(minutes=1), second + dt.timedelta(hours=5)) is None
    assert next_at(schedule, first) == utc(2024, 10, 28, 1, 30)  # 02:30 CET next day


def test_ambiguous_time_runs_once_in_new_york() -> None:
    schedule = daily("01:30", NEW_YORK)
    ticks = [utc(2024, 11, 3, 5, 0) + dt.timedelta(minutes=5 * i) for i in range(48)]
    runs = _simulate(schedule, utc(2024, 11, 2, 12, 0), ticks)
    assert runs == [utc(2024, 11, 3, 5, 30)]


def test_gap_time_runs_once_on_spring_forward_day() -> None:
    schedule = daily("02:30", NEW_YORK)
    ticks = [utc(2024, 3, 10, 5, 0) + dt.timedelta(minutes=5 * i) for i in range(60)]
    assert _simulate(schedule, utc(2024, 3, 9, 12, 0), ticks) == [utc(2024, 3, 10, 7, 0)]


def test_weekly_across_dst() -> None:
    sunday = weekly(6, "02:15", NEW_YORK)
    assert latest_at(sunday, utc(2024, 3, 10, 12, 0)) == utc(2024, 3, 10, 7, 0)
    assert next_at(sunday, utc(2024, 3, 10, 7, 0)) == utc(2024, 3, 17, 6, 15)  # EDT
    assert latest_at(sunday, utc(2024, 3, 10, 6, 59)) == utc(2024, 3, 3, 7, 15)  # EST


# -- calendars -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2024, 2, 29, 12, 0), utc(2024, 2, 29, 9, 0)),  # leap year
        (utc(2024, 2, 29, 8, 0), utc(2024, 1, 31, 9, 0)),
        (utc(2023, 3, 1, 0, 0), utc(2023, 2, 28, 9, 0)),  # common year
        (utc(2100, 3, 1, 0, 0), utc(2100, 2, 28, 9, 0)),  # divisible by 100: not leap
        (utc(2000, 3, 1, 0, 0), utc(2000, 2, 29, 9, 0)),  # divisible by 400: leap
        (utc(2024, 5, 15, 0, 0), utc(2024, 4, 30, 9, 0)),
        (utc(2025, 1, 1, 0, 0), utc(2024, 12, 31, 9, 0)),  # across the year
    ],
)
def test_monthly_last_day(now: dt.datetime, expected: dt.datetime) -> None:
    assert latest_at(monthly("last", "09:00"), now) == expected


def test_monthly_next_at_rolls_over_months_and_years() -> None:
    last = monthly("last", "09:00")
    assert next_at(last, utc(2024, 1, 31, 9, 0)) == utc(2024, 2, 29, 9, 0)
    assert next_at(last, utc(2024, 12, 31, 9, 0)) == utc(2025, 1, 31, 9, 0)
    first = monthly(1, "09:00", "Asia/Tokyo")  # 09:00 JST is 00:00 UTC
    assert next_at(first, utc(2024, 12, 15, 0, 0)) == utc(2025, 1, 1, 0, 0)
    assert latest_at(first, utc(2024, 12, 31, 23, 59)) == utc(2024, 12, 1, 0, 0)
    day28 = monthly(28, "23:30", PARIS)  # 28 exists every month
    assert next_at(day28, utc(2023, 2, 1, 0, 0)) == utc(2023, 2, 28, 22, 30)


def test_weekly_picks_the_weekday() -> None:
    monday = weekly(0, "07:30", NEW_YORK)
    wednesday = utc(2024, 3, 13, 0, 0)
    assert latest_at(monday, wednesday) == utc(2024, 3, 11, 11, 30)
    assert next_at(monday, wednesday) == utc(2024, 3, 18, 11, 30)


def test_once() -> None:
    schedule = once("2024-05-01", "10:00", PARIS)
    at = utc(2024, 5, 1, 8, 0)
    assert due_at(schedule, None, utc(2024, 4, 30, 0, 0)) is None  # in the future
    assert due_at(schedule, None, at) == at
    assert due_at(schedule, None, utc(2030, 1, 1)) == at  # missed: still runs, once
    assert due_at(schedule, at + dt.timedelta(seconds=3), utc(2030, 1, 1)) is None
    assert next_at(schedule, utc(2024, 1, 1)) == at
    assert next_at(schedule, at) is None
    assert latest_at(schedule, at - dt.timedelta(microseconds=1)) is None


def test_missed_runs_run_once() -> None:
    schedule = daily("06:00", PARIS)
    last = utc(2024, 3, 1, 5, 1)
    now = utc(2024, 3, 9, 12, 0)  # eight occurrences missed
    due = due_at(schedule, last, now)
    assert due == utc(2024, 3, 9, 5, 0)
    assert due_at(schedule, now, now) is None
    assert due_at(schedule, now, now + dt.timedelta(hours=17)) == utc(2024, 3, 10, 5, 0)


def test_never_run_is_due_at_latest_occurrence() -> None:
    schedule = daily("23:15", "UTC")
    assert due_at(schedule, None, utc(2024, 6, 1, 23, 14)) == utc(2024, 5, 31, 23, 15)
    assert due_at(schedule, None, utc(2024, 6, 1, 23, 15)) == utc(2024, 6, 1, 23, 15)


def test_a_run_after_the_occurrence_covers_it() -> None:
    schedule = daily("06:00", "UTC")
    occurrence_at = utc(2024, 6, 1, 6, 0)
    assert due_at(schedule, occurrence_at, utc(2024, 6, 1, 7)) is None  # ran at that instant
    assert due_at(schedule, utc(2024, 6, 1, 5, 59), utc(2024, 6, 1, 7)) == occurrence_at


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        due_at(daily("06:00", "UTC"), None, dt.datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        next_at(daily("06:00", "UTC"), dt.datetime(2024, 1, 1))


def test_describe() -> None:
    assert describe(daily("06:00", PARIS)) == "daily at 06:00 Europe/Paris"
    assert describe(weekly(0, "07:30", NEW_YORK)) == "weekly on Monday at 07:30 America/New_York"
    assert describe(monthly("last", "09:00")) == "monthly on the last day at 09:00 UTC"
    assert describe(monthly(3, "09:00")) == "monthly on day 3 at 09:00 UTC"
    assert describe(once("2024-05-01", "10:00")) == "once on 2024-05-01 at 10:00 UTC"


# -- properties ----------------------------------------------------------------------------------

ZONES = (
    "UTC",
    PARIS,
    NEW_YORK,
    "Australia/Lord_Howe",  # 30-minute DST shift
    "America/Santiago",  # transitions at local midnight
    "Asia/Kolkata",
    "Pacific/Auckland",
)

schedules = st.builds(
    lambda every, hour, minute, tz, weekday, day, date: Schedule(
        every,
        dt.time(hour, minute),
        tz,
        date=date if every == "once" else None,
        weekday=weekday if every == "weekly" else None,
        day=day if every == "monthly" else None,
    ),
    st.sampled_from(["once", "daily", "weekly", "monthly"]),
    st.integers(0, 23),
    st.sampled_from([0, 1, 15, 30, 45, 59]),
    st.sampled_from(ZONES),
    st.integers(0, 6),
    st.one_of(st.integers(1, 28), st.just("last")),
    st.dates(dt.date(2019, 1, 1), dt.date(2031, 12, 31)),
)
instants = st.datetimes(dt.datetime(2020, 1, 1), dt.datetime(2030, 12, 31), timezones=st.just(UTC))


def _local_matches(schedule: Schedule, instant: dt.datetime) -> None:
    """An occurrence sits on a scheduled local date, at the wall time or just after a gap."""
    zone = ZoneInfo(schedule.timezone)
    local = instant.astimezone(zone)
    day = local.date()
    if local.time().replace(fold=0) != schedule.at:
        # Only a wall time that does not exist moves, and only forward, to the jump.
        day = next(
            d
            for d in (local.date(), local.date() - dt.timedelta(days=1))
            if occurrence(schedule, d) == instant
        )
        wall = dt.datetime.combine(day, schedule.at).replace(tzinfo=zone)
        assert wall.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall.replace(
            tzinfo=None
        ), f"{wall} exists, yet the occurrence moved to {local}"
        assert local.replace(tzinfo=None) > wall.replace(tzinfo=None)
    if schedule.every == "weekly":
        assert day.weekday() == schedule.weekday
    elif schedule.every == "monthly":
        last = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        assert day.day == (last.day if schedule.day == "last" else schedule.day)
    elif schedule.every == "once":
        assert day == schedule.date


@settings(max_examples=300, deadline=None)
@given(schedules, instants)
def test_latest_is_the_last_occurrence_not_after_now(schedule: Schedule, now: dt.datetime) -> None:
    latest = latest_at(schedule, now)
    following = next_at(schedule, now)
    if latest is None:
        assert schedule.every == "once"
        assert following is not None and following > now
        return
    assert latest <= now
    after = next_at(schedule, latest)
    assert after is None or after > now  # nothing scheduled between latest and now
    assert following == after
    _local_matches(schedule, latest)


@settings(max_examples=300, deadline=None)
@given(schedules, instants)
def test_next_is_strictly_after_and_an_occurrence(schedule: Schedule, after: dt.datetime) -> None:
    following = next_at(schedule, after)
    if following is None:
        assert schedule.every == "once"
        return
    assert following > after
    assert latest_at(schedule, following) == following
    assert latest_at(schedule, following - dt.timedelta(microseconds=1)) == latest_at(
        schedule, after
    )
    _local_matches(schedule, following)
    if schedule.every == "daily":
        again = next_at(schedule, following)
        assert again is not None
        assert dt.timedelta(hours=21) <= again - following <= dt.timedelta(hours=27)


@settings(max_examples=300, deadline=None)
@given(schedules, st.one_of(st.none(), instants), instants)
def test_due_at_is_latest_after_last_run(
    schedule: Schedule, last: dt.datetime | None, now: dt.datetime
) -> None:
    latest = latest_at(schedule, now)
    expected = latest if latest is not None and (last is None or latest > last) else None
    assert due_at(schedule, last, now) == expected


@settings(max_examples=100, deadline=None)
@given(
    schedules,
    instants,
    st.lists(st.integers(1, 6 * 60), min_size=1, max_size=60),
)
def test_frequent_ticks_run_every_occurrence_exactly_once(
    schedule: Schedule, start: dt.datetime, gaps: list[int]
) -> None:
    """cron every few minutes to hours: each occurrence runs once, none is skipped."""
    ticks = []
    t = start
    for gap in gaps:
        t += dt.timedelta(minutes=gap)
        ticks.append(t)
    runs = _simulate(schedule, start, ticks)
    expected = []
    occurrence_at = next_at(schedule, start)
    while occurrence_at is not None and occurrence_at <= ticks[-1]:
        expected.append(occurrence_at)
        occurrence_at = next_at(schedule, occurrence_at)
    assert runs == expected


@settings(max_examples=100, deadline=None)
@given(schedules, instants, st.lists(st.integers(1, 90 * 24 * 60), min_size=1, max_size=20))
def test_sparse_ticks_run_missed_occurrences_once(
    schedule: Schedule, start: dt.datetime, gaps: list[int]
) -> None:
    """Ticks days or months apart: at most one run per tick, always the latest occurrence."""
    t, last = start, start
    for gap in gaps:
        t += dt.timedelta(minutes=gap)
        due = due_at(schedule, last, t)
        if due is not None:
            assert last < due <= t
            assert due == latest_at(schedule, t)
            last = t
        else:
            following = next_at(schedule, last)
            assert following is None or following > t


def _simulate(schedule: Schedule, last: dt.datetime, ticks: list[dt.datetime]) -> list[dt.datetime]:
    runs = []
    for tick in ticks:
        due = due_at(schedule, last, tick)
        if due is not None:
            runs.append(due)
            last = tick
    return runs
