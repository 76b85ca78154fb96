"""What the bot writes outside a confidential incident's own issue is confidential too, or names nothing of it."""

from __future__ import annotations

import json
from typing import Any

from service.worker import process_delivery
from tests.conftest import body, payload

SECRET_TITLE = "Pangolin breach: customer card numbers exposed"


def run(name: str, key: str, **attrs: object) -> str:
    return process_delivery(body(name, **attrs), {"delivery_id": key, "event_uuid": f"uuid-{key}"})


def close_severe(fake, *, confidential: bool) -> dict[str, Any]:
    """Declare a severity 1 incident, close it; the review issue the bot opened."""
    fake.issues[(1, 23)].update(labels=["incident", "severity::1"], title=SECRET_TITLE, confidential=confidential)
    run("issue.open.incident", "k1", title=SECRET_TITLE, confidential=confidential)
    fake.issues[(1, 23)]["state"] = "closed"
    assert run("issue.close.incident", "k2", title=SECRET_TITLE, confidential=confidential).startswith("applied")
    (review,) = [i for k, i in fake.issues.items() if k != (1, 23)]
    return review


def test_a_confidential_incidents_review_is_confidential(fake, runtime) -> None:
    """Closing a confidential severity 1 incident opens its review as a confidential issue (GitLab is told so)."""
    review = close_severe(fake, confidential=True)
    assert review["confidential"] is True
    (create,) = [c for c in fake.writes() if c.method == "POST" and c.path == "/projects/1/issues"]
    assert create.body.get("confidential") is True
    assert f"Post-incident review opened: {review['web_url']}" in fake.bot_notes()[-1]["body"]


def test_an_open_incidents_review_stays_open(fake, runtime) -> None:
    """A non-confidential incident's review is an ordinary issue, as before."""
    review = close_severe(fake, confidential=False)
    assert review["confidential"] is False
    assert review["title"] == f"Post-incident review: {SECRET_TITLE}"


def test_a_drill_asked_from_a_confidential_incident_names_nothing_of_it(fake, runtime) -> None:
    """`@incident-bot drill` in a confidential incident opens a drill issue with nothing of that incident in it."""
    fake.issues[(1, 23)].update(labels=["incident", "severity::1"], title=SECRET_TITLE, confidential=True)
    run("issue.open.incident", "k1", title=SECRET_TITLE, confidential=True)
    data = payload("note.create.incident")
    data["object_attributes"]["note"] = "@incident-bot drill database-outage"
    data["issue"].update(title=SECRET_TITLE, confidential=True)
    assert process_delivery(json.dumps(data).encode(), {"delivery_id": "k2", "event_uuid": "u2"}).startswith("applied")
    (drill,) = [i for k, i in fake.issues.items() if k != (1, 23)]
    assert drill["title"] == "[DRILL] Primary database unreachable"
    shown = drill["title"] + drill["description"]
    assert "Pangolin" not in shown and "23" not in shown and "confidential" not in shown.lower()
    assert fake.links[(1, 23)] == [(1, drill["iid"])]  # GitLab lists a link only to those who can read both ends


def test_a_hostile_title_reaches_the_review_inert(fake, runtime) -> None:
    """The review's title copies the incident's as plain text: no live mention, link, image or quick action."""
    hostile = "@all ![x](http://evil/x.png) [click](http://evil) <details> /close"
    fake.issues[(1, 23)].update(labels=["incident", "severity::1"], title=hostile)
    run("issue.open.incident", "k1", title=hostile)
    fake.issues[(1, 23)]["state"] = "closed"
    run("issue.close.incident", "k2", title=hostile)
    (review,) = [i for k, i in fake.issues.items() if k != (1, 23)]
    assert review["title"].startswith("Post-incident review: ")
    assert not any(live in review["title"] for live in ("@all", "](", "://", "<details>"))
    assert not any(live in review["description"] for live in ("@all", "](", "http://evil", "<details>"))


def test_an_incident_made_confidential_after_its_review_takes_the_review_with_it(fake, runtime) -> None:
    """The review (title and timeline of the incident) becomes confidential when the incident does, once."""
    review = close_severe(fake, confidential=False)
    assert review["confidential"] is False
    fake.issues[(1, 23)]["confidential"] = True  # someone marks the closed incident confidential
    assert run("issue.update.title", "k3", title=SECRET_TITLE, confidential=True).startswith("applied")
    assert review["confidential"] is True
    puts = [c for c in fake.writes() if c.method == "PUT" and c.path == f"/projects/1/issues/{review['iid']}"]
    assert [c.body.get("confidential") for c in puts] == [True]
    run("issue.update.title", "k4", title=SECRET_TITLE, confidential=True)  # a later event changes nothing again
    puts = [c for c in fake.writes() if c.method == "PUT" and c.path == f"/projects/1/issues/{review['iid']}"]
    assert len(puts) == 1
