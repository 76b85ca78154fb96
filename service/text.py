"""The one policy for user text that reaches GitLab, chat, email or a spreadsheet: neutralised where it is rendered.

Used by the planning steps, the executor, the notification messages and the reports alike: Markdown
(`neutralise`, `neutralise_line`, `md_link`), plain text (`plain`) and CSV cells (`csv_cell`). GitLab references in
user text (`#12`, `!12`, `group/project#12`) are made inert too; the bot's own references, composed from ids it
knows, are written beside the neutralised text with `ref` / `ref_text` and stay live.
"""

from __future__ import annotations

import html
import re

# GitLab usernames: letters, digits, `_`, `.`, `-`; not starting with `.`/`-` nor ending with `.`.
_USERNAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?")
# Names GitLab, Slack or Teams read as "everyone": never a person, never mentioned.
MASS_MENTIONS = frozenset({"all", "here", "channel", "everyone", "group", "project"})
WJ = "\u2060"  # WORD JOINER: invisible, and it breaks the pattern of a mention, a URL or a link in any renderer
_LINE_START_SLASH = re.compile(r"^(\s*)/", re.MULTILINE)
_TASK = re.compile(r"^\s*[-*] \[(?P<mark>[ xX~])\] (?P<text>.+)$")
# Markdown structure a user could use to make a link, an image, a code span or a table cell, or a task item.
_MARKDOWN = str.maketrans({"[": "&#91;", "]": "&#93;", "`": "&#96;", "|": "&#124;", "\\": "&#92;", "~": "&#126;"})
_SCHEME = re.compile(r"(?i)(javascript|vbscript|data|file|mailto)(\s*):")
_WWW = re.compile(r"(?i)www\.")
_AT = re.compile("@(?!" + WJ + ")")
_BROKEN_MENTION = re.compile("@" + WJ + r"([A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?)(?![A-Za-z0-9_.-])")
# (A numeric one needs no `;` in HTML5: `&#64all` decodes too.)
_ENTITY = re.compile(r"&(?=#|\w+;)")
# GitLab's references: `#12` (issue), `!12` (merge request), `&12` (epic), `$12` (snippet), also after a path
# (`group/project#12`). Live, each makes a link and a "mentioned in" note on what it names. Not the `#` of the
# entities `neutralise` itself writes (`&#91;`); a user's `&` is `&amp;` there.
_REFERENCE = re.compile(r"(?:(?<!&)#|!|\$|&(?:amp;)?)(?=[0-9])")
_LINK = re.compile(r"\](\s*)\(")
# OWASP's CSV injection rule: a cell starting with one of these is a formula (or becomes one) in a spreadsheet.
CSV_FORMULA = ("=", "+", "-", "@", "\t", "\r")
# A reference the bot writes itself: a GitLab path (not only digits: `42#5` would name project "42" nearby), a kind.
_PATH = re.compile(r"(?![0-9]+$)[A-Za-z0-9_][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_][A-Za-z0-9_.-]*)*")
_FULL_REF = re.compile(r"(?P<path>[^#!&$\s]*)(?P<kind>[#!&$])(?P<iid>[0-9]{1,18})")
REF_KINDS = frozenset("#!&$")  # issue, merge request, epic, snippet
# A URL the bot links to: http(s), and nothing that ends a Markdown link target or an HTML attribute early.
_SAFE_URL = re.compile(r"https?://[^\s<>()\[\]\"'`\\]+", re.IGNORECASE)


def _inert_links_and_mentions(text: str, *, references: bool) -> str:
    """Break what renderers turn into links or pings *after* Markdown: URLs, `www.`, schemes, `@name`, references.

    GitLab finds mentions, references and autolinks in the rendered text, where an entity
    such as `&#64;` is already an `@` again, so these get an invisible word joiner instead.
    """
    text = _AT.sub("@" + WJ, text)
    if references:
        text = _REFERENCE.sub(lambda m: m.group(0) + WJ, text)
    text = text.replace("://", ":" + WJ + "//")
    text = _SCHEME.sub(lambda m: m.group(1) + m.group(2) + ":" + WJ, text)
    return _WWW.sub("www" + WJ + ".", text)


def neutralise(text: str, *, references: bool = True) -> str:
    """User text made inert in GitLab Markdown: no raw HTML, mention, quick action, link, image, code or cell break.

    GitLab's references are broken too (`#12`, `!12`, `&12`, `$12`, `group/project#12`): a live one in user text
    would make a "mentioned in" note on what it names (perhaps a confidential issue) each time the bot quotes it.
    The bot's own references are not written through here but beside it (`ref`, `ref_text`); `references=False`
    is only for text that holds no user reference.
    """
    text = html.escape(text, quote=False).translate(_MARKDOWN)
    # GitLab runs a quick action only when `/command` starts a line.
    text = _LINE_START_SLASH.sub(r"\1&#47;", text)
    return _inert_links_and_mentions(text, references=references)


def neutralise_line(text: str, *, people: bool = False, references: bool = True) -> str:
    """`neutralise` for a one-line place (a heading, a table cell): line breaks become spaces.

    `people=True` keeps `@username` mentions of valid usernames (the bot's own timeline
    entries name the people involved); mass mentions such as `@all` stay inert.
    """
    text = neutralise(" ".join(text.split()), references=references)
    if people:
        text = _BROKEN_MENTION.sub(lambda m: "@" + m.group(1) if is_username(m.group(1)) else m.group(0), text)
    return text


def plain(text: str, *, angles: bool = True, references: bool = True) -> str:
    """User text made inert where it is shown as plain text (issue titles, chat, email, webhook JSON).

    No entities here (they would show as typed): mentions, URLs and Markdown links
    get a word joiner, and `<`/`>` become look-alike angle quotes unless the channel
    escapes them itself (`angles=False`, Slack). `references`: as for `neutralise`.
    """
    # A renderer that decodes entities (GitLab titles, Teams, a receiver's HTML) must not find `&#64;all` there.
    text = _ENTITY.sub("&" + WJ, text)
    text = _inert_links_and_mentions(text, references=references)
    text = _LINK.sub(lambda m: "]" + WJ + m.group(1) + "(", text)
    text = _LINE_START_SLASH.sub(lambda m: m.group(1) + WJ + "/", text)
    return text.replace("<", "\u2039").replace(">", "\u203a") if angles else text


def md_link(text: str, url: str | None) -> str:
    """`[text](url)` with the text neutralised; the text alone when the URL is not a plain http(s) one."""
    shown = neutralise_line(text)
    return f"[{shown}]({url})" if safe_url(url) else shown


def ref(project_path: str | None, kind: str, iid: int, url: str | None = None) -> str:
    """The bot's own GitLab reference, live: `group/project#12` (`kind` `#`, `!`, `&` or `$`), bare `#12` without a
    path; `[group/project#12](url)` when `url` is a plain http(s) one.

    Only for ids the bot knows (from GitLab, the index or a checked command). A path that is no GitLab path (a
    project's id, anything a person typed) is shown neutralised and names nothing.
    """
    if kind not in REF_KINDS or isinstance(iid, bool) or not isinstance(iid, int) or iid < 0:
        raise ValueError(f"not a GitLab reference: {kind!r} {iid!r}")
    path = project_path or ""
    shown = f"{path}{kind}{iid}" if not path or _PATH.fullmatch(path) else neutralise_line(f"{path}{kind}{iid}")
    return f"[{shown}]({url})" if safe_url(url) else shown


def ref_text(reference: str, url: str | None = None) -> str:
    """`ref` for a whole reference as GitLab or the bot spells it (`group/project!12`, `#12`); any other text
    (not a reference, or with a path that is none) is shown neutralised, linked only to a plain http(s) URL."""
    found = _FULL_REF.fullmatch(reference)
    if found is None or (found.group("path") and not _PATH.fullmatch(found.group("path"))):
        return md_link(reference, url)
    return ref(found.group("path"), found.group("kind"), int(found.group("iid")), url)


def safe_url(url: str | None) -> bool:
    """Whether `url` may be a link target: http(s), no space, quote, bracket or angle that could end it early."""
    return bool(url) and bool(_SAFE_URL.fullmatch(url or ""))


def csv_cell(value: object) -> str:
    """A CSV cell that no spreadsheet runs as a formula: a text starting with `= + - @`, tab or CR gets a `'` first.

    A carriage return inside becomes a line feed: the bot's CSV ends lines with `\n`, so the writer quotes
    a cell holding one, where a lone CR would be left bare and start a new row in a spreadsheet.
    """
    text = "" if value is None else str(value)
    text = "'" + text if text.startswith(CSV_FORMULA) else text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def is_username(name: str) -> bool:
    """True for a string GitLab accepts as a person's username (and not a mass mention such as `all`)."""
    return bool(_USERNAME.fullmatch(name)) and name.lower() not in MASS_MENTIONS


def mention(username: str) -> str:
    """`@username` for a valid GitLab username; anything else is shown neutralised and mentions nobody.

    Its `@`s become FULLWIDTH COMMERCIAL AT, which no renderer reads as a mention, so
    the result stays inert when a timeline entry is shown again with `people=True`.
    """
    return f"@{username}" if is_username(username) else neutralise_line(username.replace("@", "\uff20"))


def checklist_items(body: str, *, ticked: bool) -> list[str]:
    """The task-list items right after a checklist marker: ticked or unticked ones."""
    items: list[str] = []
    for line in body.splitlines():
        if not line.strip():
            if items:
                break
            continue
        match = _TASK.match(line)
        if not match:
            break
        done = match.group("mark") in "xX~"
        if done == ticked:
            items.append(match.group("text").strip())
    return items
