"""EventBridge schedule expressions: when a `rate(...)` or `cron(...)` rule fires next (UTC).

Supported, as EventBridge documents them: `rate(N minute|minutes|hour|hours|day|days)` and
`cron(minutes hours day-of-month month day-of-week year)` with numbers, `*`, `?`, lists `a,b`,
ranges `a-b`, steps `*/n` and `a/n`, month names JAN-DEC and day names SUN-SAT (1 = Sunday).
`L`, `W` and `#` are refused with a clear error rather than guessed at.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
_MONTHS = {name: number for number, name in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)}
_DAYS = {name: number for number, name in enumerate(
    ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), start=1)}
# How far ahead a cron rule is searched for its next match (a leap-year Feb 29 rule is found).
_SEARCH_DAYS = 366 * 8


@dataclass(frozen=True)
class RateSchedule:
    """Fires every `interval`; the first time one interval after the rule is created (as EventBridge)."""

    interval: timedelta

    def next_after(self, moment: datetime) -> datetime | None:
        return moment + self.interval


@dataclass(frozen=True)
class CronSchedule:
    """Fires at each minute that matches every field. `None` means any value (`*` or `?`)."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days_of_month: frozenset[int] | None
    months: frozenset[int] | None
    days_of_week: frozenset[int] | None  # 1 = Sunday ... 7 = Saturday, as in EventBridge
    years: frozenset[int] | None

    def next_after(self, moment: datetime) -> datetime | None:
        """The first matching minute strictly after `moment`; None if there is none in 8 years."""
        start = moment.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.date()
        for _ in range(_SEARCH_DAYS):
            if self._day_matches(day):
                for hour in self.hours:
                    for minute in self.minutes:
                        candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
                        if candidate >= start:
                            return candidate
            day += timedelta(days=1)
        return None

    def _day_matches(self, day: date) -> bool:
        weekday = day.isoweekday() % 7 + 1  # Monday (1) -> 2, Sunday (7) -> 1
        return (
            (self.years is None or day.year in self.years)
            and (self.months is None or day.month in self.months)
            and (self.days_of_month is None or day.day in self.days_of_month)
            and (self.days_of_week is None or weekday in self.days_of_week)
        )


Schedule = RateSchedule | CronSchedule


def parse_schedule(expression: str) -> Schedule:
    """Parse an EventBridge schedule expression; raises ValueError naming what is unsupported."""
    text = expression.strip()
    rate = _RATE.match(text)
    if rate:
        value = int(rate.group(1))
        if value < 1:
            raise ValueError(f"{expression!r}: a rate must be at least 1")
        return RateSchedule(value * _UNITS[rate.group(2).rstrip("s")])
    cron = _CRON.match(text)
    if not cron:
        raise ValueError(f"{expression!r} is neither rate(N unit) nor cron(...)")
    fields = cron.group(1).split()
    if len(fields) != 6:
        raise ValueError(f"{expression!r}: cron needs 6 fields (minutes hours day month weekday year)")
    minute, hour, day_of_month, month, day_of_week, year = fields
    if (day_of_month == "?") == (day_of_week == "?"):
        raise ValueError(f"{expression!r}: exactly one of day-of-month and day-of-week must be '?'")
    minutes = _field(expression, minute, 0, 59)
    hours = _field(expression, hour, 0, 23)
    return CronSchedule(
        minutes=tuple(sorted(minutes if minutes is not None else range(60))),
        hours=tuple(sorted(hours if hours is not None else range(24))),
        days_of_month=_field(expression, day_of_month, 1, 31),
        months=_field(expression, month, 1, 12, _MONTHS),
        days_of_week=_field(expression, day_of_week, 1, 7, _DAYS),
        years=_field(expression, year, 1970, 2199),
    )


def _field(
    expression: str, text: str, low: int, high: int, names: dict[str, int] | None = None
) -> frozenset[int] | None:
    if text in ("*", "?"):
        return None
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = _number(expression, step_text, 1, high, None) if step_text else 1
        if base in ("*", "?"):
            first, last = low, high
        elif "-" in base:
            first_text, _, last_text = base.partition("-")
            first = _number(expression, first_text, low, high, names)
            last = _number(expression, last_text, low, high, names)
        else:
            first = _number(expression, base, low, high, names)
            last = high if step_text else first
        if first > last:
            raise ValueError(f"{expression!r}: range {base!r} runs backwards")
        values.update(range(first, last + 1, step))
    return frozenset(values)


def _number(expression: str, text: str, low: int, high: int, names: dict[str, int] | None) -> int:
    upper = text.upper()
    if names and upper in names:
        return names[upper]
    if not text.isdigit():
        raise ValueError(f"{expression!r}: {text!r} is not supported here (L, W and # are not)")
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"{expression!r}: {value} is outside {low}-{high}")
    return value
