"""YAML reading that remembers where each value came from (file and line), so every content
error can point a non-programmer to the exact place to fix."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# How a severity is written for the people who edit the content.
SEVERITY_WORDS = {"error": "erreur", "warning": "conseil"}


@dataclass(frozen=True, order=True)
class Problem:
    """One finding of the content check: an error blocks loading, a warning does not.
    Shown to content authors in French: "erreur" (blocks) or "conseil" (does not)."""

    file: str
    line: int
    message: str
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        severity = SEVERITY_WORDS.get(self.severity, self.severity)
        return f"{self.file}:{self.line}: {severity}: {self.message}"


class ContentError(Exception):
    """Content that cannot be used. Carries every error found, each with file and line."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class LocatedMap(dict):
    """A YAML mapping that knows its own line and the line of each of its keys."""

    file: str = ""
    line: int = 0

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[Any, int] = {}

    def line_of(self, key: Any) -> int:
        return self.lines.get(key, self.line)


class LocatedList(list):
    """A YAML sequence that knows its own line and the line of each item."""

    file: str = ""
    line: int = 0

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[int] = []

    def line_of(self, index: int) -> int:
        return self.lines[index] if index < len(self.lines) else self.line


class _Loader(yaml.SafeLoader):
    """PyYAML's own parser, whose error messages are those `_YAML_REASONS` words."""

    relais_file = ""


class _FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's parser when PyYAML has it (about 4 times faster): a file it cannot parse
    is read again by `_Loader`, for the message."""

    relais_file = ""


# YAML 1.1 reads yes, no, on and off as true or false: "no" is a word people say. Only
# true and false stay booleans (as in YAML 1.2).
for _loader in (_Loader, _FastLoader):
    _loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    _loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool",
        re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
        list("tTfF"),
    )


def _construct_map(loader: _Loader, node: yaml.MappingNode):
    mapping = LocatedMap()
    mapping.file = loader.relais_file
    mapping.line = node.start_mark.line + 1
    yield mapping
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in mapping:
            raise ContentError(
                [
                    Problem(
                        loader.relais_file, line, f"'{key}' est écrit deux fois dans le même bloc"
                    )
                ]
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.lines[key] = line


def _construct_list(loader: _Loader, node: yaml.SequenceNode):
    items = LocatedList()
    items.file = loader.relais_file
    items.line = node.start_mark.line + 1
    yield items
    for item_node in node.value:
        items.append(loader.construct_object(item_node, deep=True))
        items.lines.append(item_node.start_mark.line + 1)


for _loader in (_Loader, _FastLoader):
    _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
    _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_list)


# PyYAML's most common reasons, in words a content author understands (others stay as is).
_YAML_REASONS = {
    "expected <block end>, but found '<block sequence start>'": (
        "un tiret « - » n'est pas aligné avec les autres"
    ),
    "expected <block end>, but found ']'": "un crochet « ] » en trop",
    "expected <block end>, but found '<scalar>'": (
        "un texte n'est pas au bon endroit : vérifiez les espaces au début de la ligne"
    ),
    "mapping values are not allowed here": (
        "un deux-points « : » dans un texte : mettez le texte entre guillemets"
    ),
    "found character '\\t' that cannot start any token": (
        "une tabulation : utilisez 2 espaces à la place"
    ),
    "found unexpected end of stream": "un guillemet n'est pas fermé",
    "could not find expected ':'": "il manque un deux-points « : » après un nom",
}


def _parse(loader_class: type, text: str, shown_as: str) -> object:
    loader = loader_class(text)
    loader.relais_file = shown_as
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def read_yaml(path: Path, shown_as: str) -> LocatedMap:
    """Parse one content file. `shown_as` is the name used in error messages."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        problem = Problem(shown_as, 1, f"le fichier n'est pas du texte UTF-8 ({exc.reason})")
        raise ContentError([problem]) from None
    try:
        data = _parse(_FastLoader, text, shown_as)
    except yaml.MarkedYAMLError:
        try:
            data = _parse(_Loader, text, shown_as)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 1
            reason = _YAML_REASONS.get(exc.problem or "", exc.problem or "le YAML ne se lit pas")
            raise ContentError([Problem(shown_as, line, f"écriture YAML : {reason}")]) from None
    if data is None:
        data = LocatedMap()
        data.file, data.line = shown_as, 1
    if not isinstance(data, LocatedMap):
        raise ContentError(
            [Problem(shown_as, 1, "le fichier doit être une liste de noms suivis de deux-points")]
        )
    return data
