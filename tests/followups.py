"""Deliveries about follow-ups (issue 20) for the tests: comments on an incident or review, Issue Hooks of follow-ups.

Each goes through the real delivery job (`process_delivery`, as an RQ worker runs it) against the fake GitLab.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
from datetime import UTC, datetime
from typing import Any

from service.incident import strip_memory
from service.rules import RuleSet, load_rules
from service.worker import process_delivery
from tests.conftest import body, payload
from tests.fakegitlab import FakeGitLab
from tests.rulesdir import TEST_RULES

LABEL = "corrective-action"
# The bot's own links (`[group/project#501](http://...)`): GitLab makes no reference or mention inside a link's text.
BOT_LINK = re.compile(r"\[[^\[\]]*\]\(https?://[^)\s]*\)")
# What GitLab would make live in the text it shows: a mention, an issue/MR/epic/snippet reference, a URL, a scheme.
LIVE = re.compile(r"(?<![\w\u2060])@[A-Za-z0-9_]|[#!&$][0-9]|://|www\.|(?i:javascript|data|vbscript|mailto):(?!\u2060)")


def comment(
    note: str,
    *,
    iid: int = 23,
    user: str = "alice",
    uid: int = 7,
    key: str = "",
    incident: bool = True,
    labels: tuple[str, ...] = (),
    project: tuple[int, str] | None = None,
) -> str:
    """`user` comments `note` on issue 1#`iid` (an incident, or a plain issue with `labels`, such as a review), or
    on `project` (id, path) #`iid`."""
    data: dict[str, Any] = payload("note.create.incident")
    data["user"] = {**data["user"], "id": uid, "username": user, "name": user.title()}
    data["object_attributes"]["note"] = note
    data["object_attributes"]["id"] = abs(hash(key or note)) % 10**9
    data["issue"]["iid"] = iid
    if project is not None:
        data["project_id"] = data["project"]["id"] = data["object_attributes"]["project_id"] = project[0]
        data["issue"]["project_id"], data["project"]["path_with_namespace"] = project
    if not incident:
        data["issue"]["labels"], data["issue"]["type"] = [{"title": label} for label in labels], "Issue"
    return process_delivery(json.dumps(data).encode(), {"delivery_id": key or f"note-{iid}-{note[:40]}"})


def issue_hook(fake: FakeGitLab, iid: int, key: str, *, project_id: int = 1, previous: list[str] | None = None) -> str:
    """The Issue Hook GitLab sends for issue `project_id`#`iid` as the fake has it now (labels before: `previous`)."""
    issue = fake.issues[(project_id, iid)]
    data: dict[str, Any] = payload("issue.update.severity")
    attrs = data["object_attributes"]
    attrs.update(iid=iid, title=issue["title"], description=issue["description"], url=issue["web_url"])
    attrs.update(state=issue["state"], type="Issue", project_id=project_id, due_date=issue.get("due_date"))
    attrs["labels"] = data["labels"] = [{"title": label} for label in issue["labels"]]
    data["project"]["id"] = project_id
    data["assignees"] = [{"username": a["username"], "id": a["id"]} for a in issue["assignees"]]
    before = issue["labels"] if previous is None else previous
    data["changes"] = {"labels": {"previous": [{"title": x} for x in before], "current": attrs["labels"]}}
    return process_delivery(json.dumps(data).encode(), {"delivery_id": key})


def follow_up_issues(fake: FakeGitLab) -> list[dict[str, Any]]:
    """The issues carrying the follow-up label, in the order they were made."""
    return [i for _, i in sorted(fake.issues.items()) if LABEL in i["labels"]]


def list_note(fake: FakeGitLab, iid: int = 23) -> str:
    """The bot's "Follow-ups" note on issue 1#`iid` ('' when there is none)."""
    found = [n["body"] for n in fake.bot_notes(1, iid) if "incident-bot:follow-ups" in n["body"]]
    assert len(found) <= 1, found  # kept in place: never a second one
    return found[0] if found else ""


def last_reply(fake: FakeGitLab, iid: int = 23) -> str:
    """The bot's newest note on issue 1#`iid` that is not the Follow-ups list."""
    notes = [n["body"] for n in fake.bot_notes(1, iid) if "incident-bot:follow-ups" not in n["body"]]
    return notes[-1] if notes else ""


def live(text: str) -> list[str]:
    """The live mentions, references and links in `text` as GitLab finally shows it (the bot's own links aside)."""
    return LIVE.findall(html.unescape(BOT_LINK.sub("", strip_memory(text))))


def at(day: str) -> datetime:
    """10:00 UTC on `day` (YYYY-MM-DD): when the tests run the overdue pass."""
    return datetime.fromisoformat(f"{day}T10:00:00+00:00").astimezone(UTC)


def declare_severity_1(fake: FakeGitLab, *, confidential: bool = False) -> None:
    """Incident 1#23 declared (`confidential`, or not), then raised to severity 1 (the incident manager, im-alice,
    staffed)."""
    opened = json.loads(body("issue.open.incident"))
    opened["object_attributes"]["confidential"] = confidential
    fake.issues[(1, 23)]["confidential"] = confidential
    process_delivery(json.dumps(opened).encode(), {"delivery_id": "open-23"})
    fake.issues[(1, 23)]["labels"] = ["incident", "severity::1", "severity::3", "incident::identification"]
    data = payload("issue.update.severity")
    data["project"]["id"] = data["object_attributes"]["project_id"] = 1
    data["object_attributes"]["confidential"] = confidential
    process_delivery(json.dumps(data).encode(), {"delivery_id": "sev-1"})


def written(fake: FakeGitLab, project_id: int, iid: int) -> str:
    """Everything the bot wrote in an issue: its description when the bot opened it, and its notes."""
    issue = fake.issues[(project_id, iid)]
    return "\n".join([issue["description"], *(n["body"] for n in fake.bot_notes(project_id, iid))])


def open_incident(
    fake: FakeGitLab,
    iid: int,
    labels: list[str],
    project: tuple[int, str] = (1, "group/project"),
    *,
    confidential: bool = False,
) -> None:
    """Incident `project`#`iid` opened with `labels` (GitLab has them too) and declared by the bot. Project 1's
    deliveries say its path is `gitlabhq/gitlab-test` (the payload fixtures')."""
    data = json.loads(body("issue.open.incident"))
    data["object_attributes"].update(iid=iid, confidential=confidential)
    data["labels"] = data["object_attributes"]["labels"] = [{"title": label} for label in labels]
    if project[0] != 1:
        data["project"].update(id=project[0], path_with_namespace=project[1])
        data["object_attributes"]["project_id"] = project[0]
    title = f"Checkout errors again ({iid})"
    fake.add_issue(project[0], iid, labels=labels, title=title, path=project[1], confidential=confidential)
    assert process_delivery(json.dumps(data).encode(), {"delivery_id": f"open-{iid}"}).startswith("applied")


def rules_with_followups_in(project: str) -> RuleSet:
    """The shipped rules with follow-ups opened (and adoptable) in `project` (`followups.project`)."""
    shipped = load_rules(TEST_RULES)
    followups = dataclasses.replace(shipped.settings.followups, project=project)
    return dataclasses.replace(shipped, settings=dataclasses.replace(shipped.settings, followups=followups))
