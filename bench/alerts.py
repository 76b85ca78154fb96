"""Alerts (issue 18): `python bench/alerts.py [--quick]` prints figures; it never asserts on time.

(a) The edge's alert throughput: requests/s on `POST /alerts/alertmanager` (each notification a new group, so
each is queued: 202), against a bare Flask endpoint answering the same bodies under the same gunicorn settings,
measured in turns in the same run (no worker running). (b) Alert accepted (the edge's 202) → its issue created in
the fake GitLab, and → the incident declared (the bot's first comment on it), p50/p99, with web + 1 worker, new
groups sent at a steady rate below `max_new_incidents_per_minute` (raised in a copy of the rules: no storm).
Uses Redis database 11 (flushed) unless --redis says otherwise.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from redis import Redis  # noqa: E402

from bench.run import (  # noqa: E402
    WEB_WORKERS,
    percentile,
    running,
    service_env,
    spawn,
    start_http,
    tree_cpu_seconds,
)
from tests.alerts.samples import ALERTS_TOKEN, BEARER, alertmanager, am_alert  # noqa: E402
from tests.e2e.harness import wait_until  # noqa: E402
from tests.fakegitlab import FakeGitLab, FakeGitLabServer  # noqa: E402
from tests.fakegitlab.core import Answer  # noqa: E402
from tests.rulesdir import TEST_RULES  # noqa: E402

DEFAULT_REDIS = "redis://127.0.0.1:6379/11"
CONNECTIONS = 4  # client processes, one connection each (as bench/run.py)
RATE = 4.0  # new alert groups a second for (b): each is an issue and a declaration
NO_STORM = "  max_new_incidents_per_minute: 10000\n"


def alert_body(prefix: str, n: int) -> bytes:
    """Alertmanager's notification of a new group of one firing alert (a groupKey of its own)."""
    name = f"{prefix}-{n}"
    body = alertmanager(am_alert("BenchAlert", instance=name), group=f'{{}}:{{instance="{name}"}}')
    body["commonAnnotations"] = {"summary": f"Bench alert {name}"}
    return json.dumps(body).encode()


def client(url: str, seconds: float, start_at: float, prefix: str) -> dict[str, Any]:
    """One client: POST new groups over a reused connection until time runs out; counts by status."""
    parts = urlsplit(url)
    statuses: dict[int, int] = {}
    done = errors = 0
    conn: http.client.HTTPConnection | None = None
    while time.time() < start_at:
        time.sleep(0.001)
    begin = time.perf_counter()
    while time.perf_counter() - begin < seconds:
        current = conn or http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=5)
        conn = None
        try:
            current.request("POST", parts.path, body=alert_body(prefix, done), headers=BEARER)
            response = current.getresponse()
            response.read()
            statuses[response.status] = statuses.get(response.status, 0) + 1
            done += 1
            if response.will_close:
                current.close()
            else:
                conn = current
        except (OSError, http.client.HTTPException):
            errors += 1
            current.close()
    return {"requests": done, "statuses": statuses, "errors": errors, "seconds": time.perf_counter() - begin}


def load(url: str, seconds: float, prefix: str) -> dict[str, Any]:
    """CONNECTIONS client processes (this file with --client), started together; their counts summed."""
    start_at = time.time() + 1.0
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--client", url, str(seconds), str(start_at), f"{prefix}-{i}"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(CONNECTIONS)
    ]
    results = [json.loads(proc.communicate(timeout=seconds + 60)[0]) for proc in procs]
    statuses: dict[str, int] = {}
    for result in results:
        for code, n in result["statuses"].items():
            statuses[code] = statuses.get(code, 0) + n
    elapsed = max(float(r["seconds"]) for r in results)
    total = sum(int(r["requests"]) for r in results)
    return {"requests": total, "seconds": elapsed, "rps": total / elapsed, "statuses": statuses}


def bench_throughput(args: argparse.Namespace, logs: Path) -> dict[str, Any]:
    """Bare Flask and the alert edge side by side, measured in turns, round after round."""
    run_id = uuid.uuid4().hex[:8]
    env = {**service_env(args.redis, f"bench-alerts-{run_id}"), "INCIDENT_BOT_ALERTS_TOKEN": ALERTS_TOKEN}
    env["INCIDENT_BOT_RULES"] = str(TEST_RULES)
    bare = start_http("bare", [str(ROOT / "bench" / "bare.py")], env, logs)
    web = start_http("web", ["-m", "service.cli", "web"], env, logs)
    runs: dict[str, list[dict[str, Any]]] = {"bare": [], "edge": []}
    with running(bare, web):
        for name, url in (("bare", f"{bare.url}/webhook"), ("edge", f"{web.url}/alerts/alertmanager")):
            load(url, args.warmup, f"warm-{name}-{run_id}")
        for n in range(args.rounds):
            for name, server, url in (("bare", bare, "/webhook"), ("edge", web, "/alerts/alertmanager")):
                used = tree_cpu_seconds(server.popen.pid)
                runs[name].append(load(f"{server.url}{url}", args.measure, f"{name}-{n}-{run_id}"))
                runs[name][-1]["cpu"] = tree_cpu_seconds(server.popen.pid) - used
    figures: dict[str, Any] = {}
    for name, results in runs.items():
        requests_, seconds = sum(r["requests"] for r in results), sum(r["seconds"] for r in results)
        statuses: dict[str, int] = {}
        for result in results:
            for code, count in result["statuses"].items():
                statuses[code] = statuses.get(code, 0) + count
        cpu_us = sum(r["cpu"] for r in results) / requests_ * 1e6 if requests_ else 0.0
        per_round = [r["rps"] for r in results]
        figures[name] = {"rps": requests_ / seconds, "statuses": statuses, "per_round": per_round, "cpu_us": cpu_us}
    figures["ratio"] = figures["edge"]["rps"] / figures["bare"]["rps"] if figures["bare"]["rps"] else None
    # The servers' CPU per answered request: steadier than req/s on a machine shared with other load.
    figures["cpu_ratio"] = figures["bare"]["cpu_us"] / figures["edge"]["cpu_us"] if figures["edge"]["cpu_us"] else None
    return figures


class TimedFake(FakeGitLab):
    """The fake GitLab, noting when each alert's issue was created and when its first comment arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.created: dict[str, float] = {}  # the issue's title → when GitLab was asked to create it
        self.declared: dict[int, float] = {}  # iid → its first comment

    def handle(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> Answer:
        arrived = time.monotonic()
        if method == "POST" and re.search(r"/projects/[^/]+/issues$", url.split("?")[0]) and body:
            title = re.search(r'"title": ?"([^"]*)"', body.decode(errors="replace"))
            with self.lock:
                self.created.setdefault(title.group(1) if title else "", arrived)
        elif method == "POST" and (found := re.search(r"/projects/\d+/issues/(\d+)/notes", url)):
            with self.lock:
                self.declared.setdefault(int(found.group(1)), arrived)
        return super().handle(method, url, body, headers)

    def iid_of(self, title: str) -> int | None:
        with self.lock:
            return next((iid for (_, iid), issue in self.issues.items() if issue["title"] == title), None)


def no_storm_rules(folder: Path) -> Path:
    """The test rules with the storm limit raised: every group of the run opens its own incident."""
    target = folder / "rules"
    shutil.copytree(TEST_RULES, target)
    alerts = target / "alerts.yml"
    alerts.write_text(re.sub(r"^  max_new_incidents_per_minute:.*\n", NO_STORM, alerts.read_text(), flags=re.M))
    return target


def send(url: str, prefix: str, n: int) -> tuple[int, float]:
    """POST one new group; its HTTP status and when the answer came (time.monotonic)."""
    response = requests.post(url, data=alert_body(prefix, n), headers=BEARER, timeout=10)
    return response.status_code, time.monotonic()


def bench_latency(args: argparse.Namespace, logs: Path) -> dict[str, Any]:
    """New groups at RATE/s through web + 1 worker: from the 202 to the issue created, and to its declaration."""
    run_id = uuid.uuid4().hex[:8]
    fake = TimedFake()
    count = int(RATE * args.latency_seconds)
    with FakeGitLabServer(fake) as gitlab:
        env = {
            **service_env(args.redis, f"bench-alerts-{run_id}", gitlab.url),
            "INCIDENT_BOT_ALERTS_TOKEN": ALERTS_TOKEN,
        }
        env["INCIDENT_BOT_RULES"] = str(no_storm_rules(logs))
        web = start_http("web-latency", ["-m", "service.cli", "web"], env, logs)
        worker = spawn("worker", ["-m", "service.cli", "worker"], env, logs)
        url = f"{web.url}/alerts/alertmanager"
        with running(web, worker):
            for n in range(3):  # warm-up: imports, the bot's user and the on-call people cached
                send(url, f"warm-{run_id}", n)
            warm = [f"Bench alert warm-{run_id}-{n}" for n in range(3)]
            wait_until(lambda: all(fake.iid_of(t) in fake.declared for t in warm), timeout=120, what="warm-up")
            accepted: dict[str, float] = {}
            statuses: dict[int, int] = {}
            start = time.monotonic()
            for n in range(count):
                time.sleep(max(start + n / RATE - time.monotonic(), 0))
                status, answered = send(url, f"lat-{run_id}", n)
                statuses[status] = statuses.get(status, 0) + 1
                if status == 202:
                    accepted[f"Bench alert lat-{run_id}-{n}"] = answered
            sent_rate = count / (time.monotonic() - start)
            try:
                wait_until(
                    lambda: all(fake.iid_of(t) in fake.declared for t in accepted), timeout=180, what="declarations"
                )
            except AssertionError:
                pass  # counted as missing below
    created = [(fake.created[t] - at) * 1000 for t, at in accepted.items() if t in fake.created]
    declared = [
        (fake.declared[iid] - at) * 1000
        for t, at in accepted.items()
        if (iid := fake.iid_of(t)) is not None and iid in fake.declared
    ]
    return {
        "alerts": count,
        "rate": RATE,
        "sent_rate": sent_rate,
        "answers": statuses,
        "created_ms": created,
        "declared_ms": declared,
        "missing": len(accepted) - len(declared),
    }


def quantiles(values: list[float]) -> str:
    if not values:
        return "none"
    return f"p50 {percentile(values, 50):.0f} ms, p99 {percentile(values, 99):.0f} ms, max {max(values):.0f} ms"


def report(throughput: dict[str, Any], latency: dict[str, Any], args: argparse.Namespace) -> str:
    bare, edge = throughput["bare"], throughput["edge"]
    lines = [
        f"(a) alert edge throughput, {CONNECTIONS} python clients, {args.rounds} round(s) of {args.measure:.0f} s "
        f"after {args.warmup:.0f} s warm-up, gunicorn {WEB_WORKERS} workers, no worker running",
        f"    bare Flask, same bodies            {bare['rps']:>8.0f} req/s  answers {bare['statuses']}  "
        f"CPU {bare['cpu_us']:.0f} µs/req",
        f"    POST /alerts/alertmanager (queued) {edge['rps']:>8.0f} req/s  answers {edge['statuses']}  "
        f"CPU {edge['cpu_us']:.0f} µs/req; {throughput['ratio']:.2f}× bare by req/s, "
        f"{throughput['cpu_ratio']:.2f}× by CPU",
        f"    per round: bare {[round(x) for x in bare['per_round']]}, edge {[round(x) for x in edge['per_round']]}",
        "",
        f"(b) alert accepted (202) → issue, {latency['alerts']} new groups at {latency['rate']:.0f}/s "
        f"(achieved {latency['sent_rate']:.1f}/s), web + 1 worker, answers {latency['answers']}",
        f"    → issue created:     {quantiles(latency['created_ms'])}",
        f"    → incident declared: {quantiles(latency['declared_ms'])}; missing: {latency['missing']}",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    parser.add_argument("--redis", default=DEFAULT_REDIS, help=f"Redis database to use and flush ({DEFAULT_REDIS})")
    args = parser.parse_args()
    args.measure, args.warmup, args.rounds, args.latency_seconds = (
        (2.0, 1.0, 1, 5.0) if args.quick else (5.0, 1.0, 2, 15.0)
    )
    connection = Redis.from_url(args.redis)
    connection.flushdb()
    try:
        with tempfile.TemporaryDirectory(prefix="incident-bot-bench-alerts-") as tmp:
            logs = Path(tmp)
            try:
                throughput = bench_throughput(args, logs)
                connection.flushdb()
                latency = bench_latency(args, logs)
            except Exception:
                for log in sorted(logs.glob("*.log")):
                    print(f"----- {log.name} -----\n{log.read_text(errors='replace')[-4000:]}", file=sys.stderr)
                raise
    finally:
        connection.flushdb()
        connection.close()
    print(report(throughput, latency, args))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--client":
        url, seconds, start_at, prefix = sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
        print(json.dumps(client(url, seconds, start_at, prefix)))
    else:
        raise SystemExit(main())
