"""Days and times as a person or a mediator hears them, in the content's words
(language.yaml: `weekdays`, `months`, `day`, `clock`, `hour`, `callback_...`), Paris time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from core.hours import PARIS, OpeningHours
from dialogues.model import Content


def paris_time(at: datetime) -> datetime:
    """A stored time in Paris time. Relais stores UTC (core.models.now); SQLite gives it
    back without its time zone, PostgreSQL with it."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(PARIS)


def said_day(content: Content, day: date) -> str:
    """ "lundi 5 janvier", "jeudi 1er octobre"."""
    weekday = content.phrase("weekdays").split()[day.weekday()]
    month = content.phrase("months").split()[day.month - 1]
    if day.day == 1:
        return content.phrase("day_first", weekday=weekday, month=month)
    return content.phrase("day", weekday=weekday, day=str(day.day), month=month)


def said_clock(content: Content, at: datetime) -> str:
    """ "lundi 5 janvier à 10 h 42", for a stored time."""
    local = paris_time(at)
    day = said_day(content, local.date())
    return content.phrase("clock", day=day, hour=str(local.hour), minutes=f"{local.minute:02d}")


def callback_when(content: Content, hours: OpeningHours, at: datetime) -> str:
    """When a person will be called back: "aujourd'hui", "demain à partir de 9 heures",
    "lundi 5 janvier à partir de 9 heures 30"."""
    opening = hours.next_opening(at)
    local = at.astimezone(PARIS)
    if opening is None:
        return content.phrase("callback_asap")
    if opening == local:
        return content.phrase("callback_now")
    hour = (
        content.phrase("hour_minutes", hour=str(opening.hour), minutes=str(opening.minute))
        if opening.minute
        else content.phrase("hour", hour=str(opening.hour))
    )
    if opening.date() == local.date():
        return content.phrase("callback_today", hour=hour)
    if opening.date() == local.date() + timedelta(days=1):
        return content.phrase("callback_tomorrow", hour=hour)
    return content.phrase("callback_day", day=said_day(content, opening.date()), hour=hour)
