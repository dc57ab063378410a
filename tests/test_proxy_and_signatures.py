"""Relais behind a reverse proxy that keeps a path prefix, and Twilio's webhooks signed
with a SharedKey and HMAC-SHA256: against the real server, with signatures computed the
way Twilio documents them (the URL, then each form parameter's name and value in the
order of the names, under HMAC, in base64)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import pytest
import requests
from sqlalchemy.orm import Session

from core.twilio_simulator import TwilioSimulator
from mediation.roster import add_mediator

from .conftest import Running, csrf_token

MOBILE = "+33612345678"
KEY_ID = "webhooks_sharedkey_01JTESTKEY0000000000000000"
KEY_SECRET = "s3cret-shared-key/with+base64=="
SIGNING = f"key={KEY_ID},algorithm=HMAC_SHA256"


def twilio_signature(secret: str, url: str, params: dict[str, str], digest=hashlib.sha1) -> str:
    signed = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(secret.encode(), signed.encode(), digest).digest()).decode()


class SharedKeySigner:
    """Signs as a Webhook Setting with a SharedKey and HMAC_SHA256 does."""

    def compute_signature(self, url: str, params: dict[str, str]) -> str:
        return twilio_signature(KEY_SECRET, url, params, hashlib.sha256)


@pytest.fixture
def prefixed(tmp_path: Path):
    running = Running(tmp_path / "data", RELAIS_PUBLIC_URL="https://relais.example.org/relais")
    yield running
    running.close()


def test_a_proxy_that_keeps_the_path_prefix_reaches_relais(prefixed: Running) -> None:
    # nginx's `location /relais/ { proxy_pass http://127.0.0.1:8000; }` passes /relais/voice.
    keeping = TwilioSimulator(
        prefixed.server.url + "/relais", "test-auth-token", prefixed.settings.public_url
    )
    try:
        call = keeping.call(MOBILE, ["1", "hangup"])
        assert call.status == "completed" and call.webhooks >= 2
        assert keeping.sms(MOBILE, "caf")
        # Its TwiML sends Twilio to the public URL, prefix included.
        first = keeping.post(
            prefixed.settings.public_url + "/voice", call.params(CallSid="CA" + "7" * 32)
        )
        assert 'action="https://relais.example.org/relais/voice/' in first.text
        unsigned = requests.post(prefixed.server.url + "/relais/sms", data={"Body": "caf"})
        assert unsigned.status_code == 403
    finally:
        keeping.close()
    # A proxy that strips the prefix reaches the same routes (the fixture's simulator).
    assert prefixed.sim.sms(MOBILE, "caf")
    # A browser at the public address lands on the dashboard, under the prefix.
    home = requests.get(prefixed.server.url + "/relais/", allow_redirects=False)
    assert home.status_code == 302 and home.headers["Location"].endswith("/relais/mediation/")


def test_a_mediator_logs_in_under_the_prefix_and_stays_under_it(tmp_path: Path) -> None:
    """The page asked for before the login comes after it, prefix included (plain HTTP
    here: under https the session cookie is Secure and this client would not send it)."""
    prefixed = Running(tmp_path / "data", RELAIS_PUBLIC_URL="http://relais.example.org/relais")
    try:
        with Session(prefixed.db) as session:
            add_mediator(session, "Amina", "+33611223344", "un mot de passe solide", [], [])
            session.commit()
        browser = requests.Session()
        login = browser.get(prefixed.server.url + "/relais/mediation/stats")
        assert login.url.endswith("/relais/mediation/login?next=/mediation/stats")
        form = {"phone": "0611223344", "password": "un mot de passe solide"}
        answer = browser.post(
            login.url, data={"csrf_token": csrf_token(login.text), **form}, allow_redirects=False
        )
        assert answer.status_code == 302
        assert answer.headers["Location"].endswith("/relais/mediation/stats")
    finally:
        prefixed.close()


def test_the_root_address_leads_to_the_dashboard(relais: Running) -> None:
    home = requests.get(relais.server.url + "/", allow_redirects=False)
    assert home.status_code == 302 and home.headers["Location"].endswith("/mediation/")
    assert requests.get(relais.server.url + "/").url.endswith("/mediation/login?next=/mediation/")


@pytest.fixture
def shared_key(tmp_path: Path):
    running = Running(tmp_path / "data", TWILIO_WEBHOOK_SHARED_KEYS=f"{KEY_ID}={KEY_SECRET}")
    yield running
    running.close()


def test_webhooks_signed_with_a_shared_key_and_sha256_are_accepted(shared_key: Running) -> None:
    sim = shared_key.sim
    sim.validator = SharedKeySigner()
    sim.http.headers["X-Twilio-Webhooks-Signature-Settings"] = SIGNING
    call = sim.call(MOBILE, ["1", "hangup"])
    assert call.status == "completed" and call.webhooks >= 2
    assert sim.sms(MOBILE, "caf")
    assert shared_key.count("turns") >= 2


def test_a_tampered_or_unknown_sha256_signature_is_refused(shared_key: Running) -> None:
    url = shared_key.settings.public_url + "/sms"
    params = shared_key.sim.sms_params(MOBILE, "caf")
    good = twilio_signature(KEY_SECRET, url, params, hashlib.sha256)

    def post(signature: str, signing: str | None, **changes: str) -> int:
        headers = {"X-Twilio-Signature": signature}
        if signing is not None:
            headers["X-Twilio-Webhooks-Signature-Settings"] = signing
        answer = requests.post(
            shared_key.server.url + "/sms", data={**params, **changes}, headers=headers
        )
        return answer.status_code

    assert post(good, SIGNING, Body="STOP") == 403  # the body changed on the way
    assert post(good, None) == 403  # without the header, the auth token and SHA-1 apply
    assert post(good, "key=webhooks_sharedkey_other,algorithm=HMAC_SHA256") == 403
    assert post(good, f"key={KEY_ID},algorithm=HMAC_SHA512") == 403  # unknown algorithm
    token_signed = twilio_signature("test-auth-token", url, params, hashlib.sha256)
    assert post(token_signed, "key=,algorithm=HMAC_SHA256") == 403
    assert post("", SIGNING) == 403
    assert shared_key.count("turns") == 0 and shared_key.count("people") == 0
    # The same request, untouched, is taken; so is Twilio's usual SHA-1 with the auth token.
    assert post(good, SIGNING) == 200
    params = shared_key.sim.sms_params(MOBILE, "caf")
    assert post(twilio_signature("test-auth-token", url, params), None) == 200
