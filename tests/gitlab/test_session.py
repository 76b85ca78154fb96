"""The one GitLab session: errors by status, bounded retries and 429 waits, pagination, the event UUID, metrics."""

from __future__ import annotations

from typing import Any, cast

import pytest
import responses

import service.gitlab.session as session_module
from service.gitlab import PermanentGitLabError, Session, TransientGitLabError

BASE = "http://gitlab.test"


@pytest.fixture(autouse=True)
def _no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the waits instead of sleeping them."""
    waits: list[float] = []
    monkeypatch.setattr(session_module.time, "sleep", waits.append)
    return waits


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, PermanentGitLabError),
        (403, PermanentGitLabError),
        (404, PermanentGitLabError),
        (422, PermanentGitLabError),
        (429, TransientGitLabError),
        (500, TransientGitLabError),
        (503, TransientGitLabError),
    ],
)
def test_a_4xx_other_than_429_is_permanent_the_rest_transient(status: int, error: type) -> None:
    """The job's retry policy rests on this split: a 4xx but 429 fails for good, 429 and 5xx are retried."""
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, f"{BASE}/api/v4/user", status=status, json={"message": "no"})
        with pytest.raises(error) as raised:
            Session(BASE, token="t", retries=2).call("get", "/user", "the bot's user")
    assert cast(Any, raised.value).status == status and "the bot's user: GitLab answered" in str(raised.value)


def test_transient_answers_are_retried_a_bounded_number_of_times(_no_sleep: list[float]) -> None:
    """Two 502s then a 200: answered, after two short backoffs; three tries for `retries=2` at most."""
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, f"{BASE}/api/v4/user", status=502)
        rsps.add(responses.GET, f"{BASE}/api/v4/user", status=502)
        rsps.add(responses.GET, f"{BASE}/api/v4/user", json={"id": 1})
        assert Session(BASE, token="t", retries=2).call("get", "/user", "u") == {"id": 1}
    assert _no_sleep == [0.1, 0.2]


def test_429_waits_what_retry_after_asks_when_short_and_fails_now_when_long(_no_sleep: list[float]) -> None:
    """`Retry-After: 3` is waited out; `Retry-After: 3600` is not (a worker must not sleep an hour): transient now."""
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, f"{BASE}/api/v4/user", status=429, headers={"Retry-After": "3"})
        rsps.add(responses.GET, f"{BASE}/api/v4/user", json={"id": 1})
        assert Session(BASE, token="t").call("get", "/user", "u") == {"id": 1}
    assert _no_sleep == [3.0]
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, f"{BASE}/api/v4/user", status=429, headers={"Retry-After": "3600"})
        with pytest.raises(TransientGitLabError):
            Session(BASE, token="t").call("get", "/user", "u")
    assert _no_sleep == [3.0]


def test_no_answer_is_transient_and_says_unreachable() -> None:
    """A refused connection is retried, then a transient error with no status."""
    with pytest.raises(TransientGitLabError) as raised:
        Session("http://127.0.0.1:9", token="t", retries=1, timeout=1).call("get", "/user", "u")
    assert raised.value.unreachable and "GitLab unreachable" in str(raised.value)


def test_pages_follow_x_next_page_or_stop_at_a_short_page() -> None:
    """GitLab's `X-Next-Page` is followed; without it, a short page ends the listing."""
    with responses.RequestsMock() as rsps:
        url = f"{BASE}/api/v4/issues"
        rsps.add(responses.GET, url, json=[1, 2], headers={"X-Next-Page": "2"})
        rsps.add(responses.GET, url, json=[3], headers={"X-Next-Page": ""})
        assert list(Session(BASE, token="t").pages("/issues", "issues")) == [1, 2, 3]
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, url, json=list(range(100)))
        rsps.add(responses.GET, url, json=[100])
        assert len(list(Session(BASE, token="t").pages("/issues", "issues"))) == 101


def test_writes_of_a_bound_copy_carry_its_headers_reads_and_the_original_do_not() -> None:
    """`with_headers` (the delivery's event UUID) reaches that copy's writes only."""
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, f"{BASE}/api/v4/user", json={})
        rsps.add(responses.PUT, f"{BASE}/api/v4/projects/1/issues/2", json={})
        rsps.add(responses.PUT, f"{BASE}/api/v4/projects/1/issues/2", json={})
        base = Session(BASE, token="t")
        bound = base.with_headers({"X-Gitlab-Event-UUID": "u-1"})
        bound.call("get", "/user", "u")
        bound.call("put", "/projects/1/issues/2", "w", json={})
        base.call("put", "/projects/1/issues/2", "w", json={})
        sent = [c.request.headers.get("X-Gitlab-Event-UUID") for c in rsps.calls]
    assert sent == [None, "u-1", None]
    assert base.calls == 3  # one counter for the session and its copies
