"""Helpers shared by the tests of this folder (moved out of test_paging.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from redis import Redis
from rq import Queue
from rq.registry import ScheduledJobRegistry

from service.incident import strip_memory
from service.rules import load_rules
from service.worker import process_delivery
from tests.conftest import body, payload
from tests.e2e.harness import Stack, accepted
from tests.fakegitlab import FakeGitLab
from tests.receivers import HttpReceiver, SmtpReceiver

SECRET = "a-long-enough-ack-secret"


PAGED = "You are paged"


class Receivers:
    """A recording HTTP receiver per channel of the rules and one SMTP server, with their environment."""

    def __init__(self, rules_dir: Path):
        self.http = {name: HttpReceiver() for name in load_rules(rules_dir).channels}
        self.smtp = SmtpReceiver()

    def env(self) -> dict[str, str]:
        found = {f"INCIDENT_BOT_CHANNEL_{n.upper().replace('-', '_')}": r.url for n, r in self.http.items()}
        return {**found, **self.smtp.env(), "INCIDENT_BOT_PAGER_SECRET": "pager-signing-secret"}

    def pages(self, channel: str) -> list[str]:
        """The bodies of the pages a channel received."""
        return [r.body.decode() for r in self.http[channel].delivered if PAGED in r.body.decode()]

    def mails(self) -> list[str]:
        return [m.message.get_content() for m in self.smtp.messages if PAGED in str(m.message["Subject"])]

    def close(self) -> None:
        for receiver in self.http.values():
            receiver.close()
        self.smtp.close()


def paging_stack(tmp_path: Path, url: str, redis_url: str, rules_dir: Path, minute: str, **env: str) -> Stack:
    return Stack(
        tmp_path, url, redis_url, INCIDENT_BOT_RULES=str(rules_dir), INCIDENT_BOT_PAGING_MINUTE_SECONDS=minute, **env
    )


def declare_severity_1(stack: Stack, gitlab: FakeGitLab) -> None:
    with gitlab.lock:
        gitlab.issues[(1, 23)]["labels"] = ["incident", "severity::1"]
    data = payload("issue.open.incident")
    stack.wait_finished(accepted(stack.post(json.dumps(data).encode(), key="open-sev1")))


def notes(gitlab: FakeGitLab) -> list[str]:
    with gitlab.lock:
        return [strip_memory(n["body"]) for n in gitlab.bot_notes()]


def assert_whole_escalation(receivers: Receivers, gitlab: FakeGitLab) -> None:
    """Two runs of the three levels, each page once, then the broadcast; the issue told every step."""
    assert len(receivers.pages("pager-carol")) == 2  # level 1 of each run (Mattermost)
    assert len(receivers.mails()) == 2 and all("Acknowledge:" not in m for m in receivers.mails())
    assert len(receivers.pages("pager-bob")) == 2  # level 2 of each run: the staffed IM (Teams)
    assert len(receivers.pages("executives")) == 2  # level 3 of each run
    said = "\n".join(notes(gitlab))
    assert said.count("Not acknowledged by") == 6 and "Nobody acknowledged the page" in said
    broadcast = [r for r in receivers.http["responders"].delivered if "Page not acknowledged" in r.body.decode()]
    assert len(broadcast) == 1


def declare(fake: FakeGitLab, severity: int = 1) -> None:
    fake.issues[(1, 23)]["labels"] = ["incident", f"severity::{severity}"]
    process_delivery(body("issue.open.incident"), {"delivery_id": "open"})


def reply(fake: FakeGitLab) -> str:
    return strip_memory(fake.bot_notes()[-1]["body"])


def pages(redis_conn: Redis) -> list[dict[str, Any]]:
    queue = Queue("incident-bot-notify", connection=redis_conn)
    return [job.args[0] for job in queue.jobs if job.func_name == "service.paging.send.send_page"]


def steps(redis_conn: Redis) -> list[tuple[Any, ...]]:
    queue = Queue("incident-bot-notify", connection=redis_conn)
    registry = ScheduledJobRegistry(queue=queue)
    jobs = [queue.fetch_job(i) for i in registry.get_job_ids()]
    return sorted(tuple(j.args) for j in jobs if j is not None and j.func_name == "service.worker.pagestep.page_step")
