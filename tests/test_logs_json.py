"""`INCIDENT_BOT_LOG_FORMAT=json`: one JSON object per log line, with delivery, project, iid and rule names."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from service import logs
from service.cli import main
from service.worker import process_delivery
from tests.conftest import body
from tests.e2e.harness import Stack, wait_until
from tests.fakegitlab import FakeGitLabServer


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every non-empty line parsed as JSON (a line that is not JSON fails the test, naming it)."""
    found = []
    for line in text.splitlines():
        if line.strip():
            try:
                found.append(json.loads(line))
            except ValueError:
                pytest.fail(f"not a JSON line: {line!r}")
    return found


@pytest.fixture()
def json_logs(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """The process logs JSON for this test (text again afterwards); what setup's handler writes, kept."""
    return configured(monkeypatch, "json")


def configured(monkeypatch: pytest.MonkeyPatch, fmt: str) -> io.StringIO:
    """Run logs.setup(fmt) and point its stderr handler at a buffer (pytest swaps sys.stderr between phases)."""
    monkeypatch.setattr(logs, "_json_lines", False)
    logs.setup("INFO", fmt)
    buffer = io.StringIO()
    (handler,) = logging.getLogger().handlers
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    return buffer


def test_a_delivery_logs_json_with_delivery_project_iid_and_rules(json_logs: io.StringIO, fake, runtime) -> None:
    """Applying a new incident: every line is JSON; the plan lines name their rules and carry the delivery."""
    process_delivery(body("issue.open.incident"), {"delivery_id": "json-1", "event_uuid": "uuid-1"})
    lines = json_lines(json_logs.getvalue())
    mine = [line for line in lines if line.get("delivery") == "json-1"]
    assert mine and all(line["project"] == 1 and line["iid"] == 23 for line in mine)
    assert all(" delivery=" not in line["message"] for line in mine)  # the fields are keys, not text
    plan = [line for line in mine if line["message"].startswith("plan: ")]
    assert plan and all(line["rules"] for line in plan)
    assert "default-severity" in {rule for line in plan for rule in line["rules"]}
    assert {"time", "level", "logger", "message"} <= set(mine[0])


def test_text_format_is_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the setting, a bound line still reads `message key=value ...`."""
    buffer = configured(monkeypatch, "text")
    logs.bind(logging.getLogger("incident_bot.test"), delivery="d-1", project=4, iid=5).info("applied: x")
    assert buffer.getvalue().rstrip().endswith("incident_bot.test: applied: x delivery=d-1 project=4 iid=5")


def test_an_exception_stays_inside_its_json_line(json_logs: io.StringIO) -> None:
    """A traceback is a field of the line, not lines of its own."""
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("incident_bot.test").exception("failed")
    (line,) = json_lines(json_logs.getvalue())
    assert line["message"] == "failed" and "RuntimeError: boom" in line["exception"]


def test_an_unknown_format_stops_the_start(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A typo in INCIDENT_BOT_LOG_FORMAT is a clear message at start, not text lines a collector cannot parse."""
    monkeypatch.setattr(logs, "_json_lines", False)
    monkeypatch.setenv("INCIDENT_BOT_LOG_FORMAT", "jsno")
    assert main(["check-rules"]) == 2
    assert "INCIDENT_BOT_LOG_FORMAT is 'jsno'; use text or json" in capsys.readouterr().err


@pytest.mark.e2e
def test_the_web_process_writes_only_json_lines(tmp_path: Path, redis_conn) -> None:
    """`incident-bot web` under gunicorn: its own lines and the app's are JSON; a duplicate names its delivery."""
    from tests.conftest import test_redis_url  # the e2e Stack's own Redis URL, as its fixture uses

    with FakeGitLabServer() as server:
        stack = Stack(tmp_path, server.url, test_redis_url(), INCIDENT_BOT_LOG_FORMAT="json")
        try:
            stack.start_web()
            data = body("issue.open.incident")
            assert stack.post(data, key="json-web").status_code == 202
            assert stack.post(data, key="json-web").json()["status"] == "duplicate"
            wait_until(lambda: "duplicate" in stack.procs[0].output(), what="the duplicate logged")
        finally:
            stack.stop()
    lines = json_lines(stack.procs[0].output())
    assert any("Booting worker" in line["message"] for line in lines)  # gunicorn's own line
    (duplicate,) = [line for line in lines if line["message"] == "duplicate"]
    assert (duplicate["delivery"], duplicate["project"], duplicate["iid"]) == ("json-web", 1, 23)
