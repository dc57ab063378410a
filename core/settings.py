"""Settings, read from the environment (each one is documented in README.md). What is
wrong with them is said in the operator's language (operator.yaml's `settings`)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

from dialogues.messages import OPERATOR, Messages
from speech.recordings import TWILIO_API
from speech.voice import DEFAULT_RATE

from .content_dirs import content_root, operator_messages
from .hours import DEFAULT_HOURS, HoursError, OpeningHours
from .phones import SMS_COUNTRIES, e164

SMS_TRANSPORTS = ("outbox", "twilio")
VOICE_MODES = ("record", "stream")
LOCAL_TOKEN = "local-auth-token"  # in the data folder, when TWILIO_AUTH_TOKEN is not set


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    public_url: str
    content_dir: Path
    account_sid: str = ""
    auth_token: str = ""
    auth_token_is_local: bool = False  # no Twilio token: a local one only the simulator knows
    # Twilio's SharedKeys that sign webhooks instead of the auth token (a Webhook Setting
    # with HMAC_SHA256, say): each key's id and its secret.
    shared_keys: dict[str, str] = field(default_factory=dict)
    sms_transport: str = "outbox"
    twilio_api_url: str = ""  # base URL of the Twilio REST API (empty: Twilio's own)
    from_number: str = ""  # the service's phone number, sender of outbound SMS
    language: str = "fr"  # the first language: the mediators', and a new person's
    # Every language served (the first is `language`), each content in content_dir's
    # parent folder; the language of a person reaching one of these numbers (E.164).
    languages: tuple[str, ...] = ("fr",)
    number_languages: dict[str, str] = field(default_factory=dict)
    voice_rate: int = DEFAULT_RATE  # words a minute of the synthetic voice
    say_voice: str = ""  # Twilio's <Say> voice (empty: the content language's default)
    vosk_models: dict[str, Path] = field(default_factory=dict)  # set by RELAIS_VOSK_MODEL_XX
    render_prompts: bool = True  # render missing voice prompts in the background at start
    hours: OpeningHours = field(default_factory=OpeningHours.parse)  # when mediators answer
    retention_days: int = 90  # recordings and transcripts are deleted after this
    autonomy_months: int = 6  # the question about links is asked again after this
    secret_key: str = ""  # signs the mediators' session cookies
    redis_url: str = ""  # Redis wakes `relais worker`, which runs slow jobs (empty: in-process)
    queue: str = "relais"  # names the list that wakes workers (several Relais, one Redis)
    fallback_phone: str = ""  # a human line given to callers when Relais cannot answer
    missed_call: bool = False  # reject incoming calls (free for the caller) and ring back
    ring_backs_per_day: int = 3  # at most this many ring-backs a day to one number
    sms_countries: tuple[str, ...] = SMS_COUNTRIES  # SMS go to mobiles of these regions only
    recordings_url: str = TWILIO_API  # recordings are fetched from this host only
    sms_per_call: int = 3  # at most this many SMS from one conversation,
    sms_per_caller_per_day: int = 10  # ...asked for by one person in a day,
    sms_per_number_per_day: int = 5  # ...and to one number in a day
    client_timeout: int = 15  # seconds a connection may stay idle or half-sent
    voice_mode: str = "record"  # "record" (Gather, Record) or "stream" (Media Streams)
    stream_port: int = 8001  # the websocket server of stream mode (the proxy's /voice/stream)
    problems: list[str] = field(default_factory=list)

    def replace(self, **changes) -> Settings:
        return replace(self, **changes)

    @property
    def can_place_calls(self) -> bool:
        """Relais can place calls through Twilio (ring-backs, click-to-call)."""
        return bool(self.account_sid and self.from_number)

    def content_dir_of(self, lang: str) -> Path:
        return self.content_dir.parent / lang

    def vosk_model(self, lang: str) -> Path:
        """Where the speech model of `lang` is: RELAIS_VOSK_MODEL_<LANG>, or the data
        folder's models/<lang> (where `relais models install` puts it)."""
        return self.vosk_models.get(lang) or self.data_dir / "models" / lang


def _number_languages(
    spec: str, languages: tuple[str, ...], problems: list[str], say: Messages
) -> dict[str, str]:
    """RELAIS_NUMBER_LANGUAGES, "+33900000001=ko,+33900000002=fr": the language of each of
    the service's numbers (a person reaching one is spoken to in it from then on)."""
    found = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        number, _, lang = part.partition("=")
        if e164(number.strip()) and lang.strip() in languages:
            found[e164(number.strip())] = lang.strip()
        else:
            problems.append(
                say("settings.number_languages", part=part, languages=", ".join(languages))
            )
    return found


def _local_secret(data_dir: Path, name: str) -> str:
    """A random secret kept in the data folder: the auth token the simulator and the
    server agree on when no Twilio token is configured, the session cookies' key."""
    path = data_dir / name
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(16))
        path.chmod(0o600)
    return path.read_text().strip()


def _shared_keys(text: str) -> dict[str, str]:
    """The setting "id=secret,id=secret" as {id: secret} (a secret may end with "=")."""
    pairs = (part.strip().partition("=") for part in text.split(","))
    return {key.strip(): secret.strip() for key, _, secret in pairs if key.strip() and secret}


def data_folder(env: dict[str, str]) -> Path:
    return Path(env.get("RELAIS_DATA_DIR") or "relais-data").resolve()


def existing_auth_token(env: dict[str, str] | None = None) -> str:
    """The token that signs webhooks for a Relais: TWILIO_AUTH_TOKEN, or the local one in
    its data folder; "" when neither is there (nothing is created)."""
    env = dict(os.environ if env is None else env)
    local = data_folder(env) / LOCAL_TOKEN
    return env.get("TWILIO_AUTH_TOKEN") or (local.read_text().strip() if local.is_file() else "")


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    data_dir = data_folder(env)
    database_url = env.get("RELAIS_DATABASE_URL") or f"sqlite:///{data_dir / 'relais.db'}"
    public_url = (env.get("RELAIS_PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/")
    languages = tuple(
        dict.fromkeys(
            lang.strip()
            for lang in (env.get("RELAIS_LANGUAGES") or env.get("RELAIS_LANGUAGE") or "fr").split(
                ","
            )
            if lang.strip()
        )
    ) or ("fr",)
    language = languages[0]
    content_dir = Path(env.get("RELAIS_CONTENT_DIR") or content_root()) / language
    say = operator_messages(OPERATOR, env)
    problems: list[str] = []
    number_languages = _number_languages(
        env.get("RELAIS_NUMBER_LANGUAGES", ""), languages, problems, say
    )
    auth_token = env.get("TWILIO_AUTH_TOKEN", "")
    local = not auth_token
    if local:
        auth_token = _local_secret(data_dir, LOCAL_TOKEN)
        problems.append(say("settings.no_token"))
    if "RELAIS_PUBLIC_URL" not in env:
        problems.append(say("settings.no_public_url"))
    transport = env.get("RELAIS_SMS_TRANSPORT", "outbox")
    if transport not in SMS_TRANSPORTS:
        problems.append(say("settings.unknown_transport", transport=transport))
        transport = "outbox"
    if transport == "outbox":
        problems.append(say("settings.outbox"))
    elif not (env.get("TWILIO_ACCOUNT_SID") and env.get("RELAIS_FROM_NUMBER")):
        problems.append(say("settings.twilio_incomplete"))
    if not env.get("RELAIS_FALLBACK_PHONE"):
        problems.append(say("settings.no_fallback"))
    missed_call = env.get("RELAIS_MISSED_CALL", "0") == "1"
    if missed_call and not (env.get("TWILIO_ACCOUNT_SID") and env.get("RELAIS_FROM_NUMBER")):
        problems.append(say("settings.missed_call"))
        missed_call = False
    voice_mode = env.get("RELAIS_VOICE_MODE", "record").strip() or "record"
    if voice_mode not in VOICE_MODES:
        problems.append(say("settings.unknown_voice_mode", mode=voice_mode))
        voice_mode = "record"
    try:
        hours = OpeningHours.parse(
            env.get("RELAIS_OPENING_HOURS") or DEFAULT_HOURS, env.get("RELAIS_CLOSED_DAYS", "")
        )
    except HoursError as exc:
        problems.append(say("settings.hours", reason=say.of(exc), default=DEFAULT_HOURS))
        hours = OpeningHours.parse()
    return Settings(
        hours=hours,
        data_dir=data_dir,
        database_url=database_url,
        public_url=public_url,
        content_dir=content_dir,
        account_sid=env.get("TWILIO_ACCOUNT_SID", ""),
        auth_token=auth_token,
        auth_token_is_local=local,
        shared_keys=_shared_keys(env.get("TWILIO_WEBHOOK_SHARED_KEYS", "")),
        sms_transport=transport,
        twilio_api_url=env.get("RELAIS_TWILIO_API_URL", "").rstrip("/"),
        from_number=env.get("RELAIS_FROM_NUMBER", ""),
        language=language,
        languages=languages,
        number_languages=number_languages,
        voice_rate=int(env.get("RELAIS_VOICE_RATE") or DEFAULT_RATE),
        say_voice=env.get("RELAIS_SAY_VOICE", "").strip(),
        render_prompts=env.get("RELAIS_RENDER_PROMPTS", "1") != "0",
        retention_days=int(env.get("RELAIS_RETENTION_DAYS") or 90),
        autonomy_months=int(env.get("RELAIS_AUTONOMY_MONTHS") or 6),
        redis_url=env.get("RELAIS_REDIS_URL", ""),
        queue=env.get("RELAIS_QUEUE") or "relais",
        fallback_phone=env.get("RELAIS_FALLBACK_PHONE", ""),
        missed_call=missed_call,
        ring_backs_per_day=int(env.get("RELAIS_RING_BACKS_PER_DAY") or 3),
        sms_countries=tuple(
            c.strip().upper()
            for c in (env.get("RELAIS_SMS_COUNTRIES") or ",".join(SMS_COUNTRIES)).split(",")
            if c.strip()
        ),
        sms_per_call=int(env.get("RELAIS_SMS_PER_CALL") or 3),
        recordings_url=(
            env.get("RELAIS_RECORDINGS_URL") or env.get("RELAIS_TWILIO_API_URL") or TWILIO_API
        ).rstrip("/"),
        sms_per_caller_per_day=int(env.get("RELAIS_SMS_PER_CALLER_PER_DAY") or 10),
        sms_per_number_per_day=int(env.get("RELAIS_SMS_PER_NUMBER_PER_DAY") or 5),
        client_timeout=int(env.get("RELAIS_CLIENT_TIMEOUT") or 15),
        voice_mode=voice_mode,
        stream_port=int(env.get("RELAIS_STREAM_PORT") or 8001),
        secret_key=env.get("RELAIS_SECRET_KEY") or _local_secret(data_dir, "secret-key"),
        vosk_models={
            key.removeprefix("RELAIS_VOSK_MODEL_").lower(): Path(value)
            for key, value in env.items()
            if key.startswith("RELAIS_VOSK_MODEL_") and value
        },
        problems=problems,
    )
