"""Opening hours of the mediators (Europe/Paris): a weekly pattern and closed days.

RELAIS_OPENING_HOURS reads like "mon-fri 09:00-12:30,13:30-17:00; sat 09:00-12:00" and
RELAIS_CLOSED_DAYS like "2026-12-25,2027-01-01".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dialogues.messages import KeyedError

PARIS = ZoneInfo("Europe/Paris")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_HOURS = "mon-fri 09:00-12:30,13:30-17:00"


class HoursError(KeyedError, ValueError):
    """Hours that cannot be read: the reason's message in operator.yaml's `hours`."""


@dataclass(frozen=True)
class OpeningHours:
    week: tuple[tuple[tuple[time, time], ...], ...]  # per weekday, monday first
    closed: frozenset[date] = frozenset()

    @classmethod
    def parse(cls, spec: str = DEFAULT_HOURS, closed: str = "") -> OpeningHours:
        week: list[list[tuple[time, time]]] = [[] for _ in DAYS]
        for part in filter(None, (p.strip() for p in spec.split(";"))):
            found = re.fullmatch(r"([a-z]{3})(?:-([a-z]{3}))?\s+(.+)", part.lower())
            if not found or found.group(1) not in DAYS or (found.group(2) or "mon") not in DAYS:
                raise HoursError("hours.unreadable", part=part)
            first = DAYS.index(found.group(1))
            last = DAYS.index(found.group(2)) if found.group(2) else first
            for span in found.group(3).split(","):
                times = re.fullmatch(r"\s*(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})\s*", span)
                if not times:
                    raise HoursError("hours.unreadable_span", span=span.strip())
                h1, m1, h2, m2 = map(int, times.groups())
                # "24:00" ends with the day, so "00:00-24:00" is open every minute.
                end = time.max if (h2, m2) == (24, 0) else time(h2, m2)
                start = time(h1, m1)
                if end <= start:
                    raise HoursError("hours.backwards", span=span.strip())
                for day in range(first, last + 1):
                    week[day].append((start, end))
        days = set()
        for day in filter(None, (d.strip() for d in closed.split(","))):
            try:
                days.add(date.fromisoformat(day))
            except ValueError:
                raise HoursError("hours.closed_day", day=day) from None
        return cls(tuple(tuple(sorted(spans)) for spans in week), frozenset(days))

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(PARIS)
        if local.date() in self.closed:
            return False
        return any(start <= local.time() < end for start, end in self.week[local.weekday()])

    def next_opening(self, at: datetime) -> datetime | None:
        """The next time the mediators are there (now, if open), within two weeks."""
        local = at.astimezone(PARIS)
        if self.is_open(local):
            return local
        for offset in range(15):
            day = local.date() + timedelta(days=offset)
            if day in self.closed:
                continue
            for start, _end in self.week[day.weekday()]:
                opening = datetime.combine(day, start, PARIS)
                if opening > local:
                    return opening
        return None
