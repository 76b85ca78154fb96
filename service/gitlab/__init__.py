"""Every GitLab call of the bot: one Session (REST and GraphQL, retries, 429, pagination, metrics), one error
hierarchy, GitLab's JSON read into the project's types once, and the clients built on them.

`session` (the HTTP session), `errors`, `parse` (issue, note, user JSON), `client` (the delivery job's
`GitLabClient` and `BotClient`, `for_delivery`), `together` (calls sent at once, on daemon threads), `ops` (setup,
doctor, reconcile), `history` (reindex), `issues` (issue edits, the digest's project issues), `oauth`
(the board's sign-in). Nothing outside this package talks to GitLab (tests/test_layout.py checks it).
"""

from .client import BotClient, GitLabClient
from .errors import GitLabError, PermanentGitLabError, TransientGitLabError, UnexpectedAnswer
from .parse import User
from .session import Session

__all__ = [
    "BotClient",
    "GitLabClient",
    "GitLabError",
    "PermanentGitLabError",
    "Session",
    "TransientGitLabError",
    "UnexpectedAnswer",
    "User",
]
