"""The Jinja sandbox rule templates compile and render in, with bounded work and output.

Jinja's sandbox stops attribute tricks, not work: `{{ 'x' * 4000000000 }}` is constant-folded
while compiling (a MemoryError or a long hang before any render), nested loops over
`range(100000)` run for hours, `{% set s = s ~ s %}` doubles a string each line. A template
is written by whoever may edit `rules/`, and a worker compiles and renders it on every reload
and delivery, so every way to make work from a short source is bounded here:

- arithmetic is intercepted, which also keeps Jinja from folding it at compile time;
- every loop iteration, call, filter and operator draws on one step budget per render (or per
  rules load, which renders every template); `~` concatenation is bounded;
- calls and filters refuse huge numeric arguments and results past MAX_TEXT;
- the source and the rendered output are bounded too, and nesting too deep for Jinja's
  recursive parser and compiler is a syntax error instead of a RecursionError.

Exceeding a bound raises SecurityError (a TemplateError), reported at load with file and line.
"""

from __future__ import annotations

import contextvars
import operator
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment, SecurityError
from jinja2.visitor import NodeTransformer

MAX_SOURCE = 10_000  # characters of template source; the shipped ones are under 1,000; ~0.25 s to compile
MAX_TEXT = 200_000  # characters of any string, items of any list, and of a rendered template
MAX_STEPS = 100_000  # loop iterations, calls, filters and operators in one render
MACRO_STEPS = 20
MAX_INT_BITS = 4_096  # big enough for any count, small enough that arithmetic stays instant
_WIDE_FORMAT = re.compile(r"%[-#0 +]*(\d{4,}|\*)|%[-#0 +]*\d*\.(\d{4,}|\*)|\{[^}]*[:,]\D*\d{4,}")
_BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": operator.pow,
}
_steps: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("template_steps", default=None)


def _too_big(what: str) -> SecurityError:
    return SecurityError(f"template bound exceeded: {what}")


@contextmanager
def step_budget(steps: int) -> Iterator[None]:
    """Renders inside share one budget of `steps` (a rules load renders every template once per sample)."""
    token = _steps.set([steps])
    try:
        yield
    finally:
        _steps.reset(token)


def _charge(steps: int = 1) -> None:
    budget = _steps.get()
    if budget is None:
        return  # compile-time folding of filters on constants: bounded by the source
    budget[0] -= steps
    if budget[0] < 0:
        raise _too_big("too much work (loop iterations, calls, filters and operators)")


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | list | tuple | dict) else 0


def _check_number(value: Any) -> None:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise _too_big(f"numbers over {MAX_INT_BITS} bits")


def _check_text(value: Any) -> Any:
    if _size(value) > MAX_TEXT:
        raise _too_big(f"values over {MAX_TEXT:,} characters or items")
    _check_number(value)
    return value


def _check_args(args: Iterable[Any]) -> None:
    for arg in args:
        if isinstance(arg, int | float) and not isinstance(arg, bool) and abs(arg) > MAX_TEXT:
            raise _too_big(f"numeric arguments over {MAX_TEXT:,}")


def _precheck_call(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse calls whose result would be huge before making it (str.replace, str.join, str.format...)."""
    _check_args([*args, *kwargs.values()])
    obj = getattr(obj, "__wrapped__", obj)  # the sandbox wraps str.format at attribute access
    owner, name = getattr(obj, "__self__", None), getattr(obj, "__name__", "")
    if isinstance(owner, str):
        if name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
            hits = owner.count(args[0]) if args[0] else len(owner) + 1
            if hits * len(args[1]) + len(owner) > MAX_TEXT:
                raise _too_big(f"values over {MAX_TEXT:,} characters or items")
        elif name == "join" and args and isinstance(args[0], list | tuple):
            if sum(_size(a) for a in args[0]) + len(owner) * len(args[0]) > MAX_TEXT:
                raise _too_big(f"values over {MAX_TEXT:,} characters or items")
        elif name in ("format", "format_map") and _WIDE_FORMAT.search(owner):
            raise _too_big("format widths over 999")


def _bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that refuses huge arguments and results; replace/join/indent are checked before running."""

    def bounded(*args: Any, **kwargs: Any) -> Any:
        plain = [a for a in args if not isinstance(a, jinja2.runtime.Context | jinja2.Environment)]
        _check_args(plain[1:] + list(kwargs.values()))
        value = plain[0] if plain else None
        _charge(1 + _size(value) // 100)  # `map` and `list` over long lists cost in proportion
        if name == "replace" and len(plain) >= 3 and isinstance(value, str):
            _precheck_call(value.replace, (str(plain[1]), str(plain[2])), {})
        elif name == "join" and isinstance(value, list | tuple):
            sep = str(plain[1]) if len(plain) > 1 else ""
            _precheck_call(sep.join, (list(value),), {})
        elif name == "indent" and isinstance(value, str):
            width = plain[1] if len(plain) > 1 else kwargs.get("width", 4)
            if (value.count("\n") + 1) * (width if isinstance(width, int) else len(str(width))) > MAX_TEXT:
                raise _too_big(f"values over {MAX_TEXT:,} characters or items")
        elif name == "format" and isinstance(value, str) and _WIDE_FORMAT.search(value):
            raise _too_big("format widths over 999")
        return _check_text(func(*args, **kwargs))

    for attr in ("jinja_pass_arg",):  # keep Jinja's @pass_context / @pass_environment marks
        if hasattr(func, attr):
            setattr(bounded, attr, getattr(func, attr))
    return bounded


class BoundedTemplate(jinja2.Template):
    """A template whose render shares one loop budget and whose output is bounded."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        """Render within the current budget (or a fresh one of MAX_STEPS); refuse output past MAX_TEXT."""
        token = _steps.set(_steps.get() or [MAX_STEPS])
        try:
            out, size = [], 0
            for chunk in self.generate(*args, **kwargs):
                size += len(chunk)
                if size > MAX_TEXT:
                    raise _too_big(f"output over {MAX_TEXT:,} characters")
                out.append(chunk)
            return "".join(out)
        finally:
            _steps.reset(token)


class BoundedSandbox(SandboxedEnvironment):
    """SandboxedEnvironment plus bounds on the work and memory a template can cause."""

    template_class = BoundedTemplate
    intercepted_binops = frozenset(_BINOPS)  # intercepted operators are never constant-folded

    def __init__(self, **options: Any) -> None:
        super().__init__(optimized=False, **options)
        self.globals.pop("lipsum", None)  # lipsum(n) writes n paragraphs
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        """Arithmetic whose result size is checked before it is computed."""
        _charge()
        for value in (left, right):
            _check_number(value)
        if operator == "*":
            count, seq = (right, left) if _size(left) else (left, right)
            if _size(seq) and isinstance(count, int) and _size(seq) * max(count, 0) > MAX_TEXT:
                raise _too_big(f"values over {MAX_TEXT:,} characters or items")
        elif operator == "**":
            if isinstance(right, int) and isinstance(left, int) and abs(left) > 1:
                if right > MAX_INT_BITS or left.bit_length() * right > MAX_INT_BITS:
                    raise _too_big(f"numbers over {MAX_INT_BITS} bits")
        elif operator == "%" and isinstance(left, str) and _WIDE_FORMAT.search(left):
            raise _too_big("format widths over 999")
        elif operator == "+" and _size(left) + _size(right) > MAX_TEXT:
            raise _too_big(f"values over {MAX_TEXT:,} characters or items")
        return _check_text(_BINOPS[operator](left, right))

    def call(__self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        """Sandboxed call, refusing arguments that would make a huge result."""
        # A macro call costs ~20 loop iterations of Python work: charged so, 2**30 nested calls stop in ~0.3 s.
        _charge(MACRO_STEPS if isinstance(__obj, jinja2.runtime.Macro) else 1)
        _precheck_call(__obj, args, kwargs)
        return _check_text(super().call(__context, __obj, *args, **kwargs))

    def bounded_iter(self, iterable: Iterable[Any]) -> Iterator[Any]:
        """Every `{% for %}` iterates through here: one budget of MAX_STEPS per render."""
        for item in iterable:
            _charge()
            yield item

    def bounded_concat(self, parts: list[Any]) -> str:
        """`a ~ b`: refused past MAX_TEXT characters."""
        text = "".join(str(p) for p in parts)  # each part is already bounded; two of them are not
        return str(_check_text(text))

    def compile(self, source: Any, name: str | None = None, filename: str | None = None, *a: Any, **k: Any) -> Any:
        """Compile, turning a RecursionError of Jinja's parser or code generator into a syntax error."""
        try:
            return super().compile(source, name, filename, *a, **k)
        except RecursionError:
            raise jinja2.TemplateSyntaxError("template nested too deeply", 1, name, filename) from None

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        if len(source) > MAX_SOURCE:
            raise jinja2.TemplateSyntaxError(f"template longer than {MAX_SOURCE:,} characters", 1, name, filename)
        tree = super()._parse(source, name, filename)
        return _Bound().visit(tree)


class _Bound(NodeTransformer):
    """Route every loop and every `~` through the environment's bounded helpers."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _helper("bounded_iter", node.iter, node.lineno)  # type: ignore[arg-type]
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _helper("bounded_concat", nodes.List(node.nodes, lineno=node.lineno), node.lineno)


def _helper(name: str, arg: nodes.Expr, lineno: int) -> nodes.Expr:
    return nodes.Call(nodes.EnvironmentAttribute(name, lineno=lineno), [arg], [], None, None, lineno=lineno)
