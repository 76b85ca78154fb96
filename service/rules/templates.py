"""The one Jinja environment of the rules (bounded sandbox), shared by loading and planning."""

from __future__ import annotations

import jinja2

from .sandbox import BoundedSandbox

TEMPLATES = BoundedSandbox(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)


def template_error(exc: jinja2.TemplateError) -> str:
    """A template error as one line for a `file:line` problem."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return f"{exc.message} (template line {exc.lineno})"
    return str(exc)
