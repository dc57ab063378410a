"""A local stand-in for Twilio's REST API, checked against Twilio's own OpenAPI
description, for the tests and the benchmarks (never the product: it needs openapi-core,
which only the `test` extra installs). Twilio's webhooks are played by
core.twilio_simulator, which the product's sandbox uses too."""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import requests

from core.twilio_simulator import (
    ACCOUNT_SID,
    UNSUBSCRIBED,
    TwilioSimulator,
    new_sid,
    rfc2822_now,
)
from dialogues.sms_encoding import sms_size

from .twilio_spec import Checked, twilio_spec

# A call needs one of these to know what to do once answered; the OpenAPI description does
# not say so, Twilio does (error 21205).
INSTRUCTIONS = {"Url", "Twiml", "ApplicationSid"}


class RefusedRequests(AssertionError):
    """Relais made REST requests that Twilio would refuse."""


@dataclass
class Rejected:
    """A REST request the stand-in refused, and why."""

    method: str
    path: str
    body: str
    problems: list[str]


class TwilioApi:
    """A local stand-in for Twilio's REST API (set RELAIS_TWILIO_API_URL to `url`).

    It checks Twilio's authentication, then every request against Twilio's own OpenAPI
    description (testsupport.twilio_spec, which raises SpecMissing when it is not installed). A
    request the description refuses gets Twilio's 400 answer and is kept in `rejected`, as is
    a valid one this stand-in does not play; tests assert `rejected == []`. It plays:

    - Messages (POST …/Messages.json): kept in `messages`; `deliver` later sends its status
      callbacks in Twilio's order (none for "queued", its first status), `report` any one;
    - Calls (POST …/Calls.json): kept in `calls`, answered with a queued Call resource, then
      handed to `on_call` when set (who drives the call through Relais's webhooks);
    - a call (GET …/Calls/CA….json): its Call resource as the call went so far (this answer
      is checked against the description too); each sid asked for is kept in `fetched`;
    - Recordings (DELETE …/Recordings/RE….json): the simulator's recording goes (its URL
      answers 404 from then on), its sid is kept in `deleted_recordings`.

    A kept request is its form parameters, typed as the description says (an array such as
    StatusCallbackEvent is a list), with the new resource's "sid" (and a call's "status",
    "answered_by" and "duration" as it goes).

    `overtake`: a status Twilio reports before it has answered the request that created
    the message or call (its status callback overtakes the answer: Relais does not know the
    sid yet); a call that "overtakes" with an end (busy, failed...) is not handed on.

    `check_one_in`: under load (bench/stack.py), checking each request would cost this
    stand-in more CPU than the server it serves (openapi-core takes ~10 ms a message, and
    Twilio's API does not run on Relais's machine); then only the first and one request in
    `check_one_in` are checked, the others kept with their parameters as sent.
    """

    def __init__(
        self,
        sim: TwilioSimulator,
        account_sid: str,
        auth_token: str,
        on_call: Callable[[dict[str, Any]], None] | None = None,
        check_one_in: int = 1,
    ):
        self.sim = sim
        self.spec = twilio_spec()
        self.received = itertools.count()
        self.check_one_in = check_one_in
        self.messages: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []
        self.fetched: list[str] = []
        self.overtake: str | None = None
        self.rejected: list[Rejected] = []
        self.deleted_recordings: list[str] = []  # Recordings API: DELETE …/Recordings/RE….json
        self.on_call = on_call
        expected = "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        messages = f"/2010-04-01/Accounts/{account_sid}/Messages.json"
        calls = f"/2010-04-01/Accounts/{account_sid}/Calls.json"
        a_call = re.compile(rf"/2010-04-01/Accounts/{account_sid}/Calls/(CA[0-9a-f]{{32}})\.json")
        recording = re.compile(rf"/2010-04-01/Accounts/{account_sid}/Recordings/(RE\w+)\.json")
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keeps the connection, as Twilio's API does
            # Headers and body go out in two writes: with Nagle's algorithm the body
            # waited for the client's delayed ACK, 40 ms an answer on a kept connection.
            disable_nagle_algorithm = True

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _error(self, status: int, code: int, message: str) -> None:
                self._json(
                    status,
                    {
                        "code": code,
                        "message": message,
                        "more_info": f"https://www.twilio.com/docs/errors/{code}",
                        "status": status,
                    },
                )

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Authorization") != expected:
                    self._error(401, 20003, "Authenticate")
                    return
                if next(api.received) % api.check_one_in == 0:
                    checked = api.spec.check(self.command, self.path, body, dict(self.headers))
                else:
                    checked = Checked([], dict(parse_qsl(body.decode("utf-8", "replace"))))
                deleting = self.command == "DELETE" and recording.fullmatch(self.path)
                fetching = self.command == "GET" and a_call.fullmatch(self.path)
                played = (
                    (self.command == "POST" and self.path in (messages, calls))
                    or deleting
                    or fetching
                )
                problems, code = checked.problems, 400
                calling = played and self.path == calls
                if calling and not problems and not INSTRUCTIONS & checked.params.keys():
                    problems, code = ["Url parameter is required."], 21205
                if problems or not played:
                    problems = problems or ["not played by this stand-in"]
                    text = body.decode("utf-8", "replace")
                    api.rejected.append(Rejected(self.command, self.path, text, problems))
                    if played:
                        self._error(400, code, "; ".join(problems))
                    else:
                        self._error(404, 20404, "The requested resource was not found")
                elif self.path == messages and checked.params.get("To") in api.opted_out:
                    api.sim.undelivered.append(
                        (checked.params["To"], checked.params.get("Body", ""), UNSUBSCRIBED)
                    )
                    self._error(400, UNSUBSCRIBED, "Attempt to send to unsubscribed recipient")
                elif deleting:
                    if api._delete_recording(deleting.group(1)):
                        self.send_response(204)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                    else:
                        self._error(404, 20404, "The requested resource was not found")
                elif fetching:
                    self._fetched(fetching.group(1))
                elif self.path == messages:
                    message = api._message(checked.params)
                    if api.overtake:
                        api.report(message["sid"], api.overtake)
                    self._json(201, message)
                else:
                    call = api._call(checked.params)
                    ended = api.overtake not in (None, "queued", "ringing", "in-progress")
                    if ended:
                        api._overtake(call)
                    self._json(201, api._resource(call, created=True))
                    if api.on_call is not None and not ended:
                        api.on_call(call)

            def _fetched(self, sid: str) -> None:
                call = next((c for c in api.calls if c["sid"] == sid), None)
                api.fetched.append(sid)
                if call is None:
                    self._error(404, 20404, f"The requested resource {self.path} was not found")
                    return
                resource = api._resource(call)
                problems = api.spec.check_answer(
                    "GET", self.path, 200, json.dumps(resource).encode()
                )
                if problems:  # this stand-in answered as Twilio does not
                    api.rejected.append(Rejected("GET", self.path, "(its answer)", problems))
                self._json(200, resource)

            do_GET = do_POST = do_DELETE = _handle

            def log_message(self, *args) -> None:
                pass

        self.account_sid = account_sid
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        host, port = self.server.server_address[:2]
        self.url = f"http://{host}:{port}"
        # A short poll interval: close() waits for it, once per test.
        serve = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        serve.start()

    @property
    def opted_out(self) -> set[str]:
        """The numbers Twilio blocks (they texted STOP): the simulator's, if any."""
        return self.sim.opted_out if self.sim is not None else set()

    def _delete_recording(self, sid: str) -> bool:
        """Deletes a recording the simulator made: whether there was one."""
        recordings = self.sim.recordings.files if self.sim is not None else {}
        if recordings.pop(sid, None) is None:
            return False
        self.deleted_recordings.append(sid)
        return True

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        """Keeps a message; its Message resource as Twilio answers it."""
        sid = new_sid("SM")
        self.messages.append({"sid": sid, **params})
        body = params.get("Body", "")
        return {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": params["To"],
            "from": params.get("From"),
            "body": body,
            "status": "queued",
            "num_segments": str(sms_size(body).segments),
            "num_media": "0",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "date_created": rfc2822_now(),
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }

    def _call(self, params: dict[str, Any]) -> dict[str, Any]:
        """Keeps a call, queued."""
        call = {"sid": new_sid("CA"), **params, "status": "queued", "answered_by": None}
        call.update(duration=None, created_at=rfc2822_now(), ended_at=None)
        self.calls.append(call)
        return call

    def _resource(self, call: dict[str, Any], created: bool = False) -> dict[str, Any]:
        """A kept call's Call resource, as Twilio answers its creation or a fetch."""
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Calls/{call['sid']}"
        duration = None if created or call["duration"] is None else str(call["duration"])
        return {
            "sid": call["sid"],
            "account_sid": self.account_sid,
            "parent_call_sid": None,
            "to": call["To"],
            "to_formatted": call["To"],
            "from": call["From"],
            "from_formatted": call["From"],
            "status": "queued" if created else call["status"],
            "direction": "outbound-api",
            "answered_by": None if created else call["answered_by"],
            "api_version": "2010-04-01",
            "date_created": call["created_at"],
            "start_time": None,
            "end_time": None if created else call["ended_at"],
            "duration": duration,
            "price": None,
            "uri": uri + ".json",
            "subresource_uris": {
                name: f"{uri}/{name.capitalize()}.json"
                for name in ("notifications", "recordings", "events")
            },
        }

    def _overtake(self, call: dict[str, Any]) -> None:
        """The call ends (busy, failed...) before the request that created it is answered:
        its status callback comes first."""
        call.update(status=self.overtake, duration=0, ended_at=rfc2822_now())
        self.sim.post(
            call["StatusCallback"],
            {
                "AccountSid": ACCOUNT_SID,
                "ApiVersion": "2010-04-01",
                "CallSid": call["sid"],
                "CallStatus": self.overtake,
                "CallDuration": "0",
                "Direction": "outbound-api",
                "From": call["From"],
                "To": call["To"],
            },
        )

    def deliver(self, sid: str, statuses: Iterable[str] = ("sent", "delivered")) -> list[int]:
        """The message's status callbacks in Twilio's order (none for "queued", its status
        when it was created): the HTTP status of Relais's answer to each."""
        return [self.report(sid, status).status_code for status in statuses]

    def report(self, sid: str, status: str) -> requests.Response:
        """Send the message's status callback, as Twilio does when its status changes."""
        message = next(m for m in self.messages if m["sid"] == sid)
        return self.sim.post(
            message["StatusCallback"],
            {
                "AccountSid": ACCOUNT_SID,
                "MessageSid": sid,
                "SmsSid": sid,
                "MessageStatus": status,
                "SmsStatus": status,
                "To": message["To"],
                "From": message["From"],
                "ApiVersion": "2010-04-01",
            },
        )

    def close(self) -> None:
        """Stops the stand-in; fails if it refused a request, so that no test lets one pass
        unseen (a test that sends one on purpose takes it out of `rejected`)."""
        self.server.shutdown()
        self.server.server_close()
        if self.rejected:
            raise RefusedRequests(
                "the Twilio stand-in refused: "
                + "; ".join(f"{r.method} {r.path}: {', '.join(r.problems)}" for r in self.rejected)
            )
