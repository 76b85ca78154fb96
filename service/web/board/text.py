"""User text on the board: the project's plain-text neutralisation policy, then Jinja's autoescape.

`plain` (no mention, link or quick action survives; see service/text.py) with `angles=False`
because the page escapes `<` and `>` itself; line breaks become spaces in one-line places.
"""

from __future__ import annotations

from functools import lru_cache

try:  # the policy moves to service.handlers.text in the package refactor (issue 8)
    from service.handlers.text import plain
except ImportError:  # pragma: no cover - before the move
    from service.text import plain

MAX_CHARS = 300  # a title on a wall display; the full text is in GitLab


@lru_cache(maxsize=8192)  # a board repeats the same names and refs on every refresh
def user_text(text: str, limit: int = MAX_CHARS) -> str:
    """A user's string made inert for one line of a page (autoescape does the HTML part)."""
    one_line = " ".join(str(text).split())
    if len(one_line) > limit:
        one_line = one_line[: limit - 1] + "…"
    return plain(one_line, angles=False)


def own_ref(reference: str) -> str:
    """The bot's own reference (`group/project#12`, from ids the index keeps) as a page shows it: nothing of it is
    live on a page, so its `#12` is left as written; a mention or link in it would still be made inert."""
    return plain(" ".join(str(reference).split()), angles=False, references=False)
