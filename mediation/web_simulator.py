"""The web simulator, for mediators who write the content: a phone keypad and an SMS box
in the dashboard. It drives the very webhooks Twilio calls, signed as Twilio signs them,
through relais.simulator, inside this process (no network)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from flask import Flask, current_app

from relais.simulator import Call, Line, TwilioSimulator

CALLER = "+33600000001"  # the simulator's own caller, a mobile that can receive SMS
KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#")
_IN_PROCESS = "http://relais.in-process"


class _Response:
    def __init__(self, status_code: int, text: str):
        self.status_code, self.text = status_code, text

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise RuntimeError(f"Relais answered {self.status_code}")


class _InProcessHttp:
    """What TwilioSimulator needs of requests.Session, answered by the app itself."""

    def __init__(self, app: Flask):
        self.client = app.test_client()

    def post(self, url: str, data: dict, timeout: float, headers: dict) -> _Response:
        answer = self.client.post(url.removeprefix(_IN_PROCESS), data=data, headers=headers)
        return _Response(answer.status_code, answer.get_data(as_text=True))

    def close(self) -> None:
        pass


@dataclass
class Session:
    """One mediator's simulated call and SMS exchange."""

    call: Call | None = None
    texts: list[Line] = field(default_factory=list)


_sessions: dict[int, Session] = {}
_lock = threading.Lock()


def _simulator() -> TwilioSimulator:
    app = current_app._get_current_object()
    settings = app.config["RELAIS"]
    return TwilioSimulator(
        _IN_PROCESS, settings.auth_token, settings.public_url, http=_InProcessHttp(app)
    )


def session_of(mediator_id: int) -> Session:
    with _lock:
        return _sessions.setdefault(mediator_id, Session())


def start_call(mediator_id: int) -> Call:
    call = Call(_simulator(), CALLER, _simulator().service_number, interactive=True)
    session_of(mediator_id).call = call
    return call.run()


def press(mediator_id: int, key: str) -> Call | None:
    call = session_of(mediator_id).call
    if call is not None and not call.ended and key in KEYS:
        call.run([key])
    return call


def hang_up(mediator_id: int) -> None:
    call = session_of(mediator_id).call
    if call is not None and not call.ended:
        call.run(["hangup"])


def text(mediator_id: int, body: str) -> list[Line]:
    texts = session_of(mediator_id).texts
    texts.append(Line("caller", body))
    texts += [Line("relais", reply) for reply in _simulator().sms(CALLER, body)]
    return texts
