"""The mediators' dashboard: login on every page and recording, CSRF, rate-limited logins,
the queue and a request page; and the same in a real browser (Debian's Chromium driven by
Playwright), with a screenshot of each page in test-artifacts/."""

from __future__ import annotations

import html
import re
import wave
from datetime import datetime
from pathlib import Path

import pytest
import requests
from sqlalchemy.orm import Session

from core.hours import PARIS
from dialogues.loader import load_content
from mediation.roster import add_mediator
from mediation.when import said_clock
from relais.app import create_app

from .conftest import DATABASES, FRENCH, Running, csrf_token, dashboard_login, make_content
from .test_mediation import open_directly

MOBILE = "+33612345678"
AMINA = "+33611223344"
PASSWORD = "un mot de passe"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def relais(tmp_path: Path):
    """Relais with one mediator, out of hours, and a caller who left a voice message."""
    running = Running(
        tmp_path / "data", RELAIS_OPENING_HOURS="mon-sun 00:00-00:01", RELAIS_RENDER_PROMPTS="0"
    )
    with Session(running.db) as session:
        add_mediator(session, "Amina", AMINA, PASSWORD, [], [])
        session.commit()
    message = tmp_path / "message.wav"
    with wave.open(str(message), "wb") as wav:
        wav.setnchannels(1), wav.setsampwidth(2), wav.setframerate(8000)
        wav.writeframes(b"\x00\x10" * 8000)
    running.sim.call(MOBILE, ["2", "1", "1", "0", f"say:{message}"])  # CAF, RSA, a person
    running.settled()  # the voice message is kept by a job
    yield running
    running.close()


def _login(relais: Running, password: str = PASSWORD) -> tuple[requests.Session, int]:
    return dashboard_login(relais, "06 11 22 33 44", password)


# Routes anyone may reach: the health check, the login page, and the voice prompts Twilio
# plays (rendered content, no personal data).
PUBLIC = {"healthz", "audio", "mediation.login", "static", "home"}  # home: to the login


def test_every_route_needs_a_login_or_a_twilio_signature(tmp_path: Path) -> None:
    """Walks the whole URL map, so a new route cannot be forgotten."""
    relais = Running(tmp_path / "data")
    try:
        app = create_app(relais.settings)
        anonymous = requests.Session()
        checked = {"login": 0, "twilio": 0}
        for rule in app.url_map.iter_rules():
            if rule.endpoint in PUBLIC:
                continue
            url = relais.server.url + re.sub(r"<(?:[^:>]+:)?([^>]+)>", "1", rule.rule)
            signed = getattr(app.view_functions[rule.endpoint], "twilio_signed", False)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                answer = anonymous.request(
                    method, url, allow_redirects=False, data={"CallSid": "CA1", "From": MOBILE}
                )
                if signed:
                    assert answer.status_code == 403, (rule.rule, method)
                    checked["twilio"] += 1
                    continue
                assert rule.rule.startswith("/mediation"), f"unprotected route {rule.rule}"
                assert answer.status_code in (302, 401, 400), (rule.rule, method)
                if answer.status_code == 302:
                    assert "/mediation/login" in answer.headers["Location"]
                checked["login"] += 1
        assert checked["login"] >= 10 and checked["twilio"] >= 15, checked
    finally:
        relais.close()


def test_the_queue_and_a_request_for_a_logged_in_mediator(relais: Running) -> None:
    browser, status = _login(relais)
    assert status == 302
    base = relais.server.url
    queue = browser.get(f"{base}/mediation/").text
    assert "+336••••••78" in queue and MOBILE not in queue  # masked in the list
    assert "Nouveau" in queue and "message vocal" in queue
    shown = html.unescape(queue)
    assert "à l'instant" in shown or "il y a 1 min" in shown  # its age (dashboard.yaml)
    link = re.search(r'href="(/mediation/requests/\d+)"', queue).group(1)
    page = browser.get(base + link).text
    assert f'href="tel:{MOBILE}"' in page  # the number, to call back
    assert "Sujet : la CAF, la caisse d&#39;allocations familiales." in page
    assert "puis le RSA, le revenu de solidarité active." in page
    assert 'Personne : <span class="said">2</span>' in page  # what the caller pressed
    recording = re.search(r'src="(/mediation/recordings/[^"]+)"', page).group(1)
    audio = browser.get(base + recording)
    assert audio.status_code == 200 and audio.content.startswith(b"RIFF")
    assert audio.headers["Cache-Control"] == "no-store"
    assert requests.get(base + recording).status_code == 401  # not without a login
    token = csrf_token(page)
    refused = browser.post(base + link, data={"status": "rappele"})  # no CSRF token
    assert refused.status_code == 400 and "Demande refusée" in refused.text
    calling = browser.post(base + link + "/call", data={"csrf_token": token})
    assert calling.status_code == 409 and "Appel impossible" in calling.text  # no Twilio here
    assert "Conflict" not in calling.text and "Bad Request" not in refused.text
    browser.post(
        base + link, data={"csrf_token": token, "status": "rappele", "note": "Rappelée, RDV mardi."}
    )
    (row,) = relais.rows(
        "SELECT r.status, r.notes, m.name FROM callback_requests r "
        "JOIN mediators m ON m.id = r.taken_by"
    )
    assert row.status == "rappele" and row.notes.endswith("Amina : Rappelée, RDV mardi.")


def test_failed_logins_are_rate_limited(relais: Running) -> None:
    codes = [_login(relais, "mauvais")[1] for _ in range(6)]
    assert codes[:5] == [401] * 5 and codes[5] == 429
    assert relais.sim.http.get(relais.server.url + "/healthz").status_code == 200


def test_logging_out_ends_every_copy_of_the_session(relais: Running) -> None:
    browser, status = _login(relais)
    assert status == 302
    stolen = requests.Session()  # the cookie, copied before the logout
    stolen.cookies.update(browser.cookies)
    base = relais.server.url
    assert stolen.get(f"{base}/mediation/", allow_redirects=False).status_code == 200
    page = browser.get(f"{base}/mediation/").text
    browser.post(f"{base}/mediation/logout", data={"csrf_token": csrf_token(page)})
    assert stolen.get(f"{base}/mediation/", allow_redirects=False).status_code == 302
    again, status = _login(relais)  # logging in again works
    assert again.get(f"{base}/mediation/", allow_redirects=False).status_code == 200


def test_dashboard_pages_carry_security_headers_and_no_third_party_script(
    relais: Running,
) -> None:
    browser, _ = _login(relais)
    for path in ("/mediation/login", "/mediation/", "/mediation/stats"):
        answer = browser.get(relais.server.url + path)
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
        assert "script-src 'none'" in answer.headers["Content-Security-Policy"]
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert not re.search(r"""src=["']https?://""", answer.text), path
        assert "kozea.github.io" not in answer.text


def test_password_guessing_locks_the_account_whatever_the_address(
    relais: Running, monkeypatch, caplog
) -> None:
    app = create_app(relais.settings)
    client = app.test_client()

    def attempt(password: str, address: str, phone: str = AMINA) -> int:
        page = client.get("/mediation/login").get_data(as_text=True)
        return client.post(
            "/mediation/login",
            data={"csrf_token": csrf_token(page), "phone": phone, "password": password},
            environ_base={"REMOTE_ADDR": address},
        ).status_code

    for n in range(5):  # five addresses, one wrong password each: no address is throttled
        assert attempt("pas le bon", f"203.0.113.{n}") == 401
    assert attempt(PASSWORD, "203.0.113.99") == 401  # the account is locked, even for it
    assert any("wrong passwords for mediator" in r.getMessage() for r in caplog.records)
    # An unknown number is refused after checking a password all the same (same time).
    checked = []
    monkeypatch.setattr("mediation.roster.check_secret", lambda h, s: checked.append(s))
    assert attempt("un essai", "203.0.113.50", phone="+33699999999") == 401
    assert checked == ["un essai"]


def test_the_session_cookie_is_secure_behind_https(tmp_path: Path) -> None:
    relais = Running(tmp_path / "data", RELAIS_PUBLIC_URL="https://relais.example.org")
    try:
        with Session(relais.db) as session:
            add_mediator(session, "Amina", AMINA, PASSWORD, [], [])
            session.commit()
        app = create_app(relais.settings)
        client = app.test_client()
        page = client.get("/mediation/login").get_data(as_text=True)
        answer = client.post(
            "/mediation/login",
            data={"csrf_token": csrf_token(page), "phone": AMINA, "password": PASSWORD},
        )
        assert answer.status_code == 302
        assert "Secure" in answer.headers["Set-Cookie"]
    finally:
        relais.close()


def test_in_a_real_browser(relais: Running) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    base = relais.server.url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone screen
        page.goto(f"{base}/mediation/")
        assert "/mediation/login" in page.url
        page.get_by_label("Votre numéro de téléphone").fill("0611223344")
        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.screenshot(path=str(ARTIFACTS / "dashboard-login.png"), full_page=True)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url(f"{base}/mediation/")
        page.screenshot(path=str(ARTIFACTS / "dashboard-queue.png"), full_page=True)
        page.get_by_role("link", name=re.compile(r"\+336.*78")).first.click()
        page.wait_for_url(re.compile(r".*/mediation/requests/\d+"))
        audio = page.get_by_label("Écouter le message vocal")
        source = audio.get_attribute("src")
        duration = page.evaluate(
            """src => new Promise(done => { const a = new Audio(src);
                 a.onloadedmetadata = () => done(a.duration); a.onerror = () => done(-1); })""",
            source,
        )
        assert duration > 0.5  # the browser can play the voice message
        page.screenshot(path=str(ARTIFACTS / "dashboard-request.png"), full_page=True)
        page.get_by_label("Statut").select_option("rappele")
        page.get_by_label("Ajouter une note").fill("Rappelée.")
        page.get_by_role("button", name="Enregistrer").click()
        page.get_by_text("Enregistré.").wait_for()
        assert page.get_by_label("Statut").input_value() == "rappele"
        page.screenshot(path=str(ARTIFACTS / "dashboard-request-saved.png"), full_page=True)
        page.get_by_role("link", name="Chiffres").click()
        page.get_by_role("img", name=re.compile("Schéma du menu")).wait_for()
        page.screenshot(path=str(ARTIFACTS / "dashboard-stats.png"), full_page=True)
        # The web simulator: a call with the keypad reaches a procedure, and an SMS too.
        page.get_by_role("link", name="Simulateur").click()
        page.get_by_role("button", name="Appeler Relais").click()
        # aides et argent, impôts, "yes, I can open a link": the sandbox's number is
        # reserved for fiction (no phone has it), so Relais asks for a mobile.
        for key in ("2", "2", "1"):
            page.get_by_role("button", name=f"Touche {key}").click()
        page.get_by_text("Tapez un numéro de portable").wait_for()
        page.get_by_label("Votre SMS").fill("karte vital")
        page.get_by_role("button", name="Envoyer").click()
        page.get_by_text("https://assure.ameli.fr", exact=False).first.wait_for()
        # What Relais understood, for the content editors: 3 subjects, scores and words.
        understood = page.locator("ol.understood li")
        assert understood.count() == 3
        assert "la carte Vitale" in understood.first.inner_text()
        assert "Les mots qui comptent" in understood.first.inner_text()
        page.screenshot(path=str(ARTIFACTS / "dashboard-simulator.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})  # and on a desk
        page.screenshot(path=str(ARTIFACTS / "dashboard-simulator-1280.png"), full_page=True)
        browser.close()
    assert relais.rows("SELECT status FROM callback_requests")[0][0] == "rappele"
    sent = relais.rows(
        'SELECT procedure, "to" FROM outbound_messages WHERE procedure IS NOT NULL ORDER BY id'
    )
    sandbox = "+33639980001"  # Amina's number in ARCEP's block for fiction
    assert [tuple(r) for r in sent] == [("carte_vitale", sandbox)]


def test_figures_and_the_dialogue_diagram(relais: Running) -> None:
    relais.sim.call("+33698765432", ["1", "hangup"])  # hangs up in "travail"
    browser, _ = _login(relais)
    page = browser.get(f"{relais.server.url}/mediation/stats").text
    assert page.count("<svg") == 3
    assert "Appels et SMS par jour" in page and "Où les appelants raccrochent" in page
    assert "le travail, la formation ou la retraite" in page  # the node, by its label
    # Legends whole (they were cut: "vers un médiat…"), counts on whole numbers (a count
    # of 1 was drawn on an axis of tenths).
    assert "passé à un médiateur" in page and "…" not in page
    marks = re.findall(r"<text[^>]*>(\d+(?:\.\d+)?)</text>", page)
    assert marks and all("." not in mark for mark in marks), marks
    svg = browser.get(f"{relais.server.url}/mediation/diagram.svg")
    assert svg.headers["Content-Type"].startswith("image/svg+xml")
    text = html.unescape(svg.text)
    assert "1 a raccroché" in text and "l'accueil" in text  # not "1 raccrochent"
    assert "0 réponse<" in text and "1 réponse<" in text and "réponses<" in text
    # Every step by what the content calls it or says, never by its id.
    assert "Voulez-vous autre" in text and "passage à un médiateur" in text
    assert not re.search(r">[a-z0-9]+_[a-z0-9_]+<", text)
    assert "autre_chose<" not in text and "ame_aide<" not in text
    assert "+336" not in page + svg.text  # no phone number in the figures


def _chromium(playwright):
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
    )


def _log_in(page, base: str) -> None:
    page.goto(f"{base}/mediation/login")
    page.get_by_label("Votre numéro de téléphone").fill("0611223344")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{base}/mediation/")


SHOTS = Path("/tmp/shots")


def test_the_figures_read_on_a_phone_and_on_a_desk(relais: Running) -> None:
    """At 390 and 1280 px: no sideways scroll of the page, legends and counts in letters a
    person can read (12 px or more), the diagram at its own size in a box that scrolls."""
    from playwright.sync_api import sync_playwright

    relais.sim.call("+33698765432", ["1", "hangup"])
    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = _chromium(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        _log_in(page, relais.server.url)
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 844})
            page.goto(f"{relais.server.url}/mediation/stats")
            page.get_by_role("img", name=re.compile("Schéma du menu")).wait_for()
            page.screenshot(path=str(SHOTS / f"stats-{width}.png"), full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            for chart in ("par_jour", "issues", "raccrochent"):
                words = page.locator(f"#{chart} svg .legend text, #{chart} svg .axis text")
                for text in words.all():
                    if text.text_content().strip():
                        height = text.bounding_box()["height"]
                        assert height >= 12, (width, chart, text.text_content(), height)
            legend = page.locator("#issues svg .legend text").first
            assert legend.bounding_box()["width"] > 100  # "passé à un médiateur", whole
            diagram = page.get_by_role("img", name=re.compile("Schéma du menu"))
            shown, natural = diagram.evaluate("i => [i.clientWidth, i.naturalWidth]")
            assert shown == natural > 0  # never shrunk to the screen: the box scrolls
        browser.close()


@pytest.mark.parametrize("db_kind", DATABASES)
def test_the_summary_and_the_dashboard_say_paris_time(tmp_path: Path, db_kind: str) -> None:
    """Times are stored in UTC (SQLite gives them back without a time zone): the mediators
    read them in Paris time."""
    relais = Running(tmp_path / "data", db_kind, RELAIS_RENDER_PROMPTS="0")
    try:
        with Session(relais.db) as session:
            add_mediator(session, "Amina", AMINA, PASSWORD, [], [])
            session.commit()
        before = datetime.now(PARIS)
        relais.sim.sms(MOBILE, "je veux parler a quelqu'un")
        after = datetime.now(PARIS)
        # The hour and minute come from the clock, not from the code under test.
        said = {said_clock(load_content(FRENCH), t) for t in (before, after)}
        (summary,) = relais.rows("SELECT summary FROM callback_requests")[0]
        assert any(f"SMS du numéro qui finit par 78, {when}." in summary for when in said)
        browser, _ = _login(relais)
        queue = browser.get(f"{relais.server.url}/mediation/").text
        assert any(when in queue for when in said)
        link = re.search(r'href="(/mediation/requests/\d+)"', queue).group(1)
        page = browser.get(relais.server.url + link).text
        assert any(re.search(rf"reçue <time datetime=[^>]+>{when}</time>", page) for when in said)
        offset = before.strftime("%z")  # +0100 in winter, +0200 in summer
        assert f'datetime="{before:%Y-%m-%d}T' in page and f"{offset[:3]}:{offset[3:]}" in page
    finally:
        relais.close()


def test_an_urgent_request_is_first_with_its_badge_in_a_real_browser(relais: Running) -> None:
    """An ordinary request, then an urgent one: the urgent one is first, marked "Urgent",
    at a desk's width and a phone's. Screenshots in /tmp."""
    from playwright.sync_api import sync_playwright

    open_directly(relais, "+33698765432", urgent=False)
    urgent = open_directly(relais, "+33655443322", urgent=True)
    assert (
        relais.rows('SELECT count(*) FROM outbound_messages WHERE "to" = :to', to=AMINA)[0][0] == 0
    )  # out of hours: nobody is texted
    base = relais.server.url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/mediation/login")
        page.get_by_label("Votre numéro de téléphone").fill("0611223344")
        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url(f"{base}/mediation/")
        requests_ = page.locator("article.request")
        assert requests_.count() == 3  # the voice message of the fixture, and these two
        first = requests_.first
        assert first.locator(".badge.urgent").inner_text() == "Urgent"
        assert "en danger" in first.get_by_role("link").inner_text()
        assert first.get_by_role("link").get_attribute("href").endswith(f"/requests/{urgent}")
        assert requests_.locator(".badge.urgent").count() == 1  # the others have none
        badge = first.locator(".badge.urgent")
        assert badge.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(185, 28, 28)"
        page.screenshot(path="/tmp/relais-queue-urgent-1280.png", full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path="/tmp/relais-queue-urgent-390.png", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
        first.get_by_role("link").click()
        page.wait_for_url(f"{base}/mediation/requests/{urgent}")
        assert page.get_by_role("heading", level=1).inner_text().startswith("Urgent")
        page.get_by_role("alert").wait_for()
        page.screenshot(path="/tmp/relais-request-urgent-390.png", full_page=True)
        browser.close()


def test_too_many_logins_get_a_french_page_in_the_dashboard_style(relais: Running) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = _chromium(playwright)
        page = browser.new_page(viewport={"width": 390, "height": 844})
        for _ in range(6):
            page.goto(f"{relais.server.url}/mediation/login")
            page.get_by_label("Votre numéro de téléphone").fill("0611223344")
            page.get_by_label("Mot de passe").fill("mauvais")
            with page.expect_response(lambda r: r.request.method == "POST") as answer:
                page.get_by_role("button", name="Se connecter").click()
        assert answer.value.status == 429 and answer.value.headers["retry-after"] == "60"
        page.get_by_role("heading", name="Trop d'essais").wait_for()
        assert "Attendez 1 minute" in page.get_by_role("alert").inner_text()
        assert "Too Many Requests" not in page.content()
        header = page.locator("header")  # the dashboard's own page, in its colours
        assert header.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(11, 92, 173)"
        page.screenshot(path=str(SHOTS / "too-many-390.png"), full_page=True)
        browser.close()


def test_an_sms_keeps_its_line_breaks_in_the_call_path(relais: Running) -> None:
    from playwright.sync_api import sync_playwright

    relais.sim.sms("+33698765432", "je veux parler a quelqu'un\nsvp\nmerci")
    (request_id,) = relais.rows(
        "SELECT r.id FROM callback_requests r JOIN people p ON p.id = r.person_id "
        "WHERE p.phone = '+33698765432'"
    )[0]
    with sync_playwright() as playwright:
        browser = _chromium(playwright)
        page = browser.new_page(viewport={"width": 390, "height": 844})
        _log_in(page, relais.server.url)
        page.goto(f"{relais.server.url}/mediation/requests/{request_id}")
        said = page.locator("ol.turns strong").filter(has_text="svp")
        assert said.inner_text() == "Personne : je veux parler a quelqu'un\nsvp\nmerci"
        page.screenshot(path=str(SHOTS / "request-sms-390.png"), full_page=True)
        browser.close()


@pytest.mark.parametrize("db_kind", DATABASES)
def test_the_simulator_is_a_sandbox_shared_by_every_process(tmp_path: Path, db_kind: str) -> None:
    """With the twilio transport and a mediator on duty, a simulated call and SMS (a link,
    a person asked for, a danger) send nothing to Twilio, ring nobody, open nothing in the
    queue and count in no figure; a second app on the same database shows the same call."""
    from core.twilio_simulator import ACCOUNT_SID
    from testsupport.twilio_api import TwilioApi

    api = TwilioApi(None, ACCOUNT_SID, "test-auth-token")
    relais = Running(
        tmp_path / "data",
        db_kind,
        RELAIS_SMS_TRANSPORT="twilio",
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        RELAIS_FROM_NUMBER="+33700000000",
        RELAIS_TWILIO_API_URL=api.url,
        RELAIS_OPENING_HOURS="mon-sun 00:00-23:59",
    )
    api.sim = relais.sim
    try:
        with Session(relais.db) as session:
            add_mediator(session, "Amina", AMINA, PASSWORD, [], [])
            session.commit()
        first, second = create_app(relais.settings), create_app(relais.settings)
        one, two = first.test_client(), second.test_client()
        for client in (one, two):
            page = client.get("/mediation/login").get_data(as_text=True)
            client.post(
                "/mediation/login",
                data={"csrf_token": csrf_token(page), "phone": AMINA, "password": PASSWORD},
            )
        token = csrf_token(one.get("/mediation/simulator").get_data(as_text=True))
        one.post("/mediation/simulator/call", data={"csrf_token": token, "action": "start"})
        other = csrf_token(two.get("/mediation/simulator").get_data(as_text=True))
        for key in ("2", "2", "0"):  # a person, asked for by phone: the mediators are rung
            two.post("/mediation/simulator/call", data={"csrf_token": other, "action": key})
        for body in ("carte vitale", "je veux parler a quelqu'un", "je vais me tuer"):
            one.post("/mediation/simulator/sms", data={"csrf_token": token, "body": body})
        relais.settled()
        shown = [
            re.sub(r'name="csrf_token" value="[^"]+"', "", c.get("/mediation/simulator").text)
            for c in (one, two)
        ]
        assert shown[0] == shown[1]  # every process, the same conversation
        assert "Vous</strong> : tape 0" in shown[0] and "compris : la carte Vitale" in shown[0]
        assert "Le médiateur (simulé)" in shown[0] and AMINA not in shown[0]
        assert "twilio :" not in shown[0].lower() and "[son]" not in shown[0]
        assert api.messages == [] and api.calls == []  # nothing reached Twilio
        assert relais.rows("SELECT count(*) FROM jobs WHERE kind = 'sms'")[0][0] == 0
        queue = one.get("/mediation/?tout=1").get_data(as_text=True)
        assert "Personne n'attend" in html.unescape(queue)
        (request_id,) = relais.rows("SELECT id FROM callback_requests")[0]
        assert one.get(f"/mediation/requests/{request_id}").status_code == 404
        figures = one.get("/mediation/stats").get_data(as_text=True)
        assert figures.count("Aucune donnée") == 2  # how they ended, where they hung up
        diagram = html.unescape(one.get("/mediation/diagram.svg").get_data(as_text=True))
        assert "5 réponses" not in diagram and "1 réponse<" not in diagram
    finally:
        relais.close()
        api.close()


# Words of content/fr/dashboard.yaml, and others in their place.
OTHER_WORDS = [
    ("  title: Connexion", "  title: Entrée des médiateurs"),
    ("  title: Personnes à rappeler", "  title: Les gens qui attendent"),
    ("    title: Page introuvable", "    title: Rien à cette adresse"),
    ("  caller: Vous", "  caller: La personne"),
    ('  pressed: "tape {keys}"', '  pressed: "appuie sur {keys}"'),
]


def test_the_dashboard_says_the_words_of_its_content(tmp_path: Path) -> None:
    """The pages, the error pages and the simulator's transcript say the words of the
    content's dashboard.yaml, none written in the templates or the code."""
    folder = make_content(tmp_path / "content")
    words = (FRENCH / "dashboard.yaml").read_text(encoding="utf-8")
    for old, new in OTHER_WORDS:
        assert old in words, old
        words = words.replace(old, new, 1)
    (folder / "dashboard.yaml").write_text(words, encoding="utf-8")
    relais = Running(tmp_path / "data", RELAIS_CONTENT_DIR=str(folder.parent))
    try:
        with Session(relais.db) as session:
            add_mediator(session, "Amina", AMINA, PASSWORD, [], [])
            session.commit()
        client = create_app(relais.settings).test_client()
        login = html.unescape(client.get("/mediation/login").text)
        assert "Entrée des médiateurs" in login and "Connexion" not in login
        client.post(
            "/mediation/login",
            data={"csrf_token": csrf_token(login), "phone": AMINA, "password": PASSWORD},
        )
        queue = html.unescape(client.get("/mediation/").text)
        assert "Les gens qui attendent" in queue and "Personnes à rappeler" not in queue
        missing = client.get("/mediation/requests/404")
        assert missing.status_code == 404 and "Rien à cette adresse" in html.unescape(missing.text)
        assert "Not Found" not in missing.text and "Page introuvable" not in missing.text
        mistyped = client.get("/mediation/rien-ici")  # no such page
        assert mistyped.status_code == 404 and "Rien à cette" in mistyped.text
        token = csrf_token(client.get("/mediation/simulator").text)
        for action in ("start", "1"):
            client.post("/mediation/simulator/call", data={"csrf_token": token, "action": action})
        shown = html.unescape(client.get("/mediation/simulator").text)
        assert "La personne</strong> : appuie sur 1" in shown and "tape 1" not in shown
    finally:
        relais.close()
