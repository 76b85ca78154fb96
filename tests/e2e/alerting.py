"""What the tests with a real Prometheus and a real Alertmanager share (Debian's packages; `.ci/run` installs them).

A metrics page whose gauges a test sets (`Gauges`), the configuration files of both, the two processes
started and stopped around a test (`monitoring`), a copy of the test rules with an `alerts.yml` of the test's
own, and what the fake GitLab holds of alert incidents.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.alerts.samples import ALERTS_TOKEN
from tests.e2e.harness import Stack, free_port
from tests.fakegitlab import FakeGitLab
from tests.rulesdir import TEST_RULES

PROMETHEUS = shutil.which("prometheus")
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
OPS = 1  # ops/production in the fake GitLab: the shipped alerts.yml's default route
TIMEOUT = 120.0  # a deadline: rule evaluation, group_wait and group_interval add up on a loaded machine
FIRST_INCIDENT_IID = 500  # the fake numbers the issues the bot opens above this (the fixtures' issues are below)


def skip_without_monitoring() -> None:
    """Skip the calling test module when either binary is missing (call at module level)."""
    if not (PROMETHEUS and ALERTMANAGER):
        pytest.skip(
            "needs Debian's prometheus and prometheus-alertmanager binaries on PATH (.ci/run installs them): "
            f"prometheus={PROMETHEUS}, alertmanager={ALERTMANAGER}",
            allow_module_level=True,
        )


class Gauges:
    """A /metrics page of gauges the test sets while Prometheus scrapes it: `set("checkout_broken", 1)`."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self.lock = threading.Lock()
        gauges = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                body = gauges.page().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def set(self, name: str, value: float, **labels: str) -> None:
        """Set one series (a metric name and its labels) to `value`."""
        with self.lock:
            self.values[(name, tuple(sorted(labels.items())))] = value

    def page(self) -> str:
        with self.lock:
            series = sorted(self.values.items())
        lines = [f"# TYPE {name} gauge" for name in sorted({name for (name, _), _ in series})]
        for (name, labels), value in series:
            shown = ",".join(f'{k}="{v}"' for k, v in labels)
            lines.append(f"{name}{{{shown}}} {value:g}" if shown else f"{name} {value:g}")
        return "\n".join(lines) + "\n"

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass(frozen=True)
class AlertRule:
    """One Prometheus alerting rule: its name, expression, labels and annotations (summary may template)."""

    name: str
    expr: str
    labels: Mapping[str, str]
    summary: str


def write_configs(
    tmp_path: Path,
    rules: Sequence[AlertRule],
    gauges: Gauges,
    bot_urls: Sequence[str],
    am_port: int,
    group_by: Sequence[str] = ("alertname",),
) -> tuple[Path, Path]:
    """prometheus.yml (1 s scrape and evaluation) and alertmanager.yml (one receiver, a webhook per bot URL)."""
    lines = ["groups:", "- name: e2e", "  interval: 1s", "  rules:"]
    for rule in rules:
        labels = ", ".join(f"{k}: {v}" for k, v in rule.labels.items())
        lines += [
            f"  - alert: {rule.name}",
            f"    expr: {rule.expr}",
            "    for: 0s",
            f"    labels: {{{labels}}}",
            f"    annotations: {{summary: '{rule.summary}', runbook_url: 'https://runbooks.example.com/{rule.name}'}}",
        ]
    rules_file = tmp_path / "rules.yml"
    rules_file.write_text("\n".join(lines) + "\n")
    prometheus = tmp_path / "prometheus.yml"
    prometheus.write_text(
        f"global: {{scrape_interval: 1s, evaluation_interval: 1s}}\nrule_files: ['{rules_file}']\n"
        f"scrape_configs:\n- job_name: gauges\n  static_configs: [{{targets: ['{gauges.target}']}}]\n"
        f"alerting:\n  alertmanagers:\n  - static_configs: [{{targets: ['127.0.0.1:{am_port}']}}]\n"
    )
    hooks = "".join(
        f"  - url: '{url}/alerts/alertmanager'\n    send_resolved: true\n"
        f"    http_config: {{authorization: {{type: Bearer, credentials: '{ALERTS_TOKEN}'}}}}\n"
        for url in bot_urls
    )
    alertmanager = tmp_path / "alertmanager.yml"
    alertmanager.write_text(
        f"route: {{receiver: bot, group_by: [{', '.join(group_by)}], group_wait: 1s, group_interval: 2s, "
        "repeat_interval: 3s}\n"
        f"receivers:\n- name: bot\n  webhook_configs:\n{hooks}"
    )
    return prometheus, alertmanager


def bot_env(am_port: int, **extra: str) -> dict[str, str]:
    """The bot's environment for alerts: the alerts token and the Alertmanager it makes silences in."""
    return {
        "INCIDENT_BOT_ALERTS_TOKEN": ALERTS_TOKEN,
        "INCIDENT_BOT_ALERTMANAGER_URL": f"http://127.0.0.1:{am_port}",
        **extra,
    }


def rules_with_alerts(tmp_path: Path, alerts_yml: str) -> Path:
    """A copy of the test rules whose `alerts.yml` is `alerts_yml` (the bot's INCIDENT_BOT_RULES)."""
    target = tmp_path / "rules"
    shutil.copytree(TEST_RULES, target)
    (target / "alerts.yml").write_text(alerts_yml)
    return target


@contextmanager
def monitoring(tmp_path: Path, prometheus: Path, alertmanager: Path, am_port: int) -> Iterator[None]:
    """Alertmanager and Prometheus running with these files for the with-block; their logs printed after it."""
    assert PROMETHEUS and ALERTMANAGER
    commands = {
        "alertmanager": [
            ALERTMANAGER,
            f"--config.file={alertmanager}",
            f"--storage.path={tmp_path / 'am'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",
        ],
        "prometheus": [
            PROMETHEUS,
            f"--config.file={prometheus}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{free_port()}",
            "--rules.alert.resend-delay=1s",
        ],
    }
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for name, args in commands.items():
            with (tmp_path / f"{name}.log").open("wb") as log:
                procs.append(subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT))
        yield
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for name in commands:
            path = tmp_path / f"{name}.log"
            print(f"----- {name} -----\n{path.read_text(errors='replace')[-4000:] if path.exists() else ''}")


def incidents(gitlab: FakeGitLab) -> list[dict[str, Any]]:
    """The issues the bot opened (every project), oldest first."""
    with gitlab.lock:
        return [dict(i) for (_, iid), i in sorted(gitlab.issues.items()) if iid > FIRST_INCIDENT_IID]


def notes(gitlab: FakeGitLab, iid: int, project_id: int = OPS) -> list[str]:
    """The comments on one issue, in the order GitLab got them."""
    with gitlab.lock:
        return [n["body"] for n in gitlab.notes.get((project_id, iid), [])]


def counted(stack: Stack, outcome: str, url: str | None = None) -> float:
    """incident_bot_alerts_total for Alertmanager's notifications with this outcome, from the edge's /metrics."""
    text = requests.get(f"{url or stack.url}/metrics", timeout=5).text
    wanted = f'incident_bot_alerts_total{{outcome="{outcome}",source="alertmanager"}}'
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(wanted))


def posted(gitlab: FakeGitLab, suffix: str) -> list[dict[str, Any]]:
    """What the POSTs whose path ends with `suffix` (`/issues`, `/notes`) sent, in order."""
    with gitlab.lock:
        return [dict(c.body) for c in gitlab.calls if c.method == "POST" and c.path.endswith(suffix)]
