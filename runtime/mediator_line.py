"""What a mediator does on their phone line, applied and committed (the voice channel
parses the keys and renders the queue): their PIN, a request taken to call the person,
a request done, how the call to the person ended."""

from __future__ import annotations

from core.models import CallbackRequest, Mediator, now
from core.web import Services
from mediation import requests
from mediation.calls import dial_outcome
from mediation.roster import check_pin


def pin_entered(app: Services, mediator: Mediator, digits: str) -> bool:
    """Whether `digits` is the mediator's PIN; a wrong one counts, across calls."""
    right = check_pin(mediator, digits, now())
    app.session.commit()
    return right


def take(app: Services, callback: CallbackRequest, mediator: Mediator) -> None:
    """The mediator calls the person of the request now."""
    requests.take(callback, mediator.id)
    app.session.commit()


def done(app: Services, callback: CallbackRequest) -> None:
    requests.close(callback)
    app.session.commit()


def called(app: Services, callback: CallbackRequest, dial_status: str, leg_sid: str) -> bool:
    """How the mediator's call to the person ended (their <Dial>'s status, `leg_sid` its
    leg): whether the person was reached, on the request."""
    reached = dial_outcome(app.session, dial_status, leg_sid) == "completed"
    requests.called(callback, reached)
    app.session.commit()
    return reached
