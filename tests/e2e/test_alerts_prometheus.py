"""End to end with a real Prometheus and a real Alertmanager (Debian's packages; `.ci/run` installs them).

Prometheus scrapes a metric this test flips, a rule fires, Alertmanager posts to the bot's edge with bearer
credentials, and the incident appears in the fake GitLab: once, however often Alertmanager repeats itself;
recovery comments (`on_resolved: comment`); firing again returns to the same incident.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from redis import Redis

from tests.alerts.samples import ALERTS_TOKEN
from tests.conftest import payload, test_redis_url
from tests.e2e.harness import Stack, accepted, free_port, wait_until
from tests.fakegitlab import FakeGitLab, FakeGitLabServer

pytestmark = pytest.mark.e2e
PROMETHEUS = shutil.which("prometheus")
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
if not (PROMETHEUS and ALERTMANAGER):
    pytest.skip(
        "needs Debian's prometheus and prometheus-alertmanager binaries on PATH (.ci/run installs them): "
        f"prometheus={PROMETHEUS}, alertmanager={ALERTMANAGER}",
        allow_module_level=True,
    )
OPS = 1
TIMEOUT = 120.0  # a deadline: rule evaluation, group_wait and group_interval add up on a loaded machine


class Flag:
    """A /metrics page with one gauge the test sets: `checkout_broken 1` fires the rule, 0 resolves it."""

    def __init__(self) -> None:
        self.value = 1
        flag = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                body = f"# TYPE checkout_broken gauge\ncheckout_broken {flag.value}\n".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"


def _configs(tmp_path: Path, flag: Flag, bot_url: str, am_port: int) -> tuple[Path, Path]:
    rules = tmp_path / "rules.yml"
    rules.write_text(
        "groups:\n- name: e2e\n  interval: 1s\n  rules:\n  - alert: CheckoutBroken\n    expr: checkout_broken > 0\n"
        "    for: 0s\n    labels: {severity: critical, service: search}\n"
        "    annotations: {summary: Checkout is broken, runbook_url: 'https://runbooks.example.com/checkout'}\n"
    )
    prometheus = tmp_path / "prometheus.yml"
    prometheus.write_text(
        f"global: {{scrape_interval: 1s, evaluation_interval: 1s}}\nrule_files: ['{rules}']\n"
        f"scrape_configs:\n- job_name: flag\n  static_configs: [{{targets: ['{flag.target}']}}]\n"
        f"alerting:\n  alertmanagers:\n  - static_configs: [{{targets: ['127.0.0.1:{am_port}']}}]\n"
    )
    alertmanager = tmp_path / "alertmanager.yml"
    alertmanager.write_text(
        "route: {receiver: bot, group_by: [alertname], group_wait: 1s, group_interval: 2s, repeat_interval: 3s}\n"
        "receivers:\n- name: bot\n  webhook_configs:\n"
        f"  - url: '{bot_url}/alerts/alertmanager'\n    send_resolved: true\n"
        f"    http_config: {{authorization: {{type: Bearer, credentials: '{ALERTS_TOKEN}'}}}}\n"
    )
    return prometheus, alertmanager


@pytest.fixture()
def monitoring(tmp_path: Path, fake_server: FakeGitLabServer, redis_conn: Redis) -> Iterator[tuple[Stack, Flag]]:
    """The bot (web + worker), the flag's metrics page, Alertmanager and Prometheus pointed at them."""
    am_port = free_port()
    stack = Stack(
        tmp_path,
        fake_server.url,
        test_redis_url(),
        INCIDENT_BOT_ALERTS_TOKEN=ALERTS_TOKEN,
        INCIDENT_BOT_ALERTMANAGER_URL=f"http://127.0.0.1:{am_port}",
    )
    stack.am_url = f"http://127.0.0.1:{am_port}"  # type: ignore[attr-defined]  # the tests' way to Alertmanager
    flag, procs = Flag(), []
    try:
        stack.start_web()
        stack.start_worker()
        prometheus, alertmanager = _configs(tmp_path, flag, stack.url, am_port)
        for name, args in (
            (
                "alertmanager",
                [
                    ALERTMANAGER,
                    f"--config.file={alertmanager}",
                    f"--storage.path={tmp_path / 'am'}",
                    f"--web.listen-address=127.0.0.1:{am_port}",
                    "--cluster.listen-address=",
                ],
            ),
            (
                "prometheus",
                [
                    PROMETHEUS,
                    f"--config.file={prometheus}",
                    f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{free_port()}",
                    "--rules.alert.resend-delay=1s",
                ],
            ),
        ):
            log = (tmp_path / f"{name}.log").open("wb")
            procs.append(subprocess.Popen([str(a) for a in args], stdout=log, stderr=subprocess.STDOUT))
        yield stack, flag
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        flag.server.shutdown()
        stack.stop()
        for name in ("alertmanager", "prometheus"):
            path = tmp_path / f"{name}.log"
            print(f"----- {name} -----\n{path.read_text(errors='replace')[-4000:] if path.exists() else ''}")


def _incidents(gitlab: FakeGitLab) -> list[dict[str, Any]]:
    with gitlab.lock:
        return [dict(i) for (pid, iid), i in sorted(gitlab.issues.items()) if iid > 500]


def _notes(gitlab: FakeGitLab, iid: int) -> list[str]:
    with gitlab.lock:
        return [n["body"] for n in gitlab.notes.get((OPS, iid), [])]


def _counted(stack: Stack, outcome: str) -> float:
    """incident_bot_alerts_total for Alertmanager's notifications with this outcome, from the edge's /metrics."""
    text = requests.get(f"{stack.url}/metrics", timeout=5).text
    wanted = f'incident_bot_alerts_total{{outcome="{outcome}",source="alertmanager"}}'
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(wanted))


def test_a_real_alert_opens_one_incident_resolves_and_returns(
    monitoring: tuple[Stack, Flag], gitlab: FakeGitLab
) -> None:
    """Fires: one incident (ops/production, severity 1, declared); repeats: nothing more; resolves: a comment,
    still open; fires again: the same incident says so."""
    stack, flag = monitoring
    [issue] = wait_until(lambda: _incidents(gitlab), timeout=TIMEOUT, what="the alert incident", describe=stack.output)
    assert issue["project_id"] == OPS and "severity::1" in issue["labels"] and issue["title"] == "Checkout is broken"
    iid = issue["iid"]
    wait_until(
        lambda: any("incident-bot" in n for n in _notes(gitlab, iid)) or _notes(gitlab, iid),
        timeout=TIMEOUT,
        what="the declaration comment",
        describe=stack.output,
    )
    # A repeat (repeat_interval 3s) is byte-identical: the edge answers it as a duplicate, nothing is queued.
    wait_until(lambda: _counted(stack, "duplicate") >= 2, timeout=TIMEOUT, what="Alertmanager's repeats")
    assert len(_incidents(gitlab)) == 1 and len(_notes(gitlab, iid)) == 1, _notes(gitlab, iid)
    flag.value = 0
    resolved = wait_until(
        lambda: [n for n in _notes(gitlab, iid) if "All alerts of this group have resolved" in n],
        timeout=TIMEOUT,
        what="the resolution comment",
        describe=stack.output,
    )
    assert len(resolved) == 1 and _incidents(gitlab)[0]["state"] == "opened"  # on_resolved: comment
    flag.value = 1
    wait_until(
        lambda: any(n.startswith("**Fired again**") for n in _notes(gitlab, iid)),
        timeout=TIMEOUT,
        what="fired again on the same incident",
        describe=stack.output,
    )
    assert len(_incidents(gitlab)) == 1


def _comment(stack: Stack, issue: dict[str, Any], text: str, key: str) -> None:
    """Alice (a Maintainer) comments `text` on the alert incident, as GitLab's Note Hook tells the bot."""
    note = payload("note.create.incident")
    note["object_attributes"].update(note=text, id=abs(hash(key)) % 10**9)
    note["issue"].update(iid=issue["iid"], labels=[{"title": x} for x in issue["labels"]], url=issue["web_url"])
    note["project"]["id"] = note["object_attributes"]["project_id"] = OPS
    stack.wait_finished(accepted(stack.post(json.dumps(note).encode(), key=key, event="Note Hook")))


def _close(stack: Stack, gitlab: FakeGitLab, iid: int) -> None:
    """A person closes the incident: the fake GitLab has it closed and sends the Issue Hook."""
    with gitlab.lock:
        gitlab.issues[(OPS, iid)]["state"] = "closed"
        issue = dict(gitlab.issues[(OPS, iid)])
    hook = payload("issue.close.incident")
    hook["object_attributes"].update(iid=iid, description=issue["description"], url=issue["web_url"], state="closed")
    hook["object_attributes"]["labels"] = hook["labels"] = [{"title": x} for x in issue["labels"]]
    hook["project"]["id"] = hook["object_attributes"]["project_id"] = OPS
    stack.wait_finished(accepted(stack.post(json.dumps(hook).encode(), key=f"close-{iid}")))


def _silences(stack: Stack) -> list[dict[str, Any]]:
    answer = requests.get(f"{stack.am_url}/api/v2/silences", timeout=5)  # type: ignore[attr-defined]  # set above
    answer.raise_for_status()
    return list(answer.json())


def test_a_silence_from_a_comment_is_active_and_expires_on_close(
    monitoring: tuple[Stack, Flag], gitlab: FakeGitLab
) -> None:
    """`@incident-bot silence 2h`: a silence in the real Alertmanager (the group's labels, by alice, the incident's
    URL), its id and end in the reply; closing the incident expires it."""
    stack, _ = monitoring
    [issue] = wait_until(lambda: _incidents(gitlab), timeout=TIMEOUT, what="the alert incident", describe=stack.output)
    _comment(stack, issue, "@incident-bot silence 2h", "silence-1")
    [made] = [s for s in _silences(stack) if s["status"]["state"] == "active"]
    assert made["createdBy"] == "alice" and made["comment"] == issue["web_url"]
    assert {(m["name"], m["value"]) for m in made["matchers"]} == {("alertname", "CheckoutBroken")}
    reply = [n for n in _notes(gitlab, issue["iid"]) if "Silenced in Alertmanager until" in n]
    assert len(reply) == 1 and made["id"] in reply[0]
    _close(stack, gitlab, issue["iid"])
    states = {s["id"]: s["status"]["state"] for s in _silences(stack)}
    assert states == {made["id"]: "expired"}, states
