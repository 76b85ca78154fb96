"""The one fake GitLab of the tests, faked only at the HTTP boundary.

`FakeGitLab` is one model (`core`: issues, notes, users, members, links, resource events; `ops`: projects,
groups, labels, hooks, tokens, listings; `deployments`: the Deployments API and the hooks of its deployments;
`graphql`; `mergerequests`: deployments' merge requests, their diffs and notes; `oauth`: the board's sign-in;
`people`: people's actions
returning the webhook bodies GitLab would deliver; `limits`: GitLab's 400 for a description or note over
1,000,000 characters). `serve` puts it behind `responses` in process or a real
HTTP server; every call is recorded with its timing, `latency`/`delay` slow calls, and `rounds` counts the
sequential round trips a piece of work made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .core import BOT, USERS, Call, Core, iso, stamp
from .deployments import Deployments
from .graphql import GraphQL
from .mergerequests import MergeRequests
from .oauth import OAuth, Person
from .ops import HOOK_FIELDS, Ops
from .people import People
from .rounds import rounds
from .serve import FakeGitLabServer, install_responses, wsgi


@dataclass
class FakeGitLab(OAuth, Ops, Core, GraphQL, People, Deployments, MergeRequests):
    """A pretend GitLab: everything the bot, its commands, reindex, the digest and the board sign-in call."""


def ops_fake(**fields: Any) -> FakeGitLab:
    """The fake as the operations tests set it up: the bot and the rotation people are Developers."""
    fake = FakeGitLab(**fields)
    fake.members.setdefault(BOT["id"], 30)
    for uid in range(21, 29):  # the test rules' rotation people (tests/rulesdir.py)
        fake.members.setdefault(uid, 30)
    return fake


def signing_in(**person: Any) -> FakeGitLab:
    """The fake with one person who signs in to the board (`Person`'s fields)."""
    return FakeGitLab(person=Person(**person))


def history_fake(**fields: Any) -> FakeGitLab:
    """The fake for played histories: time is what each action says (no tick between writes)."""
    return FakeGitLab(auto_tick=False, **fields)


__all__ = [
    "BOT", "HOOK_FIELDS", "USERS", "Call", "FakeGitLab", "FakeGitLabServer", "Person", "history_fake",
    "install_responses", "iso", "ops_fake", "rounds", "signing_in", "stamp", "wsgi",
]  # fmt: skip
