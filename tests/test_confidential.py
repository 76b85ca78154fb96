"""What the bot writes outside a confidential incident's own issue is confidential too, or names nothing of it."""

from __future__ import annotations

from service.worker import process_delivery
from tests.conftest import body

SECRET_TITLE = "Pangolin breach: customer card numbers exposed"


def run(name: str, key: str, **attrs: object) -> str:
    return process_delivery(body(name, **attrs), {"delivery_id": key, "event_uuid": f"uuid-{key}"})


def close_severe(fake, *, confidential: bool) -> dict:  # type: ignore[no-untyped-def, type-arg]
    """Declare a severity 1 incident, close it; the review issue the bot opened."""
    fake.issues[(1, 23)].update(labels=["incident", "severity::1"], title=SECRET_TITLE, confidential=confidential)
    run("issue.open.incident", "k1", title=SECRET_TITLE, confidential=confidential)
    fake.issues[(1, 23)]["state"] = "closed"
    assert run("issue.close.incident", "k2", title=SECRET_TITLE, confidential=confidential).startswith("applied")
    (review,) = [i for k, i in fake.issues.items() if k != (1, 23)]
    return review


def test_a_confidential_incidents_review_is_confidential(fake, runtime) -> None:  # type: ignore[no-untyped-def]
    """Closing a confidential severity 1 incident opens its review as a confidential issue (GitLab is told so)."""
    review = close_severe(fake, confidential=True)
    assert review["confidential"] is True
    (create,) = [c for c in fake.writes() if c.method == "POST" and c.path == "/projects/1/issues"]
    assert create.body.get("confidential") is True
    assert f"Post-incident review opened: {review['web_url']}" in fake.bot_notes()[-1]["body"]


def test_an_open_incidents_review_stays_open(fake, runtime) -> None:  # type: ignore[no-untyped-def]
    """A non-confidential incident's review is an ordinary issue, as before."""
    review = close_severe(fake, confidential=False)
    assert review["confidential"] is False
    assert review["title"] == f"Post-incident review: {SECRET_TITLE}"
