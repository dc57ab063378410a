"""The `relais` command: one sub-command per action, each with only its own options
(`relais mediators add --name ...`, `relais models install fr`). Everything it says is in
the operator's language, from content (operator.yaml, checks.yaml; French by default): its
help, argparse's own texts (usage, headings, errors; OperatorParser) and its messages."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from core.content_dirs import content_root, language_dirs, operator_messages
from core.settings import Settings, data_folder, existing_auth_token, load_settings
from dialogues.loader import check_content
from dialogues.messages import CHECKS, OPERATOR, Messages

from .cli_mediators import cmd_mediators_add, cmd_mediators_list

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

CALLER = "+33612345678"  # the simulated person's number, unless --from


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
    say = operator_messages(OPERATOR)
    root = Path(args.content) if args.content else content_root()
    if not root.is_dir():
        print(say("check.no_folder", root=root), file=sys.stderr)
        return 2
    folders = language_dirs(root)
    if not folders:
        print(say("check.no_language", root=root), file=sys.stderr)
        return 2
    settings = load_settings()
    checks = operator_messages(CHECKS)
    errors = 0
    for folder in folders:
        content, problems = check_content(folder, checks)
        problems += _speech_problems(content, settings, args.speech, checks)
        for problem in problems:
            print(problem)
        count = sum(p.severity == "error" for p in problems)
        errors += count
        warnings = len(problems) - count
        # Problems print as "file:line: erreur|conseil: reason" (dialogues.source.Problem).
        if content is not None and not count:
            print(
                say(
                    "check.ok",
                    folder=folder.name,
                    nodes=len(content.nodes),
                    procedures=len(content.procedures),
                    warnings=warnings,
                )
            )
        else:
            print(say("check.failed", folder=folder.name, errors=count, warnings=warnings))
    _warn_if_nobody_to_offer(settings, folders, say)
    return 1 if errors else 0


def _warn_if_nobody_to_offer(settings: Settings, folders: list[Path], say: Messages) -> None:
    """No mediator registered and no help place written: Relais can offer nobody to a
    person who needs a human (only the France Services in general). A warning for the
    people who run Relais; the database is read, never created."""
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
            print(say("check.nobody", folder=folder.name))


def _speech_problems(content, settings, required: bool, checks: Messages) -> list:
    """The words the language's speech model does not know: checked whenever a model is
    installed; with --speech, a missing model or word is an error."""
    from dialogues.source import problem
    from speech.recognition import Recognisers
    from speech.vocabulary import vocabulary_problems

    if content is None:
        return []
    recognisers = Recognisers(settings.vosk_model)
    if not recognisers.available(content.lang):
        if not required:
            return []
        return [
            problem(
                checks,
                f"{content.lang}/",
                1,
                "speech.no_model",
                language=content.lang,
                folder=settings.vosk_model(content.lang),
            )
        ]
    return vocabulary_problems(
        content, recognisers.get(content.lang), "error" if required else "warning", checks
    )


def cmd_try(args: argparse.Namespace) -> int:
    """What Relais understands of a first message, for the people who write the content."""
    from dialogues.engine import Engine
    from dialogues.loader import load_content

    from .understanding_report import understanding_report

    settings = load_settings()
    folder = Path(args.content) if args.content else settings.content_dir
    engine = Engine(load_content(folder, operator_messages(CHECKS)))
    say = operator_messages(OPERATOR)
    for text in args.text:
        print(understanding_report(engine, text, say))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from dialogues.loader import load_content
    from ivr.stream import stream_problem

    from .server import describe, local_url, serve

    settings = load_settings()
    if not os.environ.get("RELAIS_PUBLIC_URL"):
        settings = settings.replace(public_url=local_url(args.host, args.port))
    say = operator_messages(OPERATOR)
    problem = stream_problem(settings)
    if problem:  # stream mode without a speech model: refused before anything starts
        print(problem, file=sys.stderr)
        return 2
    # Broken content stops here, with file and line.
    load_content(settings.content_dir, operator_messages(CHECKS))
    for line in describe(settings):
        print(line, flush=True)
    url = local_url(args.host, args.port)
    print(say("start.listening", url=url, workers=args.workers), flush=True)
    serve(settings, args.host, args.port, args.workers)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from core.jobs import work

    from .app import load_job_handlers

    settings = load_settings()
    say = operator_messages(OPERATOR)
    if not settings.redis_url:
        print(say("worker.no_redis"), file=sys.stderr)
        return 2
    print(say("worker.started", redis=settings.redis_url.split("@")[-1]), flush=True)
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
                operator_messages(OPERATOR)(
                    "simulator.no_token",
                    command=args.command,
                    folder=data_folder(dict(os.environ)),
                ),
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
    say = operator_messages(OPERATOR)
    if status is None:
        said = say("simulator.no_answer", command=args.command, url=args.url)
    elif status == 403:
        said = say("simulator.forbidden", command=args.command)
    else:
        said = say("simulator.answered", command=args.command, status=status)
    print(said, file=sys.stderr)
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
        print(sim.said_by(line))
    say = operator_messages(OPERATOR)
    status = say.get(f"call_statuses.{call.status}", call.status)
    print(say("simulator.call_ended", status=status))
    if args.url and call.status == "failed":
        if 403 in call.failures:
            return _refused(args, 403)
        if None in call.failures:
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
    say = operator_messages(OPERATOR)
    for message in reversed(messages):
        print(
            say(
                "outbox.message",
                id=message.id,
                when=message.created_at.strftime("%Y-%m-%d %H:%M"),
                to=mask(message.to),
                transport=message.transport,
                status=message.status,
                segments=message.segments,
                encoding=message.encoding,
            )
        )
        print("   " + message.body.replace("\n", "\n   "))
    if not messages:
        print(say("outbox.none"))
    return 0


def cmd_models_list(args: argparse.Namespace) -> int:
    from speech.models import installed

    settings = load_settings()
    say = operator_messages(OPERATOR)
    found = installed(settings.data_dir / "models")
    for lang, folder, size in found:
        print(say("models.installed", language=lang, megabytes=size / 1e6, folder=folder))
    for lang, path in settings.vosk_models.items():
        setting = f"RELAIS_VOSK_MODEL_{lang.upper()}"
        print(say("models.setting", language=lang, setting=setting, folder=path))
    if not found and not settings.vosk_models:
        print(say("models.none"))
    return 0


def cmd_models_install(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from speech.models import OFFICIAL, ModelError, download, install

    models_dir = load_settings().data_dir / "models"
    say = operator_messages(OPERATOR)
    try:
        archive = Path(args.file) if args.file else None
        if archive is None:
            url = args.url or OFFICIAL.get(args.lang)
            if not url:
                print(say("models.no_official", language=args.lang), file=sys.stderr)
                return 2
            models_dir.mkdir(parents=True, exist_ok=True)
            archive = models_dir / f".{args.lang}-download.zip"
            with tqdm(
                unit=say("models.bytes"),
                unit_scale=True,
                desc=say("models.downloading", language=args.lang),
            ) as bar:

                def step(size: int, total: int) -> None:
                    bar.total = total or None
                    bar.update(size)

                download(url, archive, step)
        with tqdm(
            unit=say("models.files"), desc=say("models.installing", language=args.lang)
        ) as bar:

            def unpacked(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            where = install(archive, models_dir, args.lang, unpacked)
    except ModelError as exc:
        print(say("models.failed", reason=say.of(exc)), file=sys.stderr)
        return 1
    finally:
        if not args.file:
            (models_dir / f".{args.lang}-download.zip").unlink(missing_ok=True)
    print(say("models.done", language=args.lang, folder=where))
    return 0


def cmd_prompts_render(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .app import voice_prompts

    cache, texts = voice_prompts(load_settings())
    say = operator_messages(OPERATOR)
    if cache is None:
        print(say("prompts.no_voice"), file=sys.stderr)
        return 1
    todo = cache.missing(texts)
    with tqdm(total=len(todo), unit=say("prompts.unit"), desc=say("prompts.progress")) as bar:
        cache.render(todo, bar.update)
    print(say("prompts.done", texts=len(texts), rendered=len(todo), folder=cache.directory))
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    from dialogues.loader import load_content
    from mediation.privacy import purge

    with database() as (settings, session):
        words = lambda: load_content(settings.content_dir)  # noqa: E731 - only if needed
        count = purge(session, settings.data_dir, settings.retention_days, words)
    say = operator_messages(OPERATOR)
    print(say("purge.done", count=count, days=settings.retention_days))
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    from mediation.privacy import forget

    say = operator_messages(OPERATOR)
    with database() as (settings, session):
        if not forget(session, settings.data_dir, args.number):
            print(say("forget.nothing"))
            return 0
    print(say("forget.done"))
    return 0


def _argparse_text(say: Messages, text: str) -> str:
    """One of argparse's own texts (usage, headings, errors) in the operator's language:
    operator.yaml names them by Python's own English texts, the msgids argparse asks
    gettext for; a text it lacks (a newer Python's) stays in English."""
    return say.get(f"argparse.{text}", text) if text else text


@contextmanager
def _operator_language(say: Messages) -> Iterator[None]:
    """argparse's texts in the operator's language while the block runs (argparse calls
    the module's `_` and `ngettext`, imported from gettext, each time it writes a text)."""
    saved = argparse._, argparse.ngettext

    def plural(one: str, many: str, n: int) -> str:
        return _argparse_text(say, one if n == 1 else many)

    argparse._ = lambda text: _argparse_text(say, text)
    argparse.ngettext = plural
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved


class OperatorFormatter(argparse.HelpFormatter):
    """Headings as the operator's language writes them: "options :" in French (argparse
    adds the colon itself)."""

    def start_section(self, heading: str | None) -> None:
        say = operator_messages(OPERATOR)
        super().start_section(say("parser.heading", heading=heading) if heading else heading)


class OperatorParser(argparse.ArgumentParser):
    """An argparse parser that says everything in the operator's language and takes only
    its own options: an option of another action (`relais mediators list --name x`) is
    refused by the action's own parser, with its usage and where to find its help."""

    def __init__(self, **kwargs) -> None:
        self.say = operator_messages(OPERATOR)
        kwargs.setdefault("formatter_class", OperatorFormatter)
        kwargs.setdefault("allow_abbrev", False)  # `--pass` is not taken for `--password-stdin`
        with _operator_language(self.say):
            super().__init__(**kwargs)

    def parse_known_args(self, args=None, namespace=None):
        with _operator_language(self.say):
            namespace, extras = super().parse_known_args(args, namespace)
            if extras:  # refused here, so the error names this action, not `relais`
                unknown = _argparse_text(self.say, "unrecognized arguments: %s")
                self.error(unknown % " ".join(extras))
        return namespace, extras

    def format_usage(self) -> str:
        with _operator_language(self.say):
            return super().format_usage()

    def format_help(self) -> str:
        with _operator_language(self.say):
            return super().format_help()

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, self.say("parser.error", prog=self.prog, message=message))


def whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        say = operator_messages(OPERATOR)
        raise argparse.ArgumentTypeError(say("parser.not_whole", text=text)) from None


def _action(
    sub: argparse._SubParsersAction,
    name: str,
    text: str,
    func: Callable[[argparse.Namespace], int] | None = None,
) -> argparse.ArgumentParser:
    """A sub-command: `text` is its line in the list and the first line of its help; `func`
    runs it (none for a command that only holds actions)."""
    parser = sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
    if func:
        parser.set_defaults(func=func)
    return parser


def _actions(parser: argparse.ArgumentParser, say: Messages) -> argparse._SubParsersAction:
    """The sub-commands of a command with several actions (`relais mediators add|list`)."""
    return parser.add_subparsers(
        dest="action",
        required=True,
        title=say("parser.actions"),
        metavar=say("metavars.action"),
        parser_class=OperatorParser,
    )


def build_parser() -> argparse.ArgumentParser:
    say = operator_messages(OPERATOR)
    parser = OperatorParser(prog="relais", description=say("parser.description"))
    sub = parser.add_subparsers(
        dest="command",
        required=True,
        title=say("parser.commands"),
        metavar=say("metavars.command"),
        parser_class=OperatorParser,
    )
    folder, address, number = (
        say("metavars.folder"),
        say("metavars.address"),
        say("metavars.number"),
    )
    count = say("metavars.count")
    content = say("options.content")
    running = say("options.running")
    caller = say("options.caller", number=CALLER)

    serve = _action(sub, "serve", say("commands.serve"), cmd_serve)
    serve.add_argument(
        "--host", default="127.0.0.1", metavar=address, help=say("options.host", host="127.0.0.1")
    )
    serve.add_argument(
        "--port", type=whole_number, default=8000, help=say("options.port", port=8000)
    )
    serve.add_argument(
        "--workers",
        type=whole_number,
        default=1,
        metavar=count,
        help=say("options.workers"),
    )

    worker = _action(sub, "worker", say("commands.worker"), cmd_worker)
    worker.add_argument("--burst", action="store_true", help=say("options.burst"))

    check = _action(sub, "check", say("commands.check"), cmd_check)
    check.add_argument("--content", metavar=folder, help=content)
    check.add_argument("--speech", action="store_true", help=say("options.speech"))

    attempt = _action(sub, "try", say("commands.try"), cmd_try)
    attempt.add_argument(
        "text", nargs="+", metavar=say("metavars.text"), help=say("options.try_text")
    )
    attempt.add_argument("--content", metavar=folder, help=say("options.try_content"))

    call = _action(sub, "call", say("commands.call"), cmd_call)
    call.add_argument("--from", dest="sender", default=CALLER, metavar=number, help=caller)
    call.add_argument("--keys", metavar=say("metavars.keys"), help=say("options.keys"))
    call.add_argument("--say", nargs="*", metavar=say("metavars.file"), help=say("options.say"))
    call.add_argument("--url", metavar=address, help=running)

    sms = _action(sub, "sms", say("commands.sms"), cmd_sms)
    sms.add_argument("--from", dest="sender", default=CALLER, metavar=number, help=caller)
    sms.add_argument("--url", metavar=address, help=running)
    sms.add_argument("text", metavar=say("metavars.text"), help=say("options.sms_text"))

    outbox = _action(sub, "outbox", say("commands.outbox"), cmd_outbox)
    outbox.add_argument(
        "--limit",
        type=whole_number,
        default=20,
        metavar=count,
        help=say("options.limit", limit=20),
    )

    models = _actions(_action(sub, "models", say("commands.models")), say)
    install = _action(models, "install", say("commands.models_install"), cmd_models_install)
    install.add_argument("lang", metavar=say("metavars.language"), help=say("options.language"))
    source = install.add_mutually_exclusive_group()
    source.add_argument("--url", metavar=address, help=say("options.model_url"))
    source.add_argument("--file", metavar=say("metavars.zip"), help=say("options.model_file"))
    _action(models, "list", say("commands.models_list"), cmd_models_list)

    prompts = _actions(_action(sub, "prompts", say("commands.prompts")), say)
    _action(prompts, "render", say("commands.prompts_render"), cmd_prompts_render)

    mediators = _actions(_action(sub, "mediators", say("commands.mediators")), say)
    add = _action(mediators, "add", say("commands.mediators_add"), cmd_mediators_add)
    add.add_argument(
        "--name", required=True, metavar=say("metavars.name"), help=say("options.name")
    )
    add.add_argument("--phone", required=True, metavar=number, help=say("options.phone"))
    add.add_argument("--topics", metavar=say("metavars.topics"), help=say("options.topics"))
    add.add_argument(
        "--languages", metavar=say("metavars.languages"), help=say("options.languages")
    )
    add.add_argument("--pin", action="store_true", help=say("options.pin"))
    add.add_argument("--password-stdin", action="store_true", help=say("options.password_stdin"))
    _action(mediators, "list", say("commands.mediators_list"), cmd_mediators_list)

    _action(sub, "purge", say("commands.purge"), cmd_purge)

    forget = _action(sub, "forget", say("commands.forget"), cmd_forget)
    forget.add_argument("number", metavar=number, help=say("options.number"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # `relais check | head`: the reader has what it wanted
        # Python's recipe: point stdout at nothing, so its flush at exit cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
