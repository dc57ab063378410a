"""YAML reading that remembers where each value came from (file and line), so every content
error can point a non-programmer to the exact place to fix."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .messages import Messages


@dataclass(frozen=True, order=True)
class Problem:
    """One finding of the content check: an error blocks loading, a warning does not.
    Shown to content authors with its severity in their words (checks.yaml's `severity`:
    "erreur" blocks, "conseil" does not)."""

    file: str
    line: int
    message: str
    severity: str  # "error" or "warning"
    severity_word: str = field(compare=False)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.severity_word}: {self.message}"


def problem(
    say: Messages, file: str, line: int, key: str, severity: str = "error", /, **values: object
) -> Problem:
    """The problem whose reason is the message `key` of checks.yaml."""
    return Problem(file, line, say(key, **values), severity, say(f"severity.{severity}"))


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
    """PyYAML's own parser, whose error messages checks.yaml's `yaml_reasons` words."""

    relais_file = ""
    relais_say: Messages


class _FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's parser when PyYAML has it (about 4 times faster): a file it cannot parse
    is read again by `_Loader`, for the message."""

    relais_file = ""
    relais_say: Messages


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
                [problem(loader.relais_say, loader.relais_file, line, "yaml.twice", key=key)]
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


def _parse(loader_class: type, text: str, shown_as: str, say: Messages) -> object:
    loader = loader_class(text)
    loader.relais_file, loader.relais_say = shown_as, say
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def read_yaml(path: Path, shown_as: str, say: Messages) -> LocatedMap:
    """Parse one content file. `shown_as` is the name used in error messages, `say` the
    content check's messages (checks.yaml)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ContentError(
            [problem(say, shown_as, 1, "yaml.not_utf8", reason=exc.reason)]
        ) from None
    try:
        data = _parse(_FastLoader, text, shown_as, say)
    except yaml.MarkedYAMLError:
        try:
            data = _parse(_Loader, text, shown_as, say)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 1
            # PyYAML's most common reasons in words a content author understands.
            reason = say.get(f"yaml_reasons.{exc.problem}", exc.problem or say("yaml.unknown"))
            found = problem(say, shown_as, line, "yaml.unreadable", reason=reason)
            raise ContentError([found]) from None
    if data is None:
        data = LocatedMap()
        data.file, data.line = shown_as, 1
    if not isinstance(data, LocatedMap):
        raise ContentError([problem(say, shown_as, 1, "yaml.not_names")])
    return data
