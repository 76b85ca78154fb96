"""GitLab references in user text name nothing where the bot quotes it; the bot's own references still do.

Through the real delivery job against the one fake GitLab and the index: an incident titled with a reference to
another project's issue and to a merge request is declared, relayed by `update`, resolved (the review issue opens),
and put in the week's digest issue. A live `group/other#5` in any of them would link it and put a "mentioned in"
note on that issue (perhaps a confidential one) each time the bot quotes the title.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
from datetime import timedelta

from redis import Redis

from service.incident import strip_memory
from service.reports.digest import ReportingProject, run_digest
from service.rules import RuleSet
from service.rules.settings import DigestSettings
from service.store import Store
from service.worker import process_delivery
from tests.conftest import GITLAB, NOW, payload
from tests.fakegitlab import FakeGitLab

TITLE = "broke group/other#5 and !7"
BOT = "incident-bot"
REPORTING = 7  # the digest's reporting project
REFERENCE = re.compile(r"[#!&$][0-9]")  # as GitLab reads the shown text (entities decoded)
INCIDENT_URL = "http://gitlab.test/group/project/-/issues/23"


def references(text: str, *own: str) -> list[str]:
    """The live references in `text` as GitLab shows it, the bot's own (`own`, each required present) aside.

    Code spans are the bot's own words (the help's `!123`): nothing in one is a reference."""
    shown = html.unescape(strip_memory(text))
    for ref in own:
        assert ref in shown, (ref, shown)
        shown = shown.replace(ref, "")
    return REFERENCE.findall(re.sub(r"`[^`\n]*`", "", shown))


def quoted(text: str) -> bool:
    """The title is there, read as it was written (the word joiners are invisible)."""
    return TITLE in html.unescape(text).replace("\u2060", "")


def deliver(name: str, key: str, **attrs: object) -> str:
    data = payload(name)
    data["object_attributes"].update(attrs)
    return process_delivery(json.dumps(data).encode(), {"delivery_id": key})


def test_an_incident_titled_with_references_mentions_nothing(
    fake: FakeGitLab, runtime, indexed: Store, rules: RuleSet, redis_conn: Redis
) -> None:
    """Declaration, `update` relay, review issue and digest quote the title with no live reference of it; the review
    links the incident and the digest names it by its own reference."""
    fake.issues[(1, 23)].update(title=TITLE, labels=["incident", "severity::1"])
    started = (NOW - timedelta(minutes=30)).isoformat()
    assert deliver("issue.open.incident", "open", title=TITLE, created_at=started).startswith("applied")
    declaration = fake.bot_notes()[0]["body"]
    assert quoted(declaration) and references(declaration) == []

    note = payload("note.create.incident")
    note["object_attributes"].update(note=f"@{BOT} update rolled back, see {TITLE}", action="create")
    process_delivery(json.dumps(note).encode(), {"delivery_id": "update"})
    relay = fake.bot_notes()[-1]["body"]
    assert "Status update recorded" in relay and quoted(relay) and references(relay) == []

    fake.issues[(1, 23)]["state"] = "closed"
    deliver("issue.close.incident", "close", title=TITLE, created_at=started)
    (review,) = [issue for key, issue in fake.issues.items() if key != (1, 23)]
    assert quoted(review["title"]) and references(review["title"]) == []
    assert references(review["description"]) == [] and INCIDENT_URL in review["description"]  # the bot's link
    assert all(references(n["body"]) == [] for n in fake.bot_notes()), "a bot comment names group/other#5 or !7"

    digest = DigestSettings(channels=(), project=str(REPORTING))
    weekly = dataclasses.replace(rules, settings=dataclasses.replace(rules.settings, digest=digest))
    env: dict[str, str] = {}
    ran = run_digest(
        store=indexed,
        rules=weekly,
        connection=redis_conn,
        now=NOW + timedelta(days=1),
        env=env,
        gitlab=ReportingProject(GITLAB, "test-token", redis_conn),
    )
    assert ran.issue_created and not ran.failures, ran
    (issue,) = [i for (p, _), i in fake.issues.items() if p == REPORTING]
    assert quoted(issue["description"]), issue["description"]
    own = payload("issue.open.incident")["project"]["path_with_namespace"] + "#23"
    assert references(issue["description"], own) == []  # the bot's own reference, live
