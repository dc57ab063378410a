"""The `relais` command."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from core.content_dirs import content_root, language_dirs
from core.settings import Settings, data_folder, existing_auth_token, load_settings
from dialogues.loader import check_content

from .cli_mediators import cmd_mediators

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@contextmanager
def database() -> Iterator[tuple[Settings, Session]]:
    """The settings and a session on the migrated database, for a command."""
    from core.db import make_engine, migrate, session_factory

    settings = load_settings()
    engine = make_engine(settings.database_url)
    migrate(engine)
    try:
        with session_factory(engine)() as session:
            yield settings, session
    finally:
        engine.dispose()


def cmd_check(args: argparse.Namespace) -> int:
    root = Path(args.content) if args.content else content_root()
    if not root.is_dir():
        print(f"relais check : pas de dossier de contenu à {root}", file=sys.stderr)
        return 2
    folders = language_dirs(root)
    if not folders:
        print(
            f"relais check : pas de dossier de langue avec un dialogue.yaml dans {root}",
            file=sys.stderr,
        )
        return 2
    settings = load_settings()
    errors = 0
    for folder in folders:
        content, problems = check_content(folder)
        problems += _speech_problems(content, settings, args.speech)
        for problem in problems:
            print(problem)
        count = sum(p.severity == "error" for p in problems)
        errors += count
        warnings = len(problems) - count
        # Problems print as "file:line: erreur|conseil: reason" (dialogues.source.Problem).
        if content is not None and not count:
            print(
                f"{folder.name}: OK, {len(content.nodes)} nœuds, "
                f"{len(content.procedures)} démarches, {warnings} conseil(s)"
            )
        else:
            print(f"{folder.name}: {count} erreur(s), {warnings} conseil(s)")
    _warn_if_nobody_to_offer(settings, folders)
    return 1 if errors else 0


def _warn_if_nobody_to_offer(settings: Settings, folders: list[Path]) -> None:
    """No mediator registered and no help place written: Relais can offer nobody to a
    person who needs a human (only the France Services in general). A warning, in French
    for the people who run Relais; the database is read, never created."""
    import yaml
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.orm import Session

    from core.db import make_engine
    from mediation.handoff import has_mediators

    url = settings.database_url
    if url.startswith("sqlite") and not Path(url.split("///", 1)[-1]).is_file():
        mediators = False
    else:
        engine = make_engine(url)
        try:
            with Session(engine) as session:
                mediators = has_mediators(session)
        except SQLAlchemyError:  # no database yet, or not migrated: nobody registered
            mediators = False
        finally:
            engine.dispose()
    if mediators:
        return
    for folder in folders:
        places = folder / "places.yaml"
        try:
            written = (yaml.safe_load(places.read_text(encoding="utf-8")) or {}).get("places")
        except (OSError, yaml.YAMLError, AttributeError):
            written = None
        if not written:
            print(
                f"{folder.name}: attention, aucun médiateur n'est inscrit et aucun lieu d'aide "
                f"n'est écrit dans {folder.name}/places.yaml. Relais ne peut proposer personne : "
                "ajoutez un médiateur (relais mediators add) ou un lieu dans places.yaml."
            )


def _speech_problems(content, settings, required: bool) -> list:
    """The words the language's speech model does not know: checked whenever a model is
    installed; with --speech, a missing model or word is an error."""
    from dialogues.source import Problem
    from speech.recognition import Recognisers
    from speech.vocabulary import vocabulary_problems

    if content is None:
        return []
    recognisers = Recognisers(settings.vosk_model)
    if not recognisers.available(content.lang):
        if not required:
            return []
        return [
            Problem(
                f"{content.lang}/",
                1,
                f"pas de modèle de reconnaissance de la voix pour '{content.lang}' dans "
                f"{settings.vosk_model(content.lang)} : installez-en un avec "
                f"`relais models install {content.lang}`",
            )
        ]
    return vocabulary_problems(
        content, recognisers.get(content.lang), "error" if required else "warning"
    )


def cmd_try(args: argparse.Namespace) -> int:
    """What Relais understands of a first message, for the people who write the content."""
    from dialogues.engine import Engine
    from dialogues.loader import load_content

    from .understanding_report import understanding_report

    settings = load_settings()
    folder = Path(args.content) if args.content else settings.content_dir
    engine = Engine(load_content(folder))
    for text in args.text:
        print(understanding_report(engine, text))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from dialogues.loader import load_content
    from ivr.stream import stream_problem

    from .server import describe, local_url, serve

    settings = load_settings()
    if not os.environ.get("RELAIS_PUBLIC_URL"):
        settings = settings.replace(public_url=local_url(args.host, args.port))
    problem = stream_problem(settings)
    if problem:  # stream mode without a speech model: refused before anything starts
        print(problem, file=sys.stderr)
        return 2
    load_content(settings.content_dir)  # broken content stops here, with file and line
    for line in describe(settings):
        print(line, flush=True)
    print(
        f"À l'écoute sur {local_url(args.host, args.port)}, {args.workers} processus",
        flush=True,
    )
    serve(settings, args.host, args.port, args.workers)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from core.jobs import work

    from .app import load_job_handlers

    settings = load_settings()
    if not settings.redis_url:
        print(
            "RELAIS_REDIS_URL is not set: `relais serve` runs the jobs itself; a worker "
            "is only needed with Redis.",
            file=sys.stderr,
        )
        return 2
    print(f"Relais worker: jobs from {settings.redis_url.split('@')[-1]}", flush=True)
    load_job_handlers()
    work(settings, burst=args.burst)
    return 0


def _simulator(args: argparse.Namespace):
    """A simulator against --url, or against a Relais started here in the background;
    (None, None) when there is no token to sign the requests to --url with (said why)."""
    from dataclasses import replace

    from core.twilio_simulator import RecordingServer, TwilioSimulator

    from .server import BackgroundServer

    if args.url:  # spoken answers reach it only if its RELAIS_RECORDINGS_URL says this host
        token = existing_auth_token()
        if not token:
            print(
                f"relais {args.command} : pas de jeton pour signer les requêtes, car il n'y a "
                f"pas de dossier de données ici ({data_folder(dict(os.environ))}). Lancez "
                "cette commande depuis le dossier où tourne Relais, ou donnez-lui le même "
                "RELAIS_DATA_DIR ou TWILIO_AUTH_TOKEN.",
                file=sys.stderr,
            )
            return None, None
        public = os.environ.get("RELAIS_PUBLIC_URL") or args.url
        return TwilioSimulator(args.url, token, public), None
    settings = load_settings()
    recordings = RecordingServer()
    server = BackgroundServer(replace(settings, recordings_url=recordings.url))
    return TwilioSimulator(server.url, settings.auth_token, recordings=recordings), server


def _refused(args: argparse.Namespace, status: int | None) -> int:
    """Say why a Relais at --url did not take the simulated request."""
    if status is None:
        print(
            f"relais {args.command} : Relais ne répond pas à {args.url}. Est-il lancé "
            "(relais serve) ? Est-ce la bonne adresse ?",
            file=sys.stderr,
        )
    elif status == 403:
        print(
            f"relais {args.command} : Relais a refusé la requête (403) : elle n'est pas "
            "signée avec son jeton. Lancez cette commande depuis le dossier où tourne "
            "Relais, ou donnez-lui le même RELAIS_DATA_DIR ou TWILIO_AUTH_TOKEN (et le même "
            "RELAIS_PUBLIC_URL s'il en a un).",
            file=sys.stderr,
        )
    else:
        print(f"relais {args.command} : Relais a répondu {status}.", file=sys.stderr)
    return 1


def cmd_call(args: argparse.Namespace) -> int:
    answers = [a for a in (args.keys or "").split(",") if a]
    answers += [f"say:{path}" for path in args.say or []]
    sim, server = _simulator(args)
    if sim is None:
        return 2
    try:
        call = sim.call(args.sender, answers)
    finally:
        sim.close()
        if server:
            server.close()
    for line in call.transcript:
        print(line)
    print(f"(fin de l'appel : {call.status})")
    if args.url and call.status == "failed":
        said = [line.text for line in call.transcript if line.who == "twilio"]
        if any(text.startswith("HTTP 403") for text in said):
            return _refused(args, 403)
        if any(text.startswith("no answer") for text in said):
            return _refused(args, None)
    return 0 if call.status == "completed" else 1


def cmd_sms(args: argparse.Namespace) -> int:
    import requests

    sim, server = _simulator(args)
    if sim is None:
        return 2
    try:
        replies = sim.sms(args.sender, args.text)
    except requests.HTTPError as exc:
        return _refused(args, exc.response.status_code)
    except requests.ConnectionError:
        return _refused(args, None)
    finally:
        sim.close()
        if server:
            server.close()
    for reply in replies:
        print(reply)
        print("---")
    return 0


def cmd_outbox(args: argparse.Namespace) -> int:
    from core.phones import mask
    from core.store import Store

    with database() as (_settings, session):
        messages = Store(session).outbox(args.limit)
    for message in reversed(messages):
        when = message.created_at.strftime("%Y-%m-%d %H:%M")
        print(
            f"#{message.id} {when} to {mask(message.to)} [{message.transport}, "
            f"{message.status}, {message.segments} SMS {message.encoding}]"
        )
        print("   " + message.body.replace("\n", "\n   "))
    if not messages:
        print("The outbox is empty.")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from speech.models import OFFICIAL, ModelError, download, install, installed

    settings = load_settings()
    models_dir = settings.data_dir / "models"
    if args.action == "list":
        found = installed(models_dir)
        for lang, folder, size in found:
            print(f"{lang}  {size / 1e6:7.1f} MB  {folder}")
        for lang, path in settings.vosk_models.items():
            print(f"{lang}  (RELAIS_VOSK_MODEL_{lang.upper()})  {path}")
        if not found and not settings.vosk_models:
            print("No speech model installed: calls work with keys only.")
        return 0
    if not args.lang:
        print(
            "relais models install: which language? e.g. `relais models install fr`",
            file=sys.stderr,
        )
        return 2
    try:
        archive = Path(args.file) if args.file else None
        if archive is None:
            url = args.url or OFFICIAL.get(args.lang)
            if not url:
                print(
                    f"No official model known for '{args.lang}': give --url or --file.",
                    file=sys.stderr,
                )
                return 2
            models_dir.mkdir(parents=True, exist_ok=True)
            archive = models_dir / f".{args.lang}-download.zip"
            with tqdm(unit="B", unit_scale=True, desc=f"download {args.lang}") as bar:

                def step(size: int, total: int) -> None:
                    bar.total = total or None
                    bar.update(size)

                download(url, archive, step)
        with tqdm(unit="file", desc=f"unpack {args.lang}") as bar:

            def unpacked(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            where = install(archive, models_dir, args.lang, unpacked)
    except ModelError as exc:
        print(f"relais models install: {exc}. Nothing was installed.", file=sys.stderr)
        return 1
    finally:
        if not args.file:
            (models_dir / f".{args.lang}-download.zip").unlink(missing_ok=True)
    print(f"The {args.lang} speech model is installed in {where}.")
    return 0


def cmd_prompts(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .app import voice_prompts

    cache, texts = voice_prompts(load_settings())
    if cache is None:
        print(
            "No speech synthesis here (pyttsx3 with espeak-ng): calls use Twilio's <Say>.",
            file=sys.stderr,
        )
        return 1
    todo = cache.missing(texts)
    with tqdm(total=len(todo), unit="prompt", desc="render") as bar:
        cache.render(todo, bar.update)
    print(f"{len(texts)} prompts, {len(todo)} rendered now, in {cache.directory}")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    from dialogues.loader import load_content
    from mediation.privacy import purge

    with database() as (settings, session):
        words = lambda: load_content(settings.content_dir)  # noqa: E731 - only if needed
        count = purge(session, settings.data_dir, settings.retention_days, words)
    print(
        f"{count} enregistrement(s) et texte(s) de plus de {settings.retention_days} jours "
        "supprimé(s)."
    )
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    from mediation.privacy import forget

    with database() as (settings, session):
        if not forget(session, settings.data_dir, args.number):
            print("Nothing is kept about this number.")
            return 0
    print("Everything kept about this number is deleted: calls, messages, recordings, requests.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="relais", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="check the content: errors with file, line and reason")
    check.add_argument(
        "--content",
        help="content folder (default: RELAIS_CONTENT_DIR or the "
        "content/ folder shipped with Relais)",
    )
    check.add_argument(
        "--speech",
        action="store_true",
        help="also require a speech model that knows every answer word",
    )
    check.set_defaults(func=cmd_check)

    attempt = sub.add_parser(
        "try", help="what Relais understands of a message: the 3 best subjects and why"
    )
    attempt.add_argument("text", nargs="+", help="one or more messages, each in quotes")
    attempt.add_argument("--content", help="a language's content folder (default: settings)")
    attempt.set_defaults(func=cmd_try)

    serve = sub.add_parser("serve", help="answer calls and texts (production WSGI server)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes (more than 1: gunicorn; default: waitress)",
    )
    serve.set_defaults(func=cmd_serve)

    call = sub.add_parser("call", help="simulate a call, as Twilio makes it, and print it")
    call.add_argument("--from", dest="sender", default="+33612345678")
    call.add_argument(
        "--keys", help="the keys pressed at each question, e.g. 1,2,1 ('silence' for none)"
    )
    call.add_argument("--say", nargs="*", help="WAV files said at the next questions")
    call.add_argument("--url", help="a running Relais (default: start one here)")
    call.set_defaults(func=cmd_call)

    sms = sub.add_parser("sms", help="simulate a text message and print the replies")
    sms.add_argument("--from", dest="sender", default="+33612345678")
    sms.add_argument("--url", help="a running Relais (default: start one here)")
    sms.add_argument("text")
    sms.set_defaults(func=cmd_sms)

    models = sub.add_parser("models", help="speech models: install LANG, list")
    models.add_argument("action", choices=["install", "list"])
    models.add_argument("lang", nargs="?")
    source = models.add_mutually_exclusive_group()
    source.add_argument("--url", help="a model zip to download (default: the official one)")
    source.add_argument("--file", help="a model zip already on this machine")
    models.set_defaults(func=cmd_models)

    prompts = sub.add_parser("prompts", help="voice prompts: render the missing ones")
    prompts.add_argument("action", choices=["render"])
    prompts.set_defaults(func=cmd_prompts)

    mediators = sub.add_parser("mediators", help="mediators: add (with their login), list")
    mediators.add_argument("action", choices=["add", "list"])
    mediators.add_argument("--name")
    mediators.add_argument("--phone", help="the phone the mediator takes calls on")
    mediators.add_argument("--topics", help="e.g. caf,emploi (default: every topic)")
    mediators.add_argument("--languages", help="e.g. fr (default: every language)")
    mediators.add_argument(
        "--pin",
        action="store_true",
        help="also ask for a PIN for the mediators' phone line (or read RELAIS_NEW_PIN)",
    )
    mediators.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input's first line (and the PIN from the next)",
    )
    mediators.set_defaults(func=cmd_mediators)

    purge = sub.add_parser(
        "purge",
        help="delete recordings and transcripts older than "
        "RELAIS_RETENTION_DAYS (also done daily by `relais serve`)",
    )
    purge.set_defaults(func=cmd_purge)

    worker = sub.add_parser(
        "worker", help="run slow jobs from Redis (RQ), beside `relais serve` (RELAIS_REDIS_URL)"
    )
    worker.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    worker.set_defaults(func=cmd_worker)

    forget = sub.add_parser("forget", help="delete everything kept about a phone number")
    forget.add_argument("number")
    forget.set_defaults(func=cmd_forget)

    outbox = sub.add_parser("outbox", help="list the SMS Relais sent or stored")
    outbox.add_argument("--limit", type=int, default=20)
    outbox.set_defaults(func=cmd_outbox)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
