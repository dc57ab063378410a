"""`relais mediators add` and `relais mediators list`: the mediators and their dashboard
accounts, in French for the people who run Relais.

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

from core.phones import e164, is_valid_number, mask
from core.settings import Settings

MIN_PASSWORD = 10  # characters of a dashboard password


class Refused(Exception):
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
    try:
        first = getpass.getpass(f"{prompt} : ")
        again = getpass.getpass(f"{prompt}, encore une fois : ")
    except (EOFError, KeyboardInterrupt):
        raise Refused("Arrêté. Rien n'est enregistré.") from None
    if again != first:
        raise Refused("Les deux ne sont pas pareils. Rien n'est enregistré : recommencez.")
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
        raise Refused(
            f"Pas de clavier pour taper {what}. Donnez-le sur l'entrée standard avec "
            f"--password-stdin (une ligne), ou dans la variable {env}."
        )
    return _typed_twice(what[0].upper() + what[1:])


def _checked(args: argparse.Namespace, settings: Settings) -> tuple[str, list[str]]:
    """The phone number in E.164 and the topics, or Refused."""
    if not (args.name.strip() and args.phone.strip()):
        raise Refused('Il faut un nom et un numéro : --name "Amina B." --phone 06...')
    if not is_valid_number(args.phone):
        raise Refused(
            f"« {args.phone} » n'est pas un numéro de téléphone. "
            "Écrivez-le comme 06 12 34 56 78 ou +33 6 12 34 56 78."
        )
    topics, known = split(args.topics), known_topics(settings)
    unknown = [topic for topic in topics if topic not in known]
    if unknown:
        raise Refused(
            f"Sujet inconnu : {', '.join(unknown)}. "
            f"Les sujets possibles : {', '.join(sorted(known))}."
        )
    return e164(args.phone), topics


def cmd_mediators_list(args: argparse.Namespace) -> int:
    from mediation.roster import mediators

    from .cli import database

    with database() as (_settings, session):
        found = mediators(session)
        for mediator in found:
            topics = ", ".join(mediator.topics) or "tous les sujets"
            print(
                f"{mediator.name}  {mask(mediator.phone)}  {topics}  "
                f"{'actif' if mediator.active else 'inactif'}"
            )
    if not found:
        print("Aucun médiateur. Pour en ajouter un : relais mediators add")
    return 0


def cmd_mediators_add(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import IntegrityError

    from mediation.roster import MIN_PIN, add_mediator, valid_pin

    from .cli import database

    with database() as (settings, session):
        piped = iter(sys.stdin.readline, "") if args.password_stdin else None
        try:
            phone, topics = _checked(args, settings)
            password = _secret("le mot de passe du tableau de bord", "RELAIS_NEW_PASSWORD", piped)
            if len(password) < MIN_PASSWORD:
                raise Refused(f"Le mot de passe doit avoir {MIN_PASSWORD} caractères ou plus.")
            pin = None
            if args.pin:
                pin = _secret(
                    f"le code du téléphone des médiateurs ({MIN_PIN} chiffres ou plus)",
                    "RELAIS_NEW_PIN",
                    piped,
                )
                if not valid_pin(pin):
                    raise Refused(f"Le code doit avoir {MIN_PIN} chiffres ou plus.")
            add_mediator(
                session, args.name.strip(), phone, password, topics, split(args.languages), pin
            )
            session.commit()
        except Refused as refused:
            print(f"relais mediators add : {refused}", file=sys.stderr)
            return 2
        except IntegrityError:
            print(
                f"relais mediators add : un médiateur a déjà le numéro {args.phone}.",
                file=sys.stderr,
            )
            return 1
    print(f"{args.name.strip()} est ajouté : son compte du tableau de bord est prêt.")
    return 0
