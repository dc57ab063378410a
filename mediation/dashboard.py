"""The mediators' dashboard (/mediation), server-rendered in the words of dashboard.yaml
(mediation.words): login, the callback queue, one request with its conversation,
recordings and messages, status and notes; the figures, the simulator, the error pages.

Every page and every recording needs a login; every form carries a CSRF token; failed
logins are rate-limited; phone numbers are masked except on the page of a request, where a
mediator calls the person back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from flask import (
    Blueprint,
    Flask,
    Request,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFProtect
from markupsafe import Markup, escape
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from core.models import CallbackRequest, Mediator, OutboundMessage, Turn, now
from core.phones import e164, mask
from core.web import services

from . import web_simulator
from .requests import OPEN, Status, add_note, callback_queue, is_urgent, set_status, take
from .roster import check_login
from .stats import charts, diagram
from .summary import label, render_summary_audio
from .when import paris_time, said_clock
from .words import ERRORS, Words, load_words

blueprint = Blueprint("mediation", __name__, url_prefix="/mediation", template_folder="templates")
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(get_remote_address, default_limits=[])


class MediatorLogin:
    """What Flask-Login needs of a mediator."""

    def __init__(self, mediator: Mediator):
        self.id, self.name = mediator.id, mediator.name
        self.is_authenticated, self.is_active, self.is_anonymous = True, mediator.active, False

    def get_id(self) -> str:
        return str(self.id)


@login_manager.user_loader
def load_mediator(mediator_id: str) -> MediatorLogin | None:
    try:
        mediator = services().session.get(Mediator, int(mediator_id))
    except ValueError:
        return None
    if mediator is None or not mediator.active:
        return None
    # A session opened before the mediator last logged out is over, even if its cookie
    # was copied (the cookie alone would otherwise work until it expires).
    logged_out = mediator.logged_out_at
    if logged_out is not None:
        logged_out = logged_out if logged_out.tzinfo else logged_out.replace(tzinfo=UTC)
        if session.get("login_at", 0.0) <= logged_out.timestamp():
            return None
    return MediatorLogin(mediator)


# What the dashboard's pages may load: only themselves (no third-party script), and never
# be framed by another site.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'none'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; media-src 'self'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@blueprint.after_request
def secured(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


@blueprint.errorhandler(HTTPException)
def error_page(error: HTTPException) -> tuple[str, int, dict[str, str]]:
    """An error as a page of the dashboard, in its words, with its status; after too many
    logins from one address, when to try again in its Retry-After header."""
    page = words().table["errors"][ERRORS.get(error.code or 500, "other")]
    headers = {"Retry-After": "60"} if error.code == 429 else {}
    html = render_template("mediation/error.html", title=page["title"], message=page["message"])
    return html, error.code or 500, headers


@login_manager.unauthorized_handler
def unauthorized() -> Response:
    if request.path.startswith(("/mediation/recordings/", "/mediation/audio/")):
        abort(401)
    return redirect(url_for("mediation.login", next=request.path))


class _CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, except that a request with no session cookie (every
    Twilio webhook) gets its empty session without a signer built for it."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def init_dashboard(app: Flask) -> None:
    """The dashboard, its login, CSRF protection and rate limit, for the dashboard's pages
    only (Twilio's webhooks are checked by their signature)."""
    app.secret_key = app.config["RELAIS"].secret_key
    app.session_interface = _CookieSessions()
    https = app.config["RELAIS"].public_url.startswith("https://")
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=https,  # behind https, the cookie never travels in clear
        REMEMBER_COOKIE_SECURE=https,
        WTF_CSRF_TIME_LIMIT=None,
    )
    # The per-address limit of logins is shared by every server process when Redis is
    # there (the per-account lock is in the database: mediation.roster.check_login).
    app.config["RATELIMIT_STORAGE_URI"] = app.config["RELAIS"].redis_url or "memory://"
    with _dashboard_only(app):
        login_manager.init_app(app)
        csrf.init_app(app)
        limiter.init_app(app)
    engine = app.config["RELAIS_ENGINE"]
    app.config["RELAIS_WORDS"] = load_words(app.config["RELAIS"].content_dir)
    app.jinja_env.globals["words"] = page_words
    app.jinja_env.filters.update(
        mask=mask,
        age=age,
        when=lambda at: said_clock(engine.content, at),  # "lundi 5 janvier à 10 h 42"
        paris=paris_time,
        urgent=is_urgent,
        status=lambda status: words().table["statuses"].get(status, status),
        choice=lambda target: words().table["answers"].get(target) or label(engine, target),
    )
    app.register_blueprint(blueprint)


@contextmanager
def _dashboard_only(app: Flask) -> Iterator[None]:
    """The request hooks that extensions add to the whole app meanwhile run for the
    dashboard's requests only: Twilio's webhooks (most of the traffic) skip them."""
    registries = (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs)
    before = [list(registry[None]) for registry in registries]
    yield
    for registry, kept in zip(registries, before, strict=True):
        added = [hook for hook in registry[None] if hook not in kept]
        registry[None] = kept
        registry[blueprint.name].extend(added)


def age(at: datetime) -> str:
    """How long ago `at` was, in the dashboard's words ("il y a 5 min")."""
    seconds = (now() - (at if at.tzinfo else at.replace(tzinfo=now().tzinfo))).total_seconds()
    minutes = int(seconds // 60)
    if minutes < 1:
        return words()("ages", "now")
    if minutes < 60:
        return words()("ages", "minutes", count=minutes)
    if minutes < 48 * 60:
        return words()("ages", "hours", count=minutes // 60)
    return words()("ages", "days", count=minutes // 1440)


@blueprint.route("/login", methods=["GET", "POST"])
@limiter.limit("5 per minute", methods=["POST"], deduct_when=lambda r: r.status_code != 302)
def login() -> Response | str:
    if request.method == "POST":
        app = services()
        mediator = app.session.scalar(
            select(Mediator).where(Mediator.phone == e164(request.form.get("phone", "")))
        )
        right = check_login(mediator, request.form.get("password", ""), now())
        app.session.commit()  # wrong passwords count per account, across addresses
        if right:
            session["login_at"] = now().timestamp()
            login_user(MediatorLogin(mediator))
            target = request.args.get("next", "")  # a path of the dashboard, nothing else
            if target.startswith("/mediation/"):  # under the proxy's prefix, if any
                return redirect(request.script_root + target)
            return redirect(url_for("mediation.queue"))
        flash(words()("flash", "wrong_login"))
        return render_template("mediation/login.html"), 401
    return render_template("mediation/login.html")


@blueprint.post("/logout")
@login_required
def logout() -> Response:
    mediator = services().session.get(Mediator, current_user.id)
    mediator.logged_out_at = now()  # every session opened until now is over
    services().session.commit()
    logout_user()
    return redirect(url_for("mediation.login"))


@blueprint.get("/")
@login_required
def queue() -> str:
    app = services()
    show_all = request.args.get("tout") == "1"
    query = callback_queue(None if show_all else OPEN)
    requests_ = list(app.session.scalars(query.limit(200)))
    names = {m.id: m.name for m in app.session.scalars(select(Mediator))}
    return render_template(
        "mediation/queue.html", requests=requests_, names=names, show_all=show_all
    )


@blueprint.get("/<path:address>")
@login_required
def unknown(address: str) -> NoReturn:
    """A mistyped address of the dashboard: its own error page, not Werkzeug's."""
    abort(404)


def _real_request(request_id: int) -> CallbackRequest:
    """A person's request (the simulator's are nobody's to call back)."""
    callback = services().session.get(CallbackRequest, request_id)
    if callback is None or callback.person.sandbox:
        abort(404)
    return callback


@blueprint.get("/requests/<int:request_id>")
@login_required
def request_page(request_id: int) -> str:
    app = services()
    callback = _real_request(request_id)
    conversation = callback.conversation
    turns, messages = [], []
    if conversation is not None:
        turns = list(
            app.session.scalars(
                select(Turn).where(Turn.conversation_id == conversation.id).order_by(Turn.id)
            )
        )
        messages = list(
            app.session.scalars(
                select(OutboundMessage)
                .where(OutboundMessage.conversation_id == conversation.id)
                .order_by(OutboundMessage.id)
            )
        )
    names = {m.id: m.name for m in app.session.scalars(select(Mediator))}
    return render_template(
        "mediation/request.html",
        r=callback,
        conversation=conversation,
        turns=turns,
        messages=messages,
        statuses={status.value: words()("statuses", status.value) for status in Status},
        names=names,
        can_place_calls=app.settings.can_place_calls,
    )


@blueprint.post("/requests/<int:request_id>")
@login_required
def update_request(request_id: int) -> Response:
    app = services()
    callback = _real_request(request_id)
    status = request.form.get("status", callback.status)
    if status not in tuple(Status):
        abort(400)
    if status != callback.status:
        set_status(callback, Status(status), current_user.id)
    note = request.form.get("note", "").strip()[:2000]
    if note:
        add_note(callback, words()("notes", "by", name=current_user.name, note=note), stamped=True)
    app.session.commit()
    flash(words()("flash", "saved"))
    return redirect(url_for("mediation.request_page", request_id=request_id))


@blueprint.post("/requests/<int:request_id>/call")
@login_required
def call_person(request_id: int) -> Response:
    """Click-to-call: Relais rings the mediator's phone, then puts them through to the
    person, who sees the service's number (the mediator's own stays private)."""
    from .calls import click_to_call

    app = services()
    callback = _real_request(request_id)
    if not app.settings.can_place_calls:
        abort(409)
    mediator = app.session.get(Mediator, current_user.id)
    click_to_call(app.session, callback, mediator)
    take(callback, mediator.id)
    app.session.commit()
    flash(words()("flash", "calling"))
    return redirect(url_for("mediation.request_page", request_id=request_id))


def words() -> Words:
    return current_app.config["RELAIS_WORDS"]


def page_words(section: str, name: str, /, **values: object) -> Markup:
    """A word for a page (`words` in the templates), escaped for HTML as the values filled
    in are, except those already HTML (another word, a name in bold)."""
    return escape(words().table[section][name]).format(**values)


@blueprint.get("/stats")
@login_required
def stats() -> str:
    app = services()
    return render_template("mediation/stats.html", charts=charts(app.session, app.engine, words()))


@blueprint.get("/diagram.svg")
@login_required
def diagram_svg() -> Response:
    app = services()
    return Response(diagram(app.session, app.engine, words()), mimetype="image/svg+xml")


@blueprint.get("/simulator")
@login_required
def simulator() -> str:
    tried = web_simulator.tried(current_user.id)
    heard = tried.call.transcript if tried.call else []
    sent = [line.text for line in tried.texts if line.who == "caller"]
    engine = services().engine
    candidates, followup = engine.understanding.top(sent[-1]) if sent else ([], 0.0)
    return render_template(
        "mediation/simulator.html",
        call=tried.call,
        heard=web_simulator.shown(heard, words()),
        texts=web_simulator.shown(tried.texts, words()),
        last_sent=sent[-1] if sent else "",
        candidates=[(label(engine, c.target), c) for c in candidates],
        followup=followup,
        danger=engine.danger(sent[-1]) if sent else None,
        keys=web_simulator.KEYS,
        audio=web_simulator.last_sound(heard),
        caller=web_simulator.caller_of(current_user.id),
    )


@blueprint.post("/simulator/call")
@login_required
def simulator_call() -> Response:
    action = request.form.get("action", "")
    if action == "start":
        web_simulator.start_call(current_user.id)
    else:
        web_simulator.press(current_user.id, action)
    return redirect(url_for("mediation.simulator") + "#appel")


@blueprint.post("/simulator/sms")
@login_required
def simulator_sms() -> Response:
    body = request.form.get("body", "")[:1600]
    web_simulator.text(current_user.id, body)
    return redirect(url_for("mediation.simulator") + "#sms")


def _kept(reference: str) -> Path:
    data_dir = current_app.config["RELAIS"].data_dir
    path = (data_dir / reference).resolve()
    if not path.is_relative_to((data_dir / "recordings").resolve()) or not path.is_file():
        abort(404)
    return path


@blueprint.get("/recordings/<path:reference>")
@login_required
def recording(reference: str) -> Response:
    """A caller's recording, for a logged-in mediator only, never cached."""
    path = _kept(f"recordings/{reference}")
    response = send_from_directory(path.parent, path.name, mimetype="audio/wav")
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/audio/summary/<int:request_id>.wav")
@login_required
def summary_audio(request_id: int) -> Response:
    """The summary of a request, spoken by the synthetic voice."""
    app = services()
    callback = _real_request(request_id)
    cache = app.speech.cache
    if cache is None:
        abort(404)
    path = render_summary_audio(cache, app.settings.data_dir, callback)  # a job did it, often
    response = send_from_directory(path.parent, path.name, mimetype="audio/wav")
    response.headers["Cache-Control"] = "private, no-store"
    return response
