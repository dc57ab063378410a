"""The `relais` command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dialogues.loader import check_content

from .content_dirs import content_root, language_dirs


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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
