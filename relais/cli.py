"""The `relais` command."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from dialogues.loader import check_content

from .content_dirs import content_root, language_dirs
from .settings import load_settings


def cmd_check(args: argparse.Namespace) -> int:
    root = Path(args.content) if args.content else content_root()
    if not root.is_dir():
        print(f"relais check: no content folder at {root}", file=sys.stderr)
        return 2
    folders = language_dirs(root)
    if not folders:
        print(f"relais check: no language folder with a dialogue.yaml in {root}", file=sys.stderr)
        return 2
    errors = 0
    for folder in folders:
        content, problems = check_content(folder)
        for problem in problems:
            print(problem)
        count = sum(p.severity == "error" for p in problems)
        errors += count
        warnings = len(problems) - count
        if content is not None and not count:
            print(
                f"{folder.name}: OK, {len(content.nodes)} nodes, "
                f"{len(content.procedures)} procedures, {warnings} warning(s)"
            )
        else:
            print(f"{folder.name}: {count} error(s), {warnings} warning(s)")
    return 1 if errors else 0


def cmd_serve(args: argparse.Namespace) -> int:
    from dialogues.loader import load_content

    from .server import describe, local_url, serve

    settings = load_settings()
    if not os.environ.get("RELAIS_PUBLIC_URL"):
        settings = settings.replace(public_url=local_url(args.host, args.port))
    load_content(settings.content_dir)  # broken content stops here, with file and line
    for line in describe(settings):
        print(line, flush=True)
    print(
        f"Listening on {local_url(args.host, args.port)} with {args.workers} process(es)",
        flush=True,
    )
    serve(settings, args.host, args.port, args.workers)
    return 0


def _simulator(args: argparse.Namespace):
    """A simulator against --url, or against a Relais started here in the background."""
    from .server import BackgroundServer
    from .simulator import TwilioSimulator

    settings = load_settings()
    if args.url:
        public = os.environ.get("RELAIS_PUBLIC_URL") or args.url
        return TwilioSimulator(args.url, settings.auth_token, public), None
    server = BackgroundServer(settings)
    return TwilioSimulator(server.url, settings.auth_token), server


def cmd_call(args: argparse.Namespace) -> int:
    answers = [a for a in (args.keys or "").split(",") if a]
    answers += [f"say:{path}" for path in args.say or []]
    sim, server = _simulator(args)
    try:
        call = sim.call(args.sender, answers)
    finally:
        sim.close()
        if server:
            server.close()
    for line in call.transcript:
        print(line)
    print(f"(fin de l'appel : {call.status})")
    return 0 if call.status == "completed" else 1


def cmd_sms(args: argparse.Namespace) -> int:
    sim, server = _simulator(args)
    try:
        replies = sim.sms(args.sender, args.text)
    finally:
        sim.close()
        if server:
            server.close()
    for reply in replies:
        print(reply)
        print("---")
    return 0


def cmd_outbox(args: argparse.Namespace) -> int:
    from .db import make_engine, migrate, session_factory
    from .phones import mask
    from .store import Store

    settings = load_settings()
    engine = make_engine(settings.database_url)
    migrate(engine)
    with session_factory(engine)() as session:
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="relais", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="check the content: errors with file, line and reason")
    check.add_argument(
        "--content",
        help="content folder (default: RELAIS_CONTENT_DIR or the "
        "content/ folder shipped with Relais)",
    )
    check.set_defaults(func=cmd_check)

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

    outbox = sub.add_parser("outbox", help="list the SMS Relais sent or stored")
    outbox.add_argument("--limit", type=int, default=20)
    outbox.set_defaults(func=cmd_outbox)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
