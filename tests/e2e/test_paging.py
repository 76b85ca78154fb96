"""Paging end to end on a fast clock: gunicorn web, a real RQ worker, Redis, the fake GitLab over HTTP, a real
local receiver per channel (HTTP) and for e-mail (SMTP). A paging minute lasts a fraction of a second."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from redis import Redis

from service.paging import tokens
from tests.conftest import test_redis_url
from tests.e2e.harness import wait_until
from tests.fakegitlab import FakeGitLab, FakeGitLabServer
from tests.paging.helpers import (
    SECRET,
    Receivers,
    assert_whole_escalation,
    declare_severity_1,
    notes,
    paging_stack,
)
from tests.paging.pagingrules import paging_rules

pytestmark = pytest.mark.e2e


@pytest.fixture()
def rules_dir(tmp_path: Path) -> Path:
    return paging_rules(tmp_path / "paging")


@pytest.fixture()
def receivers(rules_dir: Path) -> Iterator[Receivers]:
    found = Receivers(rules_dir)
    yield found
    found.close()


def test_nobody_acknowledges_every_level_then_the_broadcast(
    tmp_path: Path, fake_server: FakeGitLabServer, gitlab: FakeGitLab, redis_conn: Redis, rules_dir, receivers
) -> None:
    """Unacknowledged, the page runs every level twice (repeat: 1), each page once, then tells `responders`."""
    stack = paging_stack(tmp_path, fake_server.url, test_redis_url(), rules_dir, "0.1", **receivers.env())
    try:
        stack.start_web()
        stack.start_worker()
        declare_severity_1(stack, gitlab)
        wait_until(lambda: "Nobody acknowledged the page" in "\n".join(notes(gitlab)), timeout=60, what="the end")
        wait_until(lambda: len(receivers.http["responders"].delivered) >= 2, what="the broadcast sent")
        wait_until(stack.settled, timeout=60, what="nothing left to run or scheduled")  # a second send would be
        assert_whole_escalation(receivers, gitlab)
        body = json.loads(receivers.pages("pager-carol")[0])
        assert set(body) == {"text", "attachments"} and "Checkout returns 500 errors" in body["text"]
    finally:
        stack.stop()
        print(stack.output())


def _link(receivers: Receivers) -> str:
    text = json.loads(receivers.pages("pager-carol")[0])["text"]
    return text.split("[Acknowledge](", 1)[1].split(")", 1)[0]


def test_the_ack_link(
    tmp_path: Path, fake_server: FakeGitLabServer, gitlab: FakeGitLab, redis_conn: Redis, rules_dir, receivers
) -> None:
    """GET is harmless; POST acknowledges and stops the escalation; replayed, forged, expired links are refused."""
    links = {"INCIDENT_BOT_PUBLIC_URL": "https://bot.example.com/some/path", "INCIDENT_BOT_ACK_SECRET": SECRET}
    stack = paging_stack(tmp_path, fake_server.url, test_redis_url(), rules_dir, "1", **receivers.env(), **links)
    try:
        stack.start_web()
        stack.start_worker()
        declare_severity_1(stack, gitlab)
        wait_until(lambda: receivers.pages("pager-carol"), what="carol paged")
        link = _link(receivers)
        assert link.startswith("https://bot.example.com/ack/")
        local = stack.url + urlsplit(link).path
        seen = requests.get(local, timeout=5)
        assert seen.status_code == 200 and "@eoc-carol" in seen.text and 'method="post"' in seen.text
        assert seen.headers["Referrer-Policy"] == "no-referrer" and seen.headers["Cache-Control"] == "no-store"
        wait_until(stack.idle, what="the deliveries' queue idle")  # an acknowledgement would be queued by now
        assert not any("Page acknowledged" in n for n in notes(gitlab))  # GET changed nothing
        assert requests.post(local, timeout=5).status_code == 200
        wait_until(lambda: any("Page acknowledged by @eoc-carol through the link" in n for n in notes(gitlab)))
        assert requests.post(local, timeout=5).status_code == 409  # single use
        assert requests.get(local, timeout=5).status_code == 409
        token = urlsplit(link).path.rsplit("/", 1)[1]
        body, signature = token.split(".")
        claims = json.loads(tokens._unb64(body))
        someone_else = tokens._b64(json.dumps({**claims, "u": "im-alice"}).encode()) + "." + signature
        assert requests.post(f"{stack.url}/ack/{someone_else}", timeout=5).status_code == 403
        expired = tokens.issue(SECRET, (1, "gitlabhq/gitlab-test"), 23, claims["g"], "eoc-carol", int(time.time()) - 1)
        assert requests.post(f"{stack.url}/ack/{expired}", timeout=5).status_code == 410
        assert requests.post(f"{stack.url}/ack/not-a-token", timeout=5).status_code == 400
        # Level 1's step falls due after its 5 paging minutes and runs: then nothing is left that could page.
        wait_until(stack.settled, timeout=60, what="nothing left to run or scheduled")
        assert receivers.pages("pager-bob") == [] and len(receivers.pages("pager-carol")) == 1
        assert not any("Not acknowledged" in n for n in notes(gitlab))
    finally:
        stack.stop()
        print(stack.output())


def test_links_are_off_by_default(tmp_path: Path, fake_server: FakeGitLabServer, redis_conn: Redis, rules_dir) -> None:
    """Without a public URL and a secret, /ack/ answers 404 whatever the token."""
    stack = paging_stack(tmp_path, fake_server.url, test_redis_url(), rules_dir, "1")
    try:
        stack.start_web(workers=1)
        token = tokens.issue(SECRET, (1, "p"), 23, "abc", "eoc-carol", int(time.time()) + 60)
        assert requests.get(f"{stack.url}/ack/{token}", timeout=5).status_code == 404
        assert requests.post(f"{stack.url}/ack/{token}", timeout=5).status_code == 404
    finally:
        stack.stop()
