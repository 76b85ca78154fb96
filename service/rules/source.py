"""Safe YAML that remembers where every value came from, refuses duplicate keys, and is bounded.

A rules file is untrusted input to a long-running worker: it is read through libyaml's event
stream (the C scanner and parser are iterative, so nesting depth costs no C stack) and composed
here with an explicit stack. That keeps every bound in one place: nesting depth, the number of
values after alias expansion (billion laughs), and recursive aliases (`a: &a [*a]`), each
reported as a Problem with file and line instead of a RecursionError, a hang or a MemoryError.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[str | int, ...]

MAX_DEPTH = 64  # the schema's deepest legitimate path is ~12 (rules.N.when.any.N.not...)
MAX_VALUES = 100_000  # values in all the files of a load, after alias expansion; 2,000 rules have ~24,000
_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser when built with libyaml
_PLAIN_TAGS = frozenset({None, "!", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"})


@dataclass(frozen=True)
class Problem:
    """One mistake in a rules file, located by file and line (and rule, when inside one)."""

    file: str
    line: int
    message: str
    rule: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where}: rule {self.rule!r}: {self.message}" if self.rule else f"{where}: {self.message}"


@dataclass
class Located:
    """A parsed document plus the line of every path in it."""

    file: str
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)
    values: int = 0  # how many values the file holds, aliases expanded

    def line(self, path: Path_) -> int:
        """The line of `path`, or of its nearest located parent."""
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)


class _Stop(Exception):
    """A bound was exceeded: the file is abandoned with this one problem."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line, self.message = line, message


@dataclass
class _Open:
    """A mapping or sequence being composed."""

    value: dict[Any, Any] | list[Any]
    path: Path_
    anchor: str | None
    size: int = 1  # values inside, aliases counted at their expanded size
    key: Any = None
    key_line: int = 0
    has_key: bool = False
    skip: bool = False  # the pending key was refused: drop its value


class _Composer:
    """Builds plain Python data from parser events, with line numbers and bounds."""

    def __init__(self, loader: Any, out: Located, problems: list[Problem], max_values: int):
        self.loader, self.out, self.problems, self.max_values = loader, out, problems, max_values
        self.anchors: dict[str, tuple[Any, int]] = {}  # anchor -> (value, expanded size)
        self.open_anchors: set[str] = set()
        self.stack: list[_Open] = []
        self.total = 0
        self.result: Any = None
        self.resolvers = loader.yaml_implicit_resolvers  # first characters of ints, floats, bools, nulls...

    def run(self) -> Any:
        loader = self.loader
        loader.get_event()  # StreamStart
        if loader.check_event(yaml.StreamEndEvent):
            return None
        loader.get_event()  # DocumentStart
        while not loader.check_event(yaml.DocumentEndEvent):
            self.step(loader.get_event())
        loader.get_event()
        if not loader.check_event(yaml.StreamEndEvent):
            raise _Stop(loader.peek_event().start_mark.line + 1, "one YAML document per file")
        return self.result

    def step(self, event: Any) -> None:
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self.open_anchors:
                raise _Stop(line, f"recursive alias *{event.anchor} (it refers to a value that contains it)")
            if event.anchor not in self.anchors:
                raise _Stop(line, f"unknown alias *{event.anchor}")
            value, size = self.anchors[event.anchor]
            self.place(value, size, line)
        elif isinstance(event, yaml.ScalarEvent):
            self.place(self.scalar(event, line), 1, line)
        elif isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            if len(self.stack) >= MAX_DEPTH:
                raise _Stop(line, f"nested more than {MAX_DEPTH} levels deep")
            if event.tag not in _PLAIN_TAGS:
                raise _Stop(line, f"YAML tags are not allowed here: {event.tag}")
            path = self.child_path(line)
            self.out.lines.setdefault(path, line)
            container: dict[Any, Any] | list[Any] = {} if isinstance(event, yaml.MappingStartEvent) else []
            self.stack.append(_Open(container, path, event.anchor))
            if event.anchor:
                self.open_anchors.add(event.anchor)
        elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
            done = self.stack.pop()
            if done.anchor:
                self.open_anchors.discard(done.anchor)
                self.anchors[done.anchor] = (done.value, done.size)
            self.place(done.value, done.size, line, counted=True)

    def scalar(self, event: Any, line: int) -> Any:
        tag = event.tag
        if tag is None and event.value and (not event.implicit[0] or event.value[0] not in self.resolvers):
            value: Any = event.value  # a quoted string, or plain text no implicit type starts with: a str
            if event.anchor:
                self.anchors[event.anchor] = (value, 1)
            return value
        if tag is None or tag == "!":
            tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == "tag:yaml.org,2002:merge":
            raise _Stop(line, "merge keys (<<) are not supported: write the keys out")
        node = yaml.ScalarNode(
            tag,
            event.value,
            event.start_mark,
            event.end_mark,
            event.style,
        )
        try:
            value = self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:  # e.g. a 5,000-digit int, a bad timestamp
            raise _Stop(line, f"invalid value {event.value[:40]!r}: {str(exc).splitlines()[0][:120]}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise _Stop(line, f"numbers must be finite, not {event.value!r}")
        if event.anchor:
            self.anchors[event.anchor] = (value, 1)
        return value

    def child_path(self, line: int) -> Path_:
        if not self.stack:
            return ()
        parent = self.stack[-1]
        if isinstance(parent.value, list):
            return (*parent.path, len(parent.value))
        if not parent.has_key:
            raise _Stop(line, "mapping keys must be plain values")
        return (*parent.path, parent.key)

    def place(self, value: Any, size: int, line: int, counted: bool = False) -> None:
        """Put a finished value into its parent (or make it the document)."""
        if not counted:
            self.total += size
        if self.total > self.max_values:
            raise _Stop(
                line, f"more than {MAX_VALUES:,} values in the rules files (after expanding aliases): too large"
            )
        if not self.stack:
            self.result = value
            return
        parent = self.stack[-1]
        parent.size += size
        if isinstance(parent.value, list):
            self.out.lines.setdefault((*parent.path, len(parent.value)), line)
            parent.value.append(value)
            return
        if not parent.has_key:
            self.key(parent, value, line)
            return
        parent.has_key = False
        if parent.skip:
            return
        self.out.lines.setdefault((*parent.path, parent.key), parent.key_line)
        parent.value[parent.key] = value

    def key(self, parent: _Open, key: Any, line: int) -> None:
        parent.has_key, parent.skip, parent.key_line = True, True, line
        if isinstance(key, dict | list) or key is None:
            self.problems.append(Problem(self.out.file, line, "mapping keys must be plain values"))
            return
        if not isinstance(key, str | int | float | bool):
            self.problems.append(Problem(self.out.file, line, f"mapping keys must be plain values, not {key!r}"))
            return
        if key in parent.value:
            self.problems.append(Problem(self.out.file, line, f"duplicate key {key!r}"))
            return
        parent.skip = False
        parent.key = key if isinstance(key, str | int) else str(key)


def load(text: str, file: str, max_values: int = MAX_VALUES) -> tuple[Located, list[Problem]]:
    """Parse one YAML document with the safe loader; syntax errors and exceeded bounds become Problems."""
    out = Located(file=file, data=None)
    problems: list[Problem] = []
    loader = _Loader(text)
    composer = _Composer(loader, out, problems, max_values)
    try:
        out.data = composer.run()
        out.values = composer.total
    except _Stop as stop:
        out.data = None
        problems.append(Problem(file, stop.line, stop.message))
    except yaml.MarkedYAMLError as exc:
        out.data = None
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problems.append(Problem(file, line, f"YAML syntax: {exc.problem or exc.context}"))
    except yaml.YAMLError as exc:
        out.data = None
        problems.append(Problem(file, 1, f"YAML: {exc}"))
    finally:
        loader.dispose()
    return out, problems
