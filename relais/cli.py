"""The `relais` command: one sub-command per action, each with only its own options
(`relais mediators add --name ...`, `relais models install fr`). Everything it says is in
French, for the mediators and the people who run Relais: its help, argparse's own texts
(usage, headings, errors; FrenchParser) and its messages."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from core.content_dirs import content_root, language_dirs
from core.settings import Settings, data_folder, existing_auth_token, load_settings
from dialogues.loader import check_content

from .cli_mediators import cmd_mediators_add, cmd_mediators_list

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
            "relais worker : RELAIS_REDIS_URL n'est pas réglé. `relais serve` fait alors les "
            "tâches lui-même : relais worker ne sert qu'avec Redis.",
            file=sys.stderr,
        )
        return 2
    print(f"relais worker : tâches prises dans {settings.redis_url.split('@')[-1]}", flush=True)
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
            f"#{message.id} {when} à {mask(message.to)} [{message.transport}, "
            f"{message.status}, {message.segments} SMS {message.encoding}]"
        )
        print("   " + message.body.replace("\n", "\n   "))
    if not messages:
        print("Aucun SMS envoyé ni gardé.")
    return 0


def cmd_models_list(args: argparse.Namespace) -> int:
    from speech.models import installed

    settings = load_settings()
    found = installed(settings.data_dir / "models")
    for lang, folder, size in found:
        print(f"{lang}  {size / 1e6:7.1f} Mo  {folder}")
    for lang, path in settings.vosk_models.items():
        print(f"{lang}  (RELAIS_VOSK_MODEL_{lang.upper()})  {path}")
    if not found and not settings.vosk_models:
        print(
            "Aucun modèle de reconnaissance de la voix : les appels marchent avec les touches "
            "seulement. Pour en installer un : relais models install fr"
        )
    return 0


def cmd_models_install(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from speech.models import OFFICIAL, ModelError, download, install

    models_dir = load_settings().data_dir / "models"
    try:
        archive = Path(args.file) if args.file else None
        if archive is None:
            url = args.url or OFFICIAL.get(args.lang)
            if not url:
                print(
                    f"relais models install : pas de modèle officiel connu pour « {args.lang} ». "
                    "Donnez son adresse (--url) ou son fichier (--file).",
                    file=sys.stderr,
                )
                return 2
            models_dir.mkdir(parents=True, exist_ok=True)
            archive = models_dir / f".{args.lang}-download.zip"
            with tqdm(unit="o", unit_scale=True, desc=f"téléchargement {args.lang}") as bar:

                def step(size: int, total: int) -> None:
                    bar.total = total or None
                    bar.update(size)

                download(url, archive, step)
        with tqdm(unit=" fichier", desc=f"installation {args.lang}") as bar:

            def unpacked(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            where = install(archive, models_dir, args.lang, unpacked)
    except ModelError as exc:
        print(f"relais models install : {exc}. Rien n'est installé.", file=sys.stderr)
        return 1
    finally:
        if not args.file:
            (models_dir / f".{args.lang}-download.zip").unlink(missing_ok=True)
    print(f"Le modèle de reconnaissance de la voix « {args.lang} » est installé dans {where}.")
    return 0


def cmd_prompts_render(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .app import voice_prompts

    cache, texts = voice_prompts(load_settings())
    if cache is None:
        print(
            "relais prompts render : pas de voix de synthèse ici (pyttsx3 avec espeak-ng). "
            "Les appels utilisent la voix de Twilio (<Say>).",
            file=sys.stderr,
        )
        return 1
    todo = cache.missing(texts)
    with tqdm(total=len(todo), unit=" phrase", desc="préparation") as bar:
        cache.render(todo, bar.update)
    print(f"{len(texts)} phrases, dont {len(todo)} préparées maintenant, dans {cache.directory}")
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
            print("Rien n'est gardé sur ce numéro.")
            return 0
    print(
        "Tout ce qui était gardé sur ce numéro est supprimé : appels, messages, "
        "enregistrements, demandes."
    )
    return 0


# argparse's own texts (usage, headings, errors), as argparse asks gettext for them; the
# keys are Python's own msgids. A text missing here (a newer Python's) stays in English.
FRENCH = {
    "usage: ": "utilisation : ",
    "positional arguments": "arguments",
    "options": "options",
    "show this help message and exit": "afficher cette aide",
    "argument %(argument_name)s: %(message)s": "%(argument_name)s : %(message)s",
    "unrecognized arguments: %s": "option ou argument inconnu : %s",
    "the following arguments are required: %s": "il manque : %s",
    "one of the arguments %s is required": "il faut l'un de ceux-ci : %s",
    "expected one argument": "il manque sa valeur",
    "expected at most one argument": "une valeur au plus",
    "expected at least one argument": "il faut au moins une valeur",
    "expected %s argument": "il faut %s valeur",
    "expected %s arguments": "il faut %s valeurs",
    "not allowed with argument %s": "pas en même temps que %s",
    "ignored explicit argument %r": "cette option ne prend pas de valeur (« %s » en trop)",
    "invalid choice: %(value)r (choose from %(choices)s)": (
        "« %(value)s » n'existe pas (au choix : %(choices)s)"
    ),
    "invalid %(type)s value: %(value)r": "valeur incorrecte : « %(value)s »",
    "ambiguous option: %(option)s could match %(matches)s": (
        "option pas assez précise : %(option)s peut être %(matches)s"
    ),
    "unexpected option string: %s": "option inattendue : %s",
    "unknown parser %(parser_name)r (choices: %(choices)s)": (
        "« %(parser_name)s » n'existe pas (au choix : %(choices)s)"
    ),
}


@contextmanager
def _french() -> Iterator[None]:
    """argparse's texts in French while the block runs (argparse calls the module's `_`
    and `ngettext`, imported from gettext, each time it writes a text)."""
    saved = argparse._, argparse.ngettext

    def plural(one: str, many: str, n: int) -> str:
        text = one if n == 1 else many
        return FRENCH.get(text, text)

    argparse._ = lambda text: FRENCH.get(text, text) if text else text
    argparse.ngettext = plural
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved


class FrenchFormatter(argparse.HelpFormatter):
    """Headings as French writes them: "options :" (argparse adds the colon)."""

    def start_section(self, heading: str | None) -> None:
        super().start_section(f"{heading} " if heading else heading)


class FrenchParser(argparse.ArgumentParser):
    """An argparse parser that says everything in French and takes only its own options:
    an option of another action (`relais mediators list --name x`) is refused by the
    action's own parser, with its usage and where to find its help."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("formatter_class", FrenchFormatter)
        kwargs.setdefault("allow_abbrev", False)  # `--pass` is not taken for `--password-stdin`
        with _french():
            super().__init__(**kwargs)

    def parse_known_args(self, args=None, namespace=None):
        with _french():
            namespace, extras = super().parse_known_args(args, namespace)
            if extras:  # refused here, so the error names this action, not `relais`
                self.error(FRENCH["unrecognized arguments: %s"] % " ".join(extras))
        return namespace, extras

    def format_usage(self) -> str:
        with _french():
            return super().format_usage()

    def format_help(self) -> str:
        with _french():
            return super().format_help()

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog} : erreur : {message}\nPour l'aide : {self.prog} --help\n")


def whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"« {text} » n'est pas un nombre entier") from None


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


def _actions(parser: argparse.ArgumentParser, name: str) -> argparse._SubParsersAction:
    """The sub-commands of a command with several actions (`relais mediators add|list`)."""
    return parser.add_subparsers(
        dest=name, required=True, title="actions", metavar="ACTION", parser_class=FrenchParser
    )


def build_parser() -> argparse.ArgumentParser:
    parser = FrenchParser(
        prog="relais",
        description="Relais, l'assistant par téléphone et par SMS. Une commande par action : "
        "`relais COMMANDE --help` dit ce qu'elle fait et ses options.",
    )
    sub = parser.add_subparsers(
        dest="command",
        required=True,
        title="commandes",
        metavar="COMMANDE",
        parser_class=FrenchParser,
    )
    content = (
        "dossier du contenu (par défaut : RELAIS_CONTENT_DIR ou le dossier content/ de Relais)"
    )
    running = "adresse d'un Relais déjà lancé (par défaut : en lancer un ici)"
    caller = "numéro de la personne (par défaut : +33612345678)"

    serve = _action(sub, "serve", "répondre aux appels et aux SMS (le serveur)", cmd_serve)
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        metavar="ADRESSE",
        help="adresse où écouter (par défaut : 127.0.0.1)",
    )
    serve.add_argument(
        "--port", type=whole_number, default=8000, help="port où écouter (par défaut : 8000)"
    )
    serve.add_argument(
        "--workers",
        type=whole_number,
        default=1,
        metavar="N",
        help="nombre de processus (par défaut : 1, avec waitress ; plus de 1 : avec gunicorn)",
    )

    worker = _action(
        sub,
        "worker",
        "faire les tâches lentes prises dans Redis, à côté de `relais serve` (RELAIS_REDIS_URL)",
        cmd_worker,
    )
    worker.add_argument(
        "--burst", action="store_true", help="s'arrêter quand il n'y a plus de tâche"
    )

    check = _action(
        sub,
        "check",
        "vérifier le contenu : chaque erreur avec son fichier, sa ligne et pourquoi",
        cmd_check,
    )
    check.add_argument("--content", metavar="DOSSIER", help=content)
    check.add_argument(
        "--speech",
        action="store_true",
        help="exiger aussi un modèle de reconnaissance de la voix qui connaît chaque mot "
        "des réponses",
    )

    attempt = _action(
        sub,
        "try",
        "ce que Relais comprend d'un message : les 3 meilleurs sujets et pourquoi",
        cmd_try,
    )
    attempt.add_argument(
        "text", nargs="+", metavar="TEXTE", help="un ou plusieurs messages, chacun entre guillemets"
    )
    attempt.add_argument(
        "--content",
        metavar="DOSSIER",
        help="dossier du contenu d'une langue (par défaut : celui des réglages)",
    )

    call = _action(sub, "call", "simuler un appel, comme Twilio le fait, et l'afficher", cmd_call)
    call.add_argument(
        "--from", dest="sender", default="+33612345678", metavar="NUMÉRO", help=caller
    )
    call.add_argument(
        "--keys",
        metavar="TOUCHES",
        help="les touches tapées à chaque question, par ex. 1,2,1 (le mot silence : aucune touche)",
    )
    call.add_argument(
        "--say", nargs="*", metavar="FICHIER", help="fichiers WAV dits aux questions suivantes"
    )
    call.add_argument("--url", metavar="ADRESSE", help=running)

    sms = _action(sub, "sms", "simuler un SMS et afficher les réponses de Relais", cmd_sms)
    sms.add_argument("--from", dest="sender", default="+33612345678", metavar="NUMÉRO", help=caller)
    sms.add_argument("--url", metavar="ADRESSE", help=running)
    sms.add_argument("text", metavar="TEXTE", help="le message, entre guillemets")

    outbox = _action(sub, "outbox", "lister les SMS que Relais a envoyés ou gardés", cmd_outbox)
    outbox.add_argument(
        "--limit",
        type=whole_number,
        default=20,
        metavar="N",
        help="combien, les derniers (par défaut : 20)",
    )

    models = _actions(
        _action(sub, "models", "les modèles de reconnaissance de la voix : install, list"), "action"
    )
    install = _action(models, "install", "installer le modèle d'une langue", cmd_models_install)
    install.add_argument("lang", metavar="LANGUE", help="la langue, par ex. fr")
    source = install.add_mutually_exclusive_group()
    source.add_argument(
        "--url",
        metavar="ADRESSE",
        help="le zip du modèle à télécharger (par défaut : le modèle officiel)",
    )
    source.add_argument("--file", metavar="ZIP", help="le zip du modèle, déjà sur cet ordinateur")
    _action(models, "list", "lister les modèles installés", cmd_models_list)

    prompts = _actions(_action(sub, "prompts", "les phrases dites au téléphone : render"), "action")
    _action(
        prompts, "render", "préparer le son des phrases qui ne l'ont pas encore", cmd_prompts_render
    )

    mediators = _actions(_action(sub, "mediators", "les médiateurs : add, list"), "action")
    add = _action(
        mediators, "add", "ajouter un médiateur et son compte du tableau de bord", cmd_mediators_add
    )
    add.add_argument("--name", required=True, metavar="NOM", help='son nom, par ex. "Amina B."')
    add.add_argument(
        "--phone",
        required=True,
        metavar="NUMÉRO",
        help="le téléphone où il prend les appels, par ex. 06 12 34 56 78",
    )
    add.add_argument(
        "--topics", metavar="SUJETS", help="par ex. caf,emploi (par défaut : tous les sujets)"
    )
    add.add_argument(
        "--languages", metavar="LANGUES", help="par ex. fr (par défaut : toutes les langues)"
    )
    add.add_argument(
        "--pin",
        action="store_true",
        help="demander aussi un code pour la ligne des médiateurs (ou le lire dans RELAIS_NEW_PIN)",
    )
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="lire le mot de passe sur la 1re ligne de l'entrée standard (et le code sur la 2e)",
    )
    _action(mediators, "list", "lister les médiateurs", cmd_mediators_list)

    _action(
        sub,
        "purge",
        "supprimer les enregistrements et les textes plus vieux que RELAIS_RETENTION_DAYS "
        "(`relais serve` le fait aussi chaque jour)",
        cmd_purge,
    )

    forget = _action(
        sub, "forget", "supprimer tout ce qui est gardé sur un numéro de téléphone", cmd_forget
    )
    forget.add_argument("number", metavar="NUMÉRO", help="le numéro, par ex. 06 12 34 56 78")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
