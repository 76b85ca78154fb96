"""A GitLab answer the bot cannot read fails its job once, logs its shape (never its values); the issue moves on."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from rq.job import JobStatus

from tests.bursts import failure
from tests.conftest import body
from tests.worker.helpers import run_queued

SECRET_TITLE = "Payroll export leaks salaries"


def test_issue_answer_without_labels_fails_once_and_the_next_delivery_applies(
    fake, runtime, redis_conn, caplog
) -> None:
    """GitLab answers issue 1#23 once without `labels`: that job fails without retry, the log line shows the
    answer's keys and types (not its title), and the issue's next delivery is applied."""
    fake.add_issue(title=SECRET_TITLE)
    route = fake.route
    mangled: list[str] = []

    def answer(
        method: str, path: str, query: dict[str, str], data: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        status, found, extra = route(method, path, query, data, headers)
        if method == "GET" and path == "/projects/1/issues/23" and not mangled:
            mangled.append(path)
            found = {k: v for k, v in found.items() if k != "labels"}
        return status, found, extra

    fake.route = answer
    caplog.set_level(logging.INFO, logger="incident_bot")
    bad_job, good_job = run_queued(
        redis_conn, "unreadable", [("bad", body("issue.open.incident")), ("good", body("issue.open.incident"))]
    )
    assert mangled
    assert bad_job.get_status() == JobStatus.FAILED
    assert len(bad_job.results()) == 1  # run once, never retried
    lines = [r.getMessage() for r in caplog.records if "labels" in r.getMessage() and r.levelno >= logging.ERROR]
    assert lines, caplog.text
    assert "'iid': int" in lines[0] and "'title': str" in lines[0]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and SECRET_TITLE in r.getMessage()]
    assert SECRET_TITLE not in failure(bad_job)
    assert good_job.get_status() == JobStatus.FINISHED
    assert {"severity::3", "incident::identification"} <= fake.labels()
    assert len(fake.bot_notes()) == 1


def test_shape_names_keys_and_types_only() -> None:
    """The shape of an answer: nested keys and type names, no value, bounded."""
    from service.gitlab.errors import shape

    described = shape({"iid": 3, "title": "secret", "author": {"username": "eve"}, "assignees": [{"id": 1}], "x": None})
    assert described == "{'iid': int, 'title': str, 'author': {'username': str}, 'assignees': [{'id': int}], 'x': null}"
    assert "secret" not in described and "eve" not in described
    assert len(shape({f"k{i}": i for i in range(500)})) < 1000


@pytest.mark.parametrize(
    ("path", "answer", "call"),
    [
        ("/user", {"name": "Incident Bot"}, lambda c: c.current_user()),
        ("/projects/1/issues/23/links", [{"title": "x"}], lambda c: c.linked_issues(1, 23)),
        ("/projects/1/issues/23/notes", [{"body": "x"}], lambda c: list(c.iter_notes(1, 23))),
    ],
)
def test_every_answer_the_client_reads_fails_with_its_shape(path: str, answer: object, call: Any) -> None:
    """The bot's user, an issue's links and its notes, answered without the field read: UnexpectedAnswer, the shape."""
    import responses

    from service.gitlab import BotClient, UnexpectedAnswer

    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, f"http://gitlab.test/api/v4{path}", json=answer)
        with pytest.raises(UnexpectedAnswer) as raised:
            call(BotClient("http://gitlab.test", "token"))
    assert "shape" in str(raised.value) and "'x'" not in str(raised.value)
