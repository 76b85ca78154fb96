"""Safe YAML that remembers where every value came from and refuses duplicate keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[str | int, ...]


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

    def line(self, path: Path_) -> int:
        """The line of `path`, or of its nearest located parent."""
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)


def _scalar(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    return loader.construct_object(node, deep=True)


def _build(loader: yaml.SafeLoader, node: yaml.Node, path: Path_, out: Located, problems: list[Problem]) -> Any:
    out.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(loader, key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str | int | float | bool) or key is None:
                problems.append(Problem(out.file, key_node.start_mark.line + 1, "mapping keys must be plain values"))
                continue
            if key in result:
                problems.append(Problem(out.file, key_node.start_mark.line + 1, f"duplicate key {key!r}"))
                continue
            child = key if isinstance(key, str | int) else str(key)
            result[key] = _build(loader, value_node, (*path, child), out, problems)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*path, i), out, problems) for i, item in enumerate(node.value)]
    return _scalar(loader, node)  # type: ignore[arg-type]


def load(text: str, file: str) -> tuple[Located, list[Problem]]:
    """Parse one YAML document with the safe loader; syntax errors become Problems."""
    out = Located(file=file, data=None)
    problems: list[Problem] = []
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            out.data = _build(loader, node, (), out, problems)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problems.append(Problem(file, line, f"YAML syntax: {exc.problem or exc.context}"))
    except yaml.YAMLError as exc:
        problems.append(Problem(file, 1, f"YAML: {exc}"))
    finally:
        loader.dispose()
    return out, problems
