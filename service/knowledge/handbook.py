"""The handbook as files or pages: every page rendered as Markdown (for a wiki) or HTML, written or checked."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from service.rules import RuleSet

from . import pages as P
from .alerts import alerts_page
from .areas import area_pages
from .drills import drills_page
from .pages import Page
from .paging import paging_page

FORMATS = ("md", "html")
# `code` spans and [text](page:slug#anchor) links: the only markup the handbook's text holds.
_INLINE = re.compile(r"`(?P<code>[^`]+)`|\[(?P<text>[^\]]+)\]\(page:(?P<slug>[a-z0-9-]+)(?:#(?P<anchor>[a-z0-9-]+))?\)")
_ENV = {
    fmt: jinja2.Environment(
        loader=jinja2.PackageLoader("service.knowledge", "templates"),
        autoescape=fmt == "html",  # noqa: S701 - Markdown is not HTML; the wiki renders and sanitises it
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    for fmt in FORMATS
}
Linker = Callable[[str, str], str]


def build(rules: RuleSet, *, bot: str = "incident-bot", now: datetime | None = None) -> list[Page]:
    """Every page of the handbook; `now` adds who is on call (live pages only: a committed copy would lie)."""
    areas = tuple(getattr(rules, "areas", {}).values())
    body = [
        P.severities_page(rules, areas),
        P.roles_page(rules, bot, now),
        P.phases_page(rules, areas),
        P.communication_page(rules, bot),
        P.commands_page(rules, bot),
        *area_pages(rules, areas),
        drills_page(rules, bot),
        alerts_page(rules),
        paging_page(rules, bot),
        P.glossary_page(rules),
    ]
    return [P.index_page(rules, bot, [(page.slug, page.title) for page in body]), *body]


def file_link(fmt: str) -> Linker:
    """Links between written files (`roles.md#eoc`)."""
    return lambda slug, anchor: f"{slug}.{fmt}" + (f"#{anchor}" if anchor else "")


def served_link(base: str = "/handbook") -> Linker:
    """Links between served pages (`/handbook/roles#eoc`)."""
    return lambda slug, anchor: (base if slug == P.INDEX else f"{base}/{slug}") + (f"#{anchor}" if anchor else "")


def inline(text: str, fmt: str, link: Linker) -> str:
    """The text with its code spans and page links in the format's markup (HTML: everything else escaped)."""
    out, at = [], 0
    for m in _INLINE.finditer(text):
        plain = text[at : m.start()]
        out.append(str(escape(plain)) if fmt == "html" else plain.replace("|", "\\|"))
        if m.group("code") is not None:
            code = m.group("code")
            out.append(f"<code>{escape(code)}</code>" if fmt == "html" else f"`{code}`")
        else:
            href = link(m.group("slug"), m.group("anchor") or "")
            label = m.group("text")
            out.append(f'<a href="{escape(href)}">{escape(label)}</a>' if fmt == "html" else f"[{label}]({href})")
        at = m.end()
    rest = text[at:]
    out.append(str(escape(rest)) if fmt == "html" else rest.replace("|", "\\|"))
    return "".join(out)


def render(page: Page, fmt: str, link: Linker, *, standalone: bool = True, nav: list[Page] | None = None) -> str:
    """One page as Markdown or HTML (`standalone`: a whole HTML document, else only the page's body)."""

    def text(value: str) -> str:
        html = inline(value, fmt, link)
        # inline() escaped every piece of rule text and built only <code> and <a> itself.
        return Markup(html) if fmt == "html" else html  # noqa: S704

    template = _ENV[fmt].get_template(f"page.{fmt}")
    navigation = [(link(p.slug, ""), p.title) for p in nav or []]
    return template.render(page=page, t=text, standalone=standalone, nav=navigation)


def write(rules: RuleSet, out: Path, fmt: str = "md", *, bot: str = "incident-bot") -> list[Path]:
    """Write every page into `out` (created); return the files written."""
    out.mkdir(parents=True, exist_ok=True)
    pages = build(rules, bot=bot)
    written = []
    for page in pages:
        path = out / f"{page.slug}.{fmt}"
        path.write_text(render(page, fmt, file_link(fmt), nav=pages), encoding="utf-8")
        written.append(path)
    return written


def stale(rules: RuleSet, committed: Path, *, bot: str = "incident-bot") -> list[str]:
    """What differs between `committed` and the handbook the rules make now (empty: up to date)."""
    fmts = [fmt for fmt in FORMATS if any(committed.glob(f"*.{fmt}"))] or ["md"]
    problems = []
    for fmt in fmts:
        pages = build(rules, bot=bot)
        expected = {f"{page.slug}.{fmt}": render(page, fmt, file_link(fmt), nav=pages) for page in pages}
        present = {path.name for path in committed.glob(f"*.{fmt}")}
        for name, text in sorted(expected.items()):
            path = committed / name
            if name not in present:
                problems.append(f"{path}: missing")
            elif path.read_text(encoding="utf-8") != text:
                problems.append(f"{path}: out of date")
        problems += [f"{committed / name}: no longer generated" for name in sorted(present - set(expected))]
    return problems
