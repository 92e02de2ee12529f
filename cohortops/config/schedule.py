"""When a scheduled cohort is due: pure date arithmetic over IANA timezones, DST-safe.

A schedule names a local wall-clock time. Each scheduled local date has exactly one occurrence:
a wall time that does not exist that day (spring forward) runs at the first instant after it,
which is the moment the clocks jump; a wall time that happens twice (fall back) runs at its
first occurrence (``fold=0``). Every instant returned is an aware UTC datetime.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from cohortops.config.model import WEEKDAYS, Schedule

UTC = dt.UTC
_ONE_DAY = dt.timedelta(days=1)


def due_at(
    schedule: Schedule, last_run: dt.datetime | None, now: dt.datetime
) -> dt.datetime | None:
    """The latest occurrence at or before ``now`` that is after ``last_run``, or None.

    Only the latest one is returned: however many occurrences were missed, the cohort runs once.
    """
    latest = latest_at(schedule, now)
    if latest is None:
        return None
    if last_run is not None and latest <= _aware(last_run, "last_run"):
        return None
    return latest


def latest_at(schedule: Schedule, now: dt.datetime) -> dt.datetime | None:
    """The most recent occurrence at or before ``now`` (None before a ``once`` date)."""
    now = _aware(now, "now")
    zone = ZoneInfo(schedule.timezone)
    # One day of slack either side: an occurrence never strays a day from its local date.
    start = now.astimezone(zone).date() + _ONE_DAY
    for day in _dates(schedule, start, step=-1):
        instant = occurrence(schedule, day)
        if instant <= now:
            return instant
    return None


def next_at(schedule: Schedule, after: dt.datetime) -> dt.datetime | None:
    """The first occurrence strictly after ``after`` (None once a ``once`` date has passed)."""
    after = _aware(after, "after")
    zone = ZoneInfo(schedule.timezone)
    start = after.astimezone(zone).date() - _ONE_DAY
    for day in _dates(schedule, start, step=1):
        instant = occurrence(schedule, day)
        if instant > after:
            return instant
    return None


def occurrence(schedule: Schedule, day: dt.date) -> dt.datetime:
    """The UTC instant of the schedule's wall time on local date ``day``."""
    return local_instant(day, schedule.at, ZoneInfo(schedule.timezone))


def local_instant(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    wall = dt.datetime.combine(day, at.replace(tzinfo=None, fold=0))
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first  # exists (for an ambiguous wall time, fold=0 is its first occurrence)
    # In a gap: fold=0 reads the wall time with the offset from before the jump, fold=1 with the
    # one after; the jump itself lies between the two readings.
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    return _transition(min(first, second), max(first, second), zone)


def _transition(low: dt.datetime, high: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """The first instant in (low, high] whose UTC offset differs from ``low``'s."""
    before = low.astimezone(zone).utcoffset()
    lo, hi = int(low.timestamp()), int(high.timestamp())
    while hi - lo > 1:  # tz database transitions fall on whole seconds
        mid = (lo + hi) // 2
        if dt.datetime.fromtimestamp(mid, UTC).astimezone(zone).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return dt.datetime.fromtimestamp(hi, UTC)


def _dates(schedule: Schedule, start: dt.date, *, step: int) -> Iterator[dt.date]:
    """Scheduled local dates from ``start`` (included) in the direction of ``step`` (±1)."""
    if schedule.every == "once":
        if schedule.date is None:
            raise ValueError("a `once` schedule needs a date")
        if (schedule.date - start).days * step >= 0:
            yield schedule.date
        return
    if schedule.every == "daily":
        day = start
        while True:
            yield day
            day += step * _ONE_DAY
    if schedule.every == "weekly":
        if schedule.weekday is None:
            raise ValueError("a weekly schedule needs a weekday")
        day = start + dt.timedelta(days=((schedule.weekday - start.weekday()) * step) % 7 * step)
        while True:
            yield day
            day += dt.timedelta(days=7 * step)
    if schedule.every == "monthly":
        if schedule.day is None:
            raise ValueError("a monthly schedule needs a day")
        year, month = start.year, start.month
        while True:
            day = _month_day(year, month, schedule.day)
            if (day - start).days * step >= 0:
                yield day
            month += step
            if month == 0:
                year, month = year - 1, 12
            elif month == 13:
                year, month = year + 1, 1
    raise ValueError(f"unknown schedule frequency {schedule.every!r}")


def _month_day(year: int, month: int, day: int | str) -> dt.date:
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, last if day == "last" else min(int(day), last))


def _aware(value: dt.datetime, name: str) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")
    return value


def describe(schedule: Schedule) -> str:
    """``daily at 06:00 Europe/Paris``, ``monthly on the last day at 09:00 Asia/Tokyo``, ..."""
    at = f"at {schedule.at.strftime('%H:%M')} {schedule.timezone}"
    if schedule.every == "once":
        return f"once on {schedule.date} {at}"
    if schedule.every == "weekly" and schedule.weekday is not None:
        return f"weekly on {WEEKDAYS[schedule.weekday].capitalize()} {at}"
    if schedule.every == "monthly":
        day = "the last day" if schedule.day == "last" else f"day {schedule.day}"
        return f"monthly on {day} {at}"
    return f"{schedule.every} {at}"
