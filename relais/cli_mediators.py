"""`relais mediators add` and `relais mediators list`: the mediators and their dashboard
accounts, in the operator's language (operator.yaml's `mediators`).

A secret (the dashboard password, the phone line's PIN) is never a command-line argument
(`ps` shows those): it is typed twice at a terminal, or read from standard input
(`--password-stdin`: the password on the first line, the PIN on the second), or from
RELAIS_NEW_PASSWORD / RELAIS_NEW_PIN.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Iterator

from core.content_dirs import operator_messages
from core.phones import e164, is_valid_number, mask
from core.settings import Settings
from dialogues.messages import OPERATOR, KeyedError

MIN_PASSWORD = 10  # characters of a dashboard password


class Refused(KeyedError):
    """What is wrong with the command, said to the person who typed it."""


def known_topics(settings: Settings) -> set[str]:
    """The topics the content hands people off with (a mediator's topics must be some)."""
    from dialogues.loader import load_content

    content = load_content(settings.content_dir)
    return {n.topic for n in content.nodes.values() if n.topic} | {
        p.topic for p in content.procedures.values() if p.topic
    }


def split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _typed_twice(prompt: str) -> str:
    say = operator_messages(OPERATOR)
    try:
        first = getpass.getpass(say("roster.type", what=prompt))
        again = getpass.getpass(say("roster.again", what=prompt))
    except (EOFError, KeyboardInterrupt):
        raise Refused("roster.stopped") from None
    if again != first:
        raise Refused("roster.different")
    return first


def _secret(what: str, env: str, piped: Iterator[str] | None) -> str:
    """A secret from standard input (`piped`), the environment, or typed twice."""
    if piped is not None:
        line = next(piped, None)
        if line is not None:
            return line.rstrip("\r\n")
    if os.environ.get(env):
        return os.environ[env]
    if not sys.stdin.isatty():
        raise Refused("roster.no_keyboard", what=what, setting=env)
    return _typed_twice(what[0].upper() + what[1:])


def _checked(args: argparse.Namespace, settings: Settings) -> tuple[str, list[str]]:
    """The phone number in E.164 and the topics, or Refused."""
    if not (args.name.strip() and args.phone.strip()):
        raise Refused("roster.name_and_phone")
    if not is_valid_number(args.phone):
        raise Refused("roster.not_a_number", phone=args.phone)
    topics, known = split(args.topics), known_topics(settings)
    unknown = [topic for topic in topics if topic not in known]
    if unknown:
        raise Refused(
            "roster.unknown_topics", unknown=", ".join(unknown), known=", ".join(sorted(known))
        )
    return e164(args.phone), topics


def cmd_mediators_list(args: argparse.Namespace) -> int:
    from mediation.roster import mediators

    from .cli import database

    say = operator_messages(OPERATOR)
    with database() as (_settings, session):
        found = mediators(session)
        for mediator in found:
            print(
                say(
                    "roster.mediator",
                    name=mediator.name,
                    phone=mask(mediator.phone),
                    topics=", ".join(mediator.topics) or say("roster.all_topics"),
                    state=say("roster.active" if mediator.active else "roster.inactive"),
                )
            )
    if not found:
        print(say("roster.none"))
    return 0


def cmd_mediators_add(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import IntegrityError

    from mediation.roster import MIN_PIN, add_mediator, valid_pin

    from .cli import database

    say = operator_messages(OPERATOR)
    with database() as (settings, session):
        piped = iter(sys.stdin.readline, "") if args.password_stdin else None
        try:
            phone, topics = _checked(args, settings)
            password = _secret(say("roster.password"), "RELAIS_NEW_PASSWORD", piped)
            if len(password) < MIN_PASSWORD:
                raise Refused("roster.short_password", count=MIN_PASSWORD)
            pin = None
            if args.pin:
                pin = _secret(say("roster.pin", count=MIN_PIN), "RELAIS_NEW_PIN", piped)
                if not valid_pin(pin):
                    raise Refused("roster.short_pin", count=MIN_PIN)
            add_mediator(
                session, args.name.strip(), phone, password, topics, split(args.languages), pin
            )
            session.commit()
        except Refused as refused:
            print(say("roster.refused", reason=say.of(refused)), file=sys.stderr)
            return 2
        except IntegrityError:
            print(say("roster.taken", phone=args.phone), file=sys.stderr)
            return 1
    print(say("roster.added", name=args.name.strip()))
    return 0
