"""A texter's stop and start, kept with the person: while stopped, Relais sends them no
SMS and opens no callback request for them (the SMS channel reads the keywords; the
reply is stored with these changes)."""

from __future__ import annotations

from core.models import Person


def stop(person: Person, by_twilio: bool) -> bool:
    """The person asked for no more texts (`by_twilio`: Twilio blocked the number and
    answered its own word). Whether Relais confirms it: once, to its own stop words."""
    confirm = not (by_twilio or person.opted_out)
    person.opted_out = True
    return confirm


def start(person: Person) -> None:
    """Twilio lifted its block (START, which it answered): Relais may text the person again."""
    person.opted_out = False
