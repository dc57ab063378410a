"""A call's hand-off after its turn, as its webhooks report it (the voice channel parses
them and renders its reply): a mediator takes the call with their key, the ring to one
mediator ends (taken: the request is closed; otherwise the next one, or a message), the
caller leaves a voice message. Each applied and committed here."""

from __future__ import annotations

import logging

from core.models import CallbackRequest, Mediator
from core.web import Services
from mediation import requests
from mediation.handoff import has_mediators, take_a_message
from mediation.voicemail import keep_voicemail
from mediation.words import load_words

from .effects import Handover

log = logging.getLogger(__name__)


def _accepted_key(leg_sid: str) -> str:
    """The reply remembered for a mediator's leg that took the call (its CallSid, which the
    <Dial>'s action gets as DialCallSid)."""
    return f"voice:{leg_sid}:accepted"


def taken_live(
    app: Services, callback: CallbackRequest, mediator: Mediator, leg_sid: str, reply: str
) -> None:
    """The mediator pressed the key on their leg: the request is theirs, recorded at once
    (with the `reply` to that key), once however often the key's webhook comes."""
    if app.store.reply(_accepted_key(leg_sid)) is not None:
        return
    taken = load_words(app.settings.content_dir)("notes", "taken_live")
    requests.take(callback, mediator.id, taken)
    app.store.remember_reply(_accepted_key(leg_sid), reply, callback.person_id)
    app.session.commit()
    log.info("request %s taken live by mediator %s", callback.id, mediator.id)


def dial_ended(
    app: Services, callback: CallbackRequest, leg_sid: str, next_ids: list[int]
) -> Handover | None:
    """The ring to one mediator ended. Taken (their key came on the leg `leg_sid`): the call
    has ended and the request is closed (None). Otherwise the mediators of `next_ids` still
    on the roster are rung in turn; after the last, the caller is told when they will be
    called back (an SMS too) and may leave a message."""
    if leg_sid and app.store.reply(_accepted_key(leg_sid)) is not None:
        requests.close(callback)
        app.session.commit()
        return None
    found = [app.session.get(Mediator, number) for number in next_ids]
    waiting = tuple(mediator for mediator in found if mediator is not None and mediator.active)
    urgent = requests.is_urgent(callback)
    if waiting:
        handover = Handover(callback.id, urgent, True, waiting, "")
    else:
        engine = app.speaking(callback.person.language).engine
        promise = take_a_message(app.session, app.settings, engine, callback, True)
        handover = Handover(callback.id, urgent, has_mediators(app.session), (), promise)
    app.session.commit()
    return handover


def voicemail_left(app: Services, callback: CallbackRequest, url: str) -> None:
    """The caller's voice message at Twilio's `url`, kept for a job to fetch (the webhook
    sent again changes nothing)."""
    if url and callback.voicemail_ref is None:
        keep_voicemail(app.session, callback, url)
        app.session.commit()
