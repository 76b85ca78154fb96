"""Notification delivery against real local receivers (HTTP, SMTP) and a real RQ worker on real Redis."""

from __future__ import annotations

import hashlib
import hmac
import logging
import pickle
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from redis import Redis
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry

from service.keys import Keys
from service.notify import (
    Channel,
    ChannelConfigError,
    ChannelKind,
    DeliveryError,
    Message,
    configured_channels,
    deliver,
    enqueue_notification,
    notification_job_id,
    notification_payload,
    resolve,
    sent_marker_key,
)
from service.notify.channels import SIGNATURE_HEADER, TIMESTAMP_HEADER, Target
from tests.bursts import run_worker
from tests.conftest import test_redis_url
from tests.receivers import SECRET_PATH, HttpReceiver, SmtpReceiver, free_port

TITLE = "Checkout fails for EU customers"
URL = "https://gitlab.example.com/shop/checkout/-/issues/42"
SECRET = "s3cret-signing-key"
FAST_RETRIES = (0, 1)  # one immediate retry, then one through RQ's scheduler


def incident(**changes: object) -> Message:
    """A severity 1 incident in mitigation with two roles staffed."""
    fields: dict[str, Any] = {
        "kind": "escalated",
        "title": TITLE,
        "project": "shop/checkout",
        "iid": 42,
        "url": URL,
        "severity": 1,
        "severity_name": "critical",  # the rules' name for severity 1
        "phase": "mitigation",
        "roles": (("Incident Manager", "alice"), ("Engineer On Call", "bob")),
        "change": "severity 2 → 1",
        "text": "Payments provider returns 502 for EU cards since 10:02 UTC.",
    }
    fields.update(changes)
    return Message(**fields)


@pytest.fixture
def http() -> Iterator[HttpReceiver]:
    """A recording HTTP receiver."""
    receiver = HttpReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    """A recording SMTP server."""
    receiver = SmtpReceiver()
    yield receiver
    receiver.close()


def target_for(kind: str, address: str, **env: str) -> Target:
    """Resolve a channel of `kind` whose env var holds `address`."""
    channel = Channel(f"{kind}-test", ChannelKind(kind), "TEST_TARGET", "TEST_SECRET" if "TEST_SECRET" in env else None)
    target = resolve(channel, {"TEST_TARGET": address, **env})
    assert target is not None
    return target


# --- rendering and delivery ---------------------------------------------------------------


def test_slack_body_carries_title_severity_phase_roles_link(http: HttpReceiver) -> None:
    """Slack gets `text` and `blocks` with everything a responder needs without opening GitLab."""
    deliver(target_for("slack", http.url), incident())
    (request,) = http.requests
    body = request.json()
    assert request.path == SECRET_PATH
    assert TITLE in body["text"] and "S1 critical" in body["text"]
    blocks = str(body["blocks"])
    for needle in (TITLE, "S1 critical", "mitigation", "@alice", "severity 2 → 1", URL, "Payments provider"):
        assert needle in blocks


def test_teams_body_is_an_adaptive_card_with_the_facts(http: HttpReceiver) -> None:
    """Teams gets a message with one Adaptive Card: title, facts, and a button to the issue."""
    deliver(target_for("teams", http.url), incident())
    body = http.requests[0].json()
    (attachment,) = body["attachments"]
    assert body["type"] == "message"
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    facts = {
        fact["title"]: fact["value"] for item in card["body"] if item["type"] == "FactSet" for fact in item["facts"]
    }
    assert TITLE in card["body"][0]["text"]
    assert facts["Severity"] == "S1 critical" and facts["Phase"] == "mitigation"
    assert card["actions"][0]["url"] == URL


def test_webhook_body_is_the_message_as_json_and_signed(http: HttpReceiver) -> None:
    """A webhook with a secret gets the message fields, an HMAC-SHA256 of the raw body, and a timestamp."""
    deliver(target_for("webhook", http.url, TEST_SECRET=SECRET), incident())
    (request,) = http.requests
    body = request.json()
    assert body["title"] == TITLE and body["severity"] == 1 and body["severity_label"] == "S1 critical"
    assert body["phase"] == "mitigation" and body["url"] == URL and body["kind"] == "escalated"
    assert body["roles"][0] == {"role": "Incident Manager", "username": "alice"}
    stamp = request.headers[TIMESTAMP_HEADER.lower()]
    assert stamp.isdigit()
    signed = stamp.encode() + b"." + request.body
    expected = "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers[SIGNATURE_HEADER.lower()], expected)


def test_webhook_without_secret_is_not_signed(http: HttpReceiver) -> None:
    """Without a configured secret there is no signature or timestamp header at all."""
    deliver(target_for("webhook", http.url), incident())
    headers = http.requests[0].headers
    assert SIGNATURE_HEADER.lower() not in headers and TIMESTAMP_HEADER.lower() not in headers


def test_email_arrives_with_subject_and_body(smtp: SmtpReceiver) -> None:
    """An email channel hands one message to every `mailto:` recipient over real SMTP."""
    env = {**smtp.env(), "INCIDENT_BOT_SMTP_FROM": "incidents@example.com"}
    deliver(target_for("email", "mailto:oncall@example.com,execs@example.com", **env), incident())
    (mail,) = smtp.messages
    assert mail.rcpt_tos == ("oncall@example.com", "execs@example.com")
    assert mail.mail_from == "incidents@example.com"
    assert TITLE in mail.message["Subject"] and "S1 critical" in mail.message["Subject"]
    text = mail.message.get_content()
    for needle in (TITLE, "S1 critical", "mitigation", "@alice", "severity 2 → 1", URL, "Payments provider"):
        assert needle in text


@pytest.mark.parametrize("kind", ["slack", "teams", "webhook", "email"])
def test_confidential_incident_is_redacted_everywhere(kind: str, http: HttpReceiver, smtp: SmtpReceiver) -> None:
    """A confidential incident's title, text and people stay in GitLab; link, severity, phase, change go."""
    message = incident(confidential=True)
    if kind == "email":
        deliver(target_for(kind, "mailto:oncall@example.com", **smtp.env()), message)
        mail = smtp.messages[0].message
        sent = f"{mail['Subject']}\n{mail.get_content()}"
    else:
        deliver(target_for(kind, http.url), message)
        sent = http.requests[0].body.decode()
    assert TITLE not in sent and "Payments provider" not in sent and "alice" not in sent
    for needle in ("Confidential incident", "S1 critical", "mitigation", URL, "severity 2 → 1"):
        assert needle in sent


def test_confidential_job_payload_is_redacted_before_it_is_stored() -> None:
    """The RQ payload of a confidential incident holds no title either: Redis never sees it."""
    payload = notification_payload(Channel("ops", ChannelKind.SLACK, "OPS"), incident(confidential=True), "k")
    assert TITLE not in str(payload) and "alice" not in str(payload)
    assert pickle.loads(pickle.dumps(payload)) == payload


def test_slack_mass_mentions_from_user_text_are_neutralised(http: HttpReceiver) -> None:
    """Title, change and text cannot ping a whole Slack channel or a user, whatever they contain."""
    hostile = "<!channel> <!here|here> <@U024BE7LH> <!subteam^SAZ94GDB8> &lt;!everyone&gt; @here @channel @Everyone"
    deliver(target_for("slack", http.url), incident(title=hostile, change=hostile, text=hostile))
    body = http.requests[0].json()
    rendered = body["text"] + str(body["blocks"])
    assert "<!" not in rendered and "<@" not in rendered
    assert not re.search(r"@(here|channel|everyone)\b", rendered, re.IGNORECASE)
    assert "&lt;!channel&gt;" in rendered  # still readable, just inert


def test_long_slack_text_stays_within_slack_limits(http: HttpReceiver) -> None:
    """Escaping can grow text fivefold; the section still fits Slack's 3,000 characters."""
    deliver(target_for("slack", http.url), incident(text="&" * 5000))
    blocks = http.requests[0].json()["blocks"]
    assert all(len(block["text"]["text"]) <= 3000 for block in blocks if "text" in block)
    assert all(len(field["text"]) <= 2000 for block in blocks for field in block.get("fields", ()))


def test_deliver_raises_with_status_and_excerpt_on_500_without_leaking_the_url(http: HttpReceiver) -> None:
    """A non-2xx answer is a DeliveryError naming the channel, status and body, never the URL's path."""
    http.fail(1)
    with pytest.raises(DeliveryError) as caught:
        deliver(target_for("slack", http.url), incident())
    assert caught.value.channel == "slack-test"
    assert "500" in caught.value.reason and "upstream exploded" in caught.value.reason
    assert SECRET_PATH not in str(caught.value) and "not-a-real-token" not in repr(caught.value)


def test_deliver_raises_on_connection_refused() -> None:
    """Nothing listening is a DeliveryError that says so, not a requests exception."""
    url = f"http://127.0.0.1:{free_port()}{SECRET_PATH}"
    with pytest.raises(DeliveryError, match="Connection refused") as caught:
        deliver(target_for("webhook", url), incident(), timeout=2)
    assert SECRET_PATH not in str(caught.value)


def test_deliver_raises_when_smtp_server_refuses(smtp: SmtpReceiver) -> None:
    """An SMTP error reply is a DeliveryError carrying the server's code."""
    smtp.refuse()
    with pytest.raises(DeliveryError, match="554"):
        deliver(target_for("email", "mailto:oncall@example.com", **smtp.env()), incident())


# --- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("slack", "hooks.slack.com/services/T/B/tok3n"),
        ("teams", "ftp://example.com/tok3n"),
        ("webhook", "mailto:tok3n@example.com"),
        ("email", "https://example.com/?tok3n"),
        ("email", "mailto:not-an-address"),
        ("email", "mailto:a@example.com%0D%0ABcc:tok3n@evil.example"),
    ],
)
def test_bad_target_value_names_the_env_var_not_the_value(kind: str, value: str) -> None:
    """A malformed target refuses to resolve, naming the variable to fix and never echoing a secret."""
    with pytest.raises(ChannelConfigError) as caught:
        resolve(Channel("ops", ChannelKind(kind), "OPS_TARGET"), {"OPS_TARGET": value})
    assert "OPS_TARGET" in str(caught.value)
    assert "tok3n" not in str(caught.value)


def test_bad_smtp_port_names_the_env_var() -> None:
    """A non-numeric SMTP port is a configuration error naming INCIDENT_BOT_SMTP_PORT."""
    with pytest.raises(ChannelConfigError, match="INCIDENT_BOT_SMTP_PORT"):
        resolve(
            Channel("mail", ChannelKind.EMAIL, "MAIL"),
            {"MAIL": "mailto:a@x.org", "INCIDENT_BOT_SMTP_PORT": "smtp"},
        )


def test_webhook_with_declared_but_unset_secret_refuses_to_resolve() -> None:
    """A missing signing secret is a configuration error, not a silent switch to unsigned bodies."""
    channel = Channel("audit", ChannelKind.WEBHOOK, "AUDIT_URL", "AUDIT_SECRET")
    with pytest.raises(ChannelConfigError, match="AUDIT_SECRET"):
        resolve(channel, {"AUDIT_URL": "https://audit.example.com/hook"})


def test_unset_or_empty_target_resolves_to_none() -> None:
    """No value, or an empty one, means the channel is not configured here."""
    channel = Channel("ops", ChannelKind.SLACK, "OPS_TARGET")
    assert resolve(channel, {}) is None
    assert resolve(channel, {"OPS_TARGET": "  "}) is None


def test_target_repr_hides_address_and_secret() -> None:
    """A Target can be logged or end up in a traceback without exposing its credentials."""
    target = target_for("webhook", "https://hooks.example.com/tok3n", TEST_SECRET=SECRET)
    assert "tok3n" not in repr(target) and SECRET not in repr(target)
    assert target.host == "hooks.example.com"


def test_configured_channels_logs_one_line_per_missing_channel(caplog: pytest.LogCaptureFixture) -> None:
    """At start, each channel without a target is named once with its variable; the rest are returned."""
    channels = [
        Channel("responders", ChannelKind.SLACK, "RESPONDERS_URL"),
        Channel("executives", ChannelKind.EMAIL, "EXECUTIVES_MAILTO"),
        Channel("audit", ChannelKind.WEBHOOK, "AUDIT_URL"),
    ]
    log = logging.getLogger("test.notify.start")
    with caplog.at_level(logging.INFO, logger="test.notify.start"):
        targets = configured_channels(channels, {"RESPONDERS_URL": "https://hooks.example.com/x"}, log)
    assert [t.channel.name for t in targets] == ["responders"]
    assert [r.getMessage() for r in caplog.records] == [
        "channel executives has no target (set EXECUTIVES_MAILTO); its notifications are skipped",
        "channel audit has no target (set AUDIT_URL); its notifications are skipped",
    ]


def test_configured_channels_reports_every_bad_value_at_once() -> None:
    """Two bad values give one error naming both variables, so one restart fixes them."""
    channels = [Channel("a", ChannelKind.SLACK, "A_URL"), Channel("b", ChannelKind.EMAIL, "B_MAILTO")]
    with pytest.raises(ChannelConfigError) as caught:
        configured_channels(channels, {"A_URL": "nope", "B_MAILTO": "nope"}, logging.getLogger("test"))
    assert "A_URL" in str(caught.value) and "B_MAILTO" in str(caught.value)


def test_job_id_is_safe_and_distinct_for_keys_that_sanitise_alike() -> None:
    """Dedupe keys with any characters give RQ-safe job ids that do not collide."""
    plain = notification_job_id("ops", "shop-checkout-42-declared")
    odd = notification_job_id("ops", "shop/checkout#42:declared")
    twin = notification_job_id("ops", "shop_checkout_42_declared")
    assert plain == "notify-ops-shop-checkout-42-declared"
    assert re.fullmatch(r"[A-Za-z0-9_-]+", odd) and odd != twin


# --- the RQ job on a real worker and real Redis -------------------------------------------------


@pytest.fixture
def redis() -> Redis:
    """The tests' Redis: this test process's own redis-server, or INCIDENT_BOT_TEST_REDIS when set."""
    return Redis.from_url(test_redis_url())


@pytest.fixture
def token() -> str:
    """A per-test token in every queue name and dedupe key, so cleanup finds all keys."""
    return uuid.uuid4().hex[:12]


@pytest.fixture
def queue(redis: Redis, token: str) -> Iterator[Queue]:
    """A queue of its own for this test; its keys, jobs and markers are removed afterwards."""
    q = Queue(f"test-notify-{token}", connection=redis)
    yield q
    for key in redis.scan_iter(f"*{token}*"):
        redis.delete(key)
    redis.srem(Queue.redis_queues_keys, q.key)


def test_flaky_channel_delivers_once_after_retries_and_others_are_unaffected(
    http: HttpReceiver, queue: Queue, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """500, 500, 200 is exactly one delivery in three requests; another channel gets its one delivery."""
    steady = HttpReceiver()
    try:
        monkeypatch.setenv("FLAKY_URL", http.url)
        monkeypatch.setenv("STEADY_URL", steady.url)
        http.fail(2)
        flaky = enqueue_notification(
            queue,
            Channel("flaky", ChannelKind.WEBHOOK, "FLAKY_URL"),
            incident(),
            f"{token}-a",
            retry_intervals=FAST_RETRIES,
        )
        other = enqueue_notification(
            queue,
            Channel("steady", ChannelKind.SLACK, "STEADY_URL"),
            incident(),
            f"{token}-a",
            retry_intervals=FAST_RETRIES,
        )
        assert flaky is not None and other is not None
        run_worker(queue)
        assert [r.status for r in http.requests] == [500, 500, 200]
        assert [r.status for r in steady.requests] == [200]
        assert flaky.get_status() == JobStatus.FINISHED and flaky.return_value() == "sent"
        assert queue.connection.exists(sent_marker_key("flaky", f"{token}-a", Keys.of_queue(queue.name)))
    finally:
        steady.close()


def test_same_dedupe_key_enqueued_twice_delivers_once(
    http: HttpReceiver, queue: Queue, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second enqueue with the same key is refused while the job exists; after that the marker holds."""
    monkeypatch.setenv("OPS_URL", http.url)
    channel = Channel("ops", ChannelKind.SLACK, "OPS_URL")
    first = enqueue_notification(queue, channel, incident(), f"{token}-declared", retry_intervals=FAST_RETRIES)
    assert first is not None
    assert enqueue_notification(queue, channel, incident(), f"{token}-declared") is None
    run_worker(queue)
    assert enqueue_notification(queue, channel, incident(), f"{token}-declared") is None
    # Once RQ has expired the finished job, the sent marker still stops a second delivery.
    first.delete()
    again = enqueue_notification(queue, channel, incident(), f"{token}-declared")
    assert again is not None
    run_worker(queue)
    assert len(http.requests) == 1
    assert again.return_value() == "already sent"


def test_channel_that_always_fails_ends_in_failed_registry_with_reason(
    http: HttpReceiver,
    queue: Queue,
    token: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """After its retries a dead channel's job is failed, with status and excerpt, logged once per attempt."""
    monkeypatch.setenv("DEAD_URL", http.url)
    http.fail_always(503)
    job = enqueue_notification(
        queue,
        Channel("dead", ChannelKind.TEAMS, "DEAD_URL"),
        incident(),
        f"{token}-x",
        retry_intervals=(0, 0),
    )
    assert job is not None
    with caplog.at_level(logging.WARNING, logger="incident_bot.notify"):
        run_worker(queue)
    assert len(http.requests) == 3
    assert job.id in FailedJobRegistry(queue=queue).get_job_ids()
    result = Job.fetch(job.id, connection=queue.connection).latest_result()
    failure = result.exc_string if result and result.exc_string else ""
    assert "DeliveryError" in failure and "503" in failure and "upstream exploded" in failure
    assert SECRET_PATH not in failure
    lines = [r.getMessage() for r in caplog.records if r.name == "incident_bot.notify"]
    assert len(lines) == 3 and all("dead" in line and "503" in line for line in lines)
    assert not queue.connection.exists(sent_marker_key("dead", f"{token}-x", Keys.of_queue(queue.name)))


def test_channel_without_target_at_run_time_is_skipped(
    queue: Queue, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker without the channel's variable finishes the job as skipped instead of retrying it."""
    monkeypatch.delenv("NOWHERE_URL", raising=False)
    job = enqueue_notification(queue, Channel("nowhere", ChannelKind.SLACK, "NOWHERE_URL"), incident(), f"{token}-n")
    assert job is not None
    run_worker(queue)
    assert job.get_status() == JobStatus.FINISHED and job.return_value() == "skipped: no target"
