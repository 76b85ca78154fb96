"""incident-bot benchmark: `python bench/run.py [--quick]` prints figures; it never asserts on time.

(a) receiver requests/s against a bare Flask endpoint under the same gunicorn settings (no worker running);
(b) delivery → first GitLab write latency with web + 1 worker + a fake GitLab in this process;
(c) peak RSS of the web and worker processes; (d) planning cost, shipped and 500 generated rules;
(e) GitLab calls per delivery for the three stories against a naive one-call-per-action count.
The same figures go to bench/last-run.json (not versioned). Uses Redis database 11 unless --redis says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import responses  # noqa: E402
from redis import Redis  # noqa: E402
from rq import Queue, Worker  # noqa: E402

from bench.load import LoadResult, run_load, wrk_path  # noqa: E402
from bench.rulegen import write_rules_dir  # noqa: E402
from service.config import Settings  # noqa: E402
from service.events import Event  # noqa: E402
from service.handlers.planner import plan_event  # noqa: E402
from service.incident import IncidentState  # noqa: E402
from service.plan import AddLabels, Assign, OpenReview, Plan, PostNote, RemoveLabels, SetNativeSeverity  # noqa: E402
from service.rules import RuleSet, load_rules  # noqa: E402
from service.web.server import default_workers, gunicorn_options  # noqa: E402
from service.worker import Runtime, install, process_delivery  # noqa: E402
from service.worker import job as worker_module  # noqa: E402
from tests.conftest import SECRET, body, hook_headers  # noqa: E402
from tests.e2e.harness import descendants, free_port, kill_exact, wait_until  # noqa: E402
from tests.fakegitlab import FakeGitLab, FakeGitLabServer, install_responses  # noqa: E402
from tests.rulesdir import TEST_RULES  # noqa: E402  the shipped rules with the fake GitLab's people on call

DEFAULT_REDIS = "redis://127.0.0.1:6379/11"
WEB_WORKERS = default_workers()  # what `incident-bot web` runs with by default
CONNECTIONS = 4  # enough to keep both gunicorn workers busy without starving them of CPU
LATENCY_RATE = 20.0  # deliveries per second
NAIVE_CALL_ACTIONS = (AddLabels, RemoveLabels, Assign, PostNote, SetNativeSeverity, OpenReview)
GITLAB = "http://gitlab.test"
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
TARGETS = {
    "non_incident_ratio": 0.85,
    "incident_ratio": 0.5,
    "p50_ms": 25.0,
    "p99_ms": 100.0,
    "plan_shipped_us": 1000.0,
    "plan_500_us": 10000.0,
}


@dataclass
class Profile:
    """How long each part runs: full, or --quick (under a minute in all)."""

    measure: float
    warmup: float
    latency_seconds: float
    plan_batch: float
    memory_deliveries: int
    rounds: int

    @classmethod
    def pick(cls, quick: bool) -> Profile:
        """The full or the --quick profile."""
        return cls(2.0, 1.0, 3.0, 0.05, 10, 1) if quick else cls(5.0, 1.0, 10.0, 0.2, 20, 2)


# Processes.
@dataclass
class Server:
    """A started process group, its log file, and the URL it answers on (if any)."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    url: str = ""

    def stop(self) -> None:
        """SIGTERM the group, then SIGKILL what is left of the process tree."""
        tree = descendants(self.popen.pid)
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for pid, started in tree:
            kill_exact(pid, started)
        if self.popen.poll() is None:
            self.popen.wait(timeout=10)


def spawn(name: str, args: list[str], env: dict[str, str], logs: Path) -> Server:
    """Start `python ARGS` in its own session, output to a log file."""
    log = logs / f"{name}.log"
    with log.open("wb") as handle:
        popen = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Server(name, popen, log)


def start_http(name: str, args: list[str], env: dict[str, str], logs: Path) -> Server:
    """Start a gunicorn server on a free port and wait until /readyz answers 200."""
    port = free_port()
    server = spawn(name, [*args, "--bind", f"127.0.0.1:{port}", "--workers", str(WEB_WORKERS)], env, logs)
    server.url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        """True once /readyz answers 200; fails fast if the process died."""
        if server.popen.poll() is not None:
            raise RuntimeError(f"{name} exited:\n{server.log.read_text()}")
        try:
            return requests.get(f"{server.url}/readyz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    wait_until(ready, timeout=30, what=f"{name} ready")
    return server


@contextmanager
def running(*servers: Server) -> Iterator[None]:
    """Stop the servers when the block ends, however it ends."""
    try:
        yield
    finally:
        for server in servers:
            server.stop()


def service_env(redis_url: str, queue: str, gitlab_url: str = "http://127.0.0.1:9") -> dict[str, str]:
    """The environment of the incident-bot processes: this Redis, this queue, this GitLab."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("INCIDENT_BOT_", "GITLAB_", "REDIS_URL"))}
    return {
        **base,
        "PYTHONUNBUFFERED": "1",
        "GITLAB_URL": gitlab_url,
        "GITLAB_TOKEN": "bench-token",
        "GITLAB_WEBHOOK_SECRET": SECRET,
        "REDIS_URL": redis_url,
        "INCIDENT_BOT_QUEUE": queue,
        # A fresh incident index per run: the default ./data would grow run after run (and sit in the checkout).
        "INCIDENT_BOT_DATA_DIR": tempfile.mkdtemp(prefix="incident-bot-bench-data-"),
    }


# Memory.
def status_kib(pid: int, field_name: str) -> int | None:
    """A `kB` field of /proc/<pid>/status (VmHWM: peak resident set; VmRSS: now)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(rf"^{field_name}:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) if match else None


def tree_pids(root: int) -> list[int]:
    """The pids of every live descendant of `root`."""
    return [pid for pid, _ in descendants(root)]


class PeakSampler:
    """Polls the peak RSS of a process tree in a thread, so short-lived children are seen too."""

    def __init__(self, root: int, interval: float = 0.01):
        self.root = root
        self.interval = interval
        self.peaks: dict[int, int] = {}
        self.first_seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        """Read VmHWM of every process in the tree now."""
        for pid in [self.root, *tree_pids(self.root)]:
            kib = status_kib(pid, "VmHWM")
            if kib is not None:
                self.first_seen.setdefault(pid, time.monotonic())
                self.peaks[pid] = max(self.peaks.get(pid, 0), kib)

    def _run(self) -> None:
        """Sample until stopped."""
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakSampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


# (a) Receiver throughput.
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def tree_cpu_seconds(root: int) -> float:
    """CPU time (user + system) used so far by a process and its live descendants, from /proc/<pid>/stat."""
    total = 0
    for pid in [root, *tree_pids(root)]:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of the whole line
    return total / CLOCK_TICKS


def load_figures(result: LoadResult) -> dict[str, Any]:
    """One load run as JSON-ready figures."""
    return {
        "rps": round(result.rps, 1),
        "requests": result.requests,
        "seconds": round(result.seconds, 2),
        "statuses": {str(k): v for k, v in sorted(result.statuses.items())},
        "socket_errors": result.socket_errors,
    }


def combine(results: list[LoadResult]) -> LoadResult:
    """Several runs of one series as one: requests and time summed, statuses merged."""
    statuses: dict[int, int] = {}
    for result in results:
        for code, n in result.statuses.items():
            statuses[code] = statuses.get(code, 0) + n
    return LoadResult(
        results[0].tool,
        sum(r.seconds for r in results),
        sum(r.requests for r in results),
        statuses,
        sum(r.socket_errors for r in results),
    )


def bench_receiver(profile: Profile, redis_url: str, logs: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Bare Flask vs the receiver, same gunicorn options, same client, same duration; no worker running.

    Both servers run side by side (the idle one costs nothing) and are measured in turns, round after
    round, so a drift of the machine's speed hits both alike.
    """
    docs, incident = body("issue.open.docs"), body("issue.open.incident")
    headers = hook_headers()
    run_id = uuid.uuid4().hex[:8]
    env = service_env(redis_url, f"bench-{run_id}")
    bare = start_http("bare", [str(ROOT / "bench" / "bare.py")], env, logs)
    ping = start_http("ping", [str(ROOT / "bench" / "bare.py"), "--mode", "ping"], env, logs)
    naive = start_http("rq", [str(ROOT / "bench" / "bare.py"), "--mode", "rq"], env, logs)
    web = start_http("web", ["-m", "service.cli", "web"], env, logs)
    series: dict[str, list[LoadResult]] = {}
    plan = [
        ("bare_docs", bare, docs, False),
        ("receiver_non_incident", web, docs, False),
        ("bare_incident", bare, incident, True),
        ("receiver_incident", web, incident, True),
        ("bare_ping_incident", ping, incident, True),
        ("rq_enqueue_incident", naive, incident, True),
    ]
    with running(bare, ping, naive, web):
        for server, data, unique in (
            (bare, docs, False),
            (web, docs, False),
            (web, incident, True),
            (ping, incident, True),
            (naive, incident, True),
        ):
            run_load(
                f"{server.url}/webhook",
                data,
                headers,
                unique_key=unique,
                seconds=profile.warmup,
                connections=CONNECTIONS,
                prefix=f"warm-{run_id}",
            )
        cpu: dict[str, float] = {}
        for n in range(profile.rounds):
            for name, server, data, unique in plan:
                used = tree_cpu_seconds(server.popen.pid)
                series.setdefault(name, []).append(
                    run_load(
                        f"{server.url}/webhook",
                        data,
                        headers,
                        unique_key=unique,
                        seconds=profile.measure,
                        connections=CONNECTIONS,
                        prefix=f"{name}-{n}-{run_id}",
                    )
                )
                cpu[name] = cpu.get(name, 0.0) + tree_cpu_seconds(server.popen.pid) - used
        # gunicorn's processes live as long as the server: their VmHWM now is their peak under load.
        peaks = {pid: status_kib(pid, "VmHWM") or 0 for pid in [web.popen.pid, *tree_pids(web.popen.pid)]}
    runs = {name: combine(results) for name, results in series.items()}
    figures: dict[str, Any] = {
        "tool": runs["bare_docs"].tool,
        "connections": CONNECTIONS,
        "seconds": profile.measure,
        "rounds": profile.rounds,
        "warmup": profile.warmup,
        "gunicorn": {
            k: v.__name__ if callable(v) else v  # the worker and logger classes, the child_exit hook: by name
            for k, v in gunicorn_options("127.0.0.1:0", WEB_WORKERS).items()
            if k != "bind"
        },
        **{name: load_figures(run) for name, run in runs.items()},
        "per_round_rps": {name: [round(r.rps) for r in results] for name, results in series.items()},
        # The server processes' CPU per answered request: steadier than req/s on a machine shared with other load.
        "cpu_us_per_request": {
            name: round(cpu[name] / run.requests * 1e6) if run.requests else None for name, run in runs.items()
        },
    }
    for ratio, web_run, bare_run in (
        ("non_incident_ratio", "receiver_non_incident", "bare_docs"),
        ("incident_ratio", "receiver_incident", "bare_incident"),
        ("ping_ratio", "bare_ping_incident", "bare_incident"),
        ("rq_enqueue_ratio", "rq_enqueue_incident", "bare_incident"),
    ):
        figures[ratio] = round(runs[web_run].rps / runs[bare_run].rps, 3) if runs[bare_run].rps else None
        spent = figures["cpu_us_per_request"]
        figures[f"{ratio}_by_cpu"] = round(spent[bare_run] / spent[web_run], 3) if spent[web_run] else None
    figures["non_incident_all_200_ignored"] = runs["receiver_non_incident"].statuses.keys() == {200}
    figures["incident_all_202_queued"] = runs["receiver_incident"].statuses.keys() == {202}
    workers = sorted(kib for pid, kib in peaks.items() if pid != web.popen.pid)
    memory = {
        "master_kib": peaks[web.popen.pid],
        "workers_kib": workers,
        "sum_kib": peaks[web.popen.pid] + sum(workers),
    }
    return figures, memory


# (b) Delivery → first write latency.
@dataclass
class TimedFake(FakeGitLab):
    """The fake GitLab, noting when the first write for each issue arrived."""

    first_write: dict[int, float] = field(default_factory=dict)

    def handle(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, Any]:
        """Note the arrival of the issue's first write, then answer as the fake does."""
        arrived = time.monotonic()
        if method != "GET":
            match = re.search(r"/projects/\d+/issues/(\d+)", url)
            if match:
                with self.lock:
                    self.first_write.setdefault(int(match.group(1)), arrived)
        return super().handle(method, url, body, headers)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(int(round(q / 100 * len(ordered) + 0.5)) - 1, 0)
    return ordered[min(rank, len(ordered) - 1)]


def bench_latency(profile: Profile, redis_url: str, logs: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Steady deliveries, each for its own issue, through web + 1 worker; latency to the first GitLab write.

    Then a few more deliveries while the worker's processes are sampled for memory: the sampler
    scans /proc every few milliseconds, which would perturb the latency figures.
    """
    count = int(LATENCY_RATE * profile.latency_seconds)
    first_iid, warm_iids, memory_iids = 1000, [900, 901, 902], list(range(800, 800 + profile.memory_deliveries))
    fake = TimedFake()
    for iid in [*warm_iids, *memory_iids, *range(first_iid, first_iid + count)]:
        fake.add_issue(1, iid)
    run_id = uuid.uuid4().hex[:8]
    queue = f"bench-{run_id}"
    with FakeGitLabServer(fake) as gitlab:
        env = service_env(redis_url, queue, gitlab.url)
        web = start_http("web-latency", ["-m", "service.cli", "web"], env, logs)
        worker = spawn("worker", ["-m", "service.cli", "worker"], env, logs)
        with running(web, worker):
            connection = Redis.from_url(redis_url)
            wait_until(
                lambda: Worker.all(queue=Queue(queue, connection=connection)), timeout=30, what="worker registered"
            )
            # Before any job, the worker's only child is its scheduler process.
            scheduler_pids = set(wait_until(lambda: tree_pids(worker.popen.pid), timeout=30, what="scheduler"))
            # Warm-up: the bot's username and the on-call users get cached, imports are done.
            for iid in warm_iids:
                post(web.url, iid, f"warm-{run_id}-{iid}")
            wait_until(lambda: all(i in fake.first_write for i in warm_iids), timeout=30, what="warm-up writes")
            sent: dict[int, float] = {}
            answer_ms: list[float] = []
            statuses: dict[int, int] = {}
            start = time.monotonic()
            for n in range(count):
                time.sleep(max(start + n / LATENCY_RATE - time.monotonic(), 0))
                iid = first_iid + n
                sent[iid] = time.monotonic()
                status = post(web.url, iid, f"lat-{run_id}-{iid}")
                answer_ms.append((time.monotonic() - sent[iid]) * 1000)
                statuses[status] = statuses.get(status, 0) + 1
            send_seconds = time.monotonic() - start
            try:
                wait_until(lambda: all(i in fake.first_write for i in sent), timeout=60, what="all first writes")
            except AssertionError:
                pass  # reported as missing below
            with PeakSampler(worker.popen.pid, interval=0.002) as sampler:
                for iid in memory_iids:
                    post(web.url, iid, f"mem-{run_id}-{iid}")
                    time.sleep(1 / LATENCY_RATE)
                idle = Queue(queue, connection=connection)
                wait_until(
                    lambda: idle.count == 0 and idle.started_job_registry.count == 0, timeout=60, what="queue drained"
                )
            connection.close()
    latencies = [(fake.first_write[i] - sent[i]) * 1000 for i in sent if i in fake.first_write]
    writes = sorted(fake.first_write[i] for i in sent if i in fake.first_write)
    # Below the send rate, the worker falls behind and latency grows with the length of the run.
    drain = (len(writes) - 1) / (writes[-1] - writes[0]) if len(writes) > 1 and writes[-1] > writes[0] else None
    figures = {
        "deliveries": count,
        "rate_per_s": LATENCY_RATE,
        "achieved_rate_per_s": round(count / send_seconds, 1),
        "answers": {str(k): v for k, v in sorted(statuses.items())},
        "missing_writes": count - len(latencies),
        "p50_ms": round(percentile(latencies, 50), 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 99), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
        "edge_answer_p50_ms": round(percentile(answer_ms, 50), 1),
        "edge_answer_p99_ms": round(percentile(answer_ms, 99), 1),
        "worker_deliveries_per_s": round(drain, 1) if drain else None,
    }
    # IncidentWorker runs jobs in its own process: the tree is the worker and RQ's scheduler.
    main_kib = sampler.peaks.get(worker.popen.pid, 0)
    scheduler_kib = sorted(sampler.peaks.get(pid, 0) for pid in scheduler_pids)
    memory = {
        "worker_kib": main_kib,
        "scheduler_kib": scheduler_kib,
        "jobs_during_sampling": len(memory_iids),
        "sum_kib": main_kib + sum(scheduler_kib),
    }
    return figures, memory


def post(url: str, iid: int, key: str) -> int:
    """POST one incident delivery for issue `iid`; returns the HTTP status."""
    response = requests.post(
        f"{url}/webhook", data=body("issue.open.incident", iid=iid), headers=hook_headers(key=key), timeout=10
    )
    return response.status_code


# (e) GitLab calls per delivery, and the planning inputs for (d).
@dataclass(frozen=True)
class Planned:
    """One planning call as the worker made it, kept to be replayed by the planning benchmark."""

    story: str
    event: Event
    state: IncidentState
    plan: Plan


def naive_calls(plan: Plan) -> int:
    """What a bot making one GitLab call per planned action would make."""
    return sum(1 for action in plan.actions if isinstance(action, NAIVE_CALL_ACTIONS))


def bench_calls(redis_url: str, rules: RuleSet) -> tuple[list[dict[str, Any]], list[Planned]]:
    """The three stories through process_delivery in this process, GitLab faked behind `responses`."""
    model = FakeGitLab()
    model.add_issue(1, 23)
    settings = Settings(
        gitlab_url=GITLAB,
        gitlab_token="bench-token",
        webhook_secret=SECRET,
        redis_url=redis_url,
        rules_dir=TEST_RULES,
    )
    connection = Redis.from_url(redis_url)
    connection.flushdb()
    install(Runtime(settings=settings, rules=rules, connection=connection, clock=lambda: NOW))
    planned: list[Planned] = []
    story = ""
    original = worker_module.plan_event

    def recording(event: Event, state: IncidentState, ruleset: RuleSet, now: datetime, *delivery: Any) -> Plan:
        """plan_event, remembering its inputs and plan (`delivery`: the bot's username, the author's access)."""
        plan = original(event, state, ruleset, now, *delivery)
        planned.append(Planned(story, event, state, plan))
        return plan

    def person(change: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
        """A change a person makes to issue 1#23 in GitLab before the next delivery."""
        return lambda: change(model.issues[(1, 23)])

    steps = [
        ("1 open", "issue.open.incident", None),
        ("2 severity 3→1", "issue.update.severity", person(lambda i: i["labels"].append("severity::1"))),
        ("2 repeated label event", "issue.update.severity", None),
        ("3 phase → mitigation", "issue.update.phase", person(lambda i: i["labels"].append("incident::mitigation"))),
        ("3 close", "issue.close.incident", person(lambda i: i.update(state="closed"))),
    ]
    rows = []
    worker_module.plan_event = recording  # type: ignore[assignment]
    try:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            install_responses(rsps, model, GITLAB)
            for n, (story, fixture, change) in enumerate(steps):
                if change:
                    change()
                mark = len(model.calls)
                process_delivery(
                    body(fixture), {"delivery_id": f"bench-{n}", "event_uuid": f"uuid-{n}", "event": "Issue Hook"}
                )
                made = model.calls[mark:]
                plan = planned[-1].plan if planned and planned[-1].story == story else Plan()
                rows.append(
                    {
                        "story": story,
                        "reads": sum(1 for c in made if not c.is_write),
                        "writes": sum(1 for c in made if c.is_write),
                        "write_calls": [f"{c.method} {c.path}" for c in made if c.is_write],
                        "read_calls": [f"{c.method} {c.path}" for c in made if not c.is_write],
                        "actions": len(plan.actions),
                        "naive_writes": naive_calls(plan),
                    }
                )
    finally:
        worker_module.plan_event = original
        connection.flushdb()
        connection.close()
    return rows, planned


# (d) Planning cost.
def time_plans(planned: Planned, rules: RuleSet, batch_seconds: float, batches: int = 5) -> float:
    """Microseconds per plan_event call: the median of several timed batches, after a warm-up."""
    for _ in range(20):
        plan_event(planned.event, planned.state, rules, NOW)
    per_call = []
    for _ in range(batches):
        n, begin = 0, time.perf_counter()
        while True:
            plan_event(planned.event, planned.state, rules, NOW)
            n += 1
            elapsed = time.perf_counter() - begin
            if elapsed >= batch_seconds:
                break
        per_call.append(elapsed / n * 1e6)
    return statistics.median(per_call)


def bench_planning(planned: list[Planned], shipped: RuleSet, big: RuleSet, batch: float) -> list[dict[str, Any]]:
    """The open, severity and phase deliveries of the stories, planned again and again in this process."""
    wanted = {"1 open": "open", "2 severity 3→1": "severity", "3 phase → mitigation": "phase"}
    rows = []
    for item in planned:
        if item.story in wanted:
            rows.append(
                {
                    "payload": wanted[item.story],
                    "shipped_us": round(time_plans(item, shipped, batch), 1),
                    "generated_us": round(time_plans(item, big, batch), 1),
                    "generated_actions": len(plan_event(item.event, item.state, big, NOW).actions),
                    "shipped_actions": len(item.plan.actions),
                }
            )
    return rows


# Report.
def verdict(value: float | None, target: float, higher_is_better: bool) -> str:
    """`met` or `MISSED` against a target."""
    if value is None:
        return "n/a"
    met = value >= target if higher_is_better else value <= target
    return "met" if met else "MISSED"


def mib(kib: int) -> str:
    """KiB as MiB, one decimal."""
    return f"{kib / 1024:.1f}"


def report(results: dict[str, Any]) -> str:
    """The figures as a plain-text table."""
    r, lat, mem = results["receiver"], results["latency"], results["memory"]
    lines = [f"incident-bot benchmark{' (--quick)' if results['quick'] else ''}: {results['machine']}"]
    lines.append("")
    lines.append(
        f"(a) receiver alone (no worker), {r['tool']} {r['connections']} connections, {r['rounds']} round(s) "
        f"of {r['seconds']:.0f} s per endpoint after a {r['warmup']:.0f} s warm-up, gunicorn "
        f"{r['gunicorn']['workers']} {r['gunicorn']['worker_class']} workers"
    )
    lines.append(f"    {'endpoint':<40}{'req/s':>9}  {'answers':<20}{'× bare':>8}  {'CPU µs/req (× bare)':<21}target")
    for label, key, ratio_key, target_key in (
        ("bare Flask, docs body", "bare_docs", None, None),
        ("bare Flask, incident body", "bare_incident", None, None),
        ("receiver, non-incident (ignored)", "receiver_non_incident", "non_incident_ratio", "non_incident_ratio"),
        ("receiver, incident (queued)", "receiver_incident", "incident_ratio", "incident_ratio"),
        ("  reference: bare + one Redis PING", "bare_ping_incident", "ping_ratio", None),
        ("  reference: receiver, RQ's own enqueue", "rq_enqueue_incident", "rq_enqueue_ratio", None),
    ):
        row = r[key]
        answers = ", ".join(f"{n}×{code}" for code, n in row["statuses"].items())
        if row["socket_errors"]:
            answers += f", {row['socket_errors']} socket errors"
        ratio = f"{r[ratio_key]:.2f}" if ratio_key else "1.00"
        target = (
            f"≥ {TARGETS[target_key]:.2f}× {verdict(r[ratio_key], TARGETS[target_key], True)}" if target_key else ""
        )
        by_cpu = r[f"{ratio_key}_by_cpu"] if ratio_key else 1.0
        spent = f"{r['cpu_us_per_request'][key]} ({by_cpu:.2f})" if by_cpu is not None else "-"
        lines.append(f"    {label:<40}{row['rps']:>9.0f}  {answers:<20}{ratio:>8}  {spent:<21}{target}")
    lines.append("")
    lines.append(
        f"(b) delivery → first GitLab write, {lat['deliveries']} deliveries at {lat['rate_per_s']:.0f}/s "
        f"(achieved {lat['achieved_rate_per_s']}/s), each its own issue, web + 1 worker"
    )
    lines.append(
        f"    p50 {lat['p50_ms']} ms ({verdict(lat['p50_ms'], TARGETS['p50_ms'], False)}, target ≤ 25), "
        f"p99 {lat['p99_ms']} ms ({verdict(lat['p99_ms'], TARGETS['p99_ms'], False)}, target ≤ 100), "
        f"max {lat['max_ms']} ms, mean {lat['mean_ms']} ms; missing writes: {lat['missing_writes']}"
    )
    lines.append(
        f"    edge answer p50 {lat['edge_answer_p50_ms']} ms, p99 {lat['edge_answer_p99_ms']} ms; "
        f"answers {lat['answers']}; the worker got through {lat['worker_deliveries_per_s']} deliveries/s"
    )
    lines.append("")
    web, wk = mem["web"], mem["worker"]
    lines.append("(c) peak RSS (VmHWM, MiB; forked processes share pages, so sums overstate)")
    lines.append(
        f"    web: master {mib(web['master_kib'])}, workers "
        f"{' + '.join(mib(k) for k in web['workers_kib'])}, sum {mib(web['sum_kib'])}"
    )
    lines.append(
        f"    worker: main {mib(wk['worker_kib'])}, scheduler "
        f"{' + '.join(mib(k) for k in wk['scheduler_kib']) or '-'}, sum {mib(wk['sum_kib'])} "
        f"(after {wk['jobs_during_sampling']} jobs)"
    )
    lines.append("")
    plan = results["planning"]
    lines.append(
        f"(d) planning cost per delivery, µs per plan_event (shipped: {plan['shipped_rules']} rules; "
        f"generated: {plan['generated_rules']} rules)"
    )
    lines.append(
        f"    {'payload':<12}{'shipped':>10}  {'target ≤ 1000':<16}{'generated':>10}  {'target ≤ 10000':<16}"
        "actions (shipped/generated)"
    )
    for row in plan["rows"]:
        lines.append(
            f"    {row['payload']:<12}{row['shipped_us']:>10.0f}  "
            f"{verdict(row['shipped_us'], TARGETS['plan_shipped_us'], False):<16}"
            f"{row['generated_us']:>10.0f}  {verdict(row['generated_us'], TARGETS['plan_500_us'], False):<16}"
            f"{row['shipped_actions']}/{row['generated_actions']}"
        )
    lines.append("")
    lines.append("(e) GitLab calls per delivery (the GitLab session against the fake via `responses`)")
    lines.append(f"    {'story':<28}{'reads':>6}{'writes':>8}{'naive':>7}  writes made")
    for row in results["calls"]:
        lines.append(
            f"    {row['story']:<28}{row['reads']:>6}{row['writes']:>8}{row['naive_writes']:>7}  "
            f"{', '.join(row['write_calls']) or '-'}"
        )
    lines.append("    naive = one call per AddLabels/RemoveLabels/Assign/PostNote/SetNativeSeverity/OpenReview action")
    lines.append("")
    lines.append(f"took {results['took_s']:.0f} s; figures also in {results['json']}")
    return "\n".join(lines)


def machine() -> str:
    """What the figures were measured on."""
    tool = "wrk" if wrk_path() else "python clients"
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, load by {tool}, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


def main(argv: list[str] | None = None) -> int:
    """Run every part, print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shorter runs (under a minute in all)")
    parser.add_argument("--redis", default=DEFAULT_REDIS, help=f"Redis database to use and flush ({DEFAULT_REDIS})")
    parser.add_argument("--json", default=str(ROOT / "bench" / "last-run.json"), help="where to write the figures")
    args = parser.parse_args(argv)
    profile = Profile.pick(args.quick)
    began = time.monotonic()
    connection = Redis.from_url(args.redis)
    connection.flushdb()
    shipped = load_rules(TEST_RULES)
    results: dict[str, Any] = {"quick": args.quick, "machine": machine(), "targets": TARGETS}
    try:
        with tempfile.TemporaryDirectory(prefix="incident-bot-bench-") as tmp:
            logs = Path(tmp)
            try:
                receiver, web_memory = bench_receiver(profile, args.redis, logs)
                connection.flushdb()
                latency, worker_memory = bench_latency(profile, args.redis, logs)
            except Exception:
                for log in sorted(logs.glob("*.log")):
                    print(f"----- {log.name} -----\n{log.read_text(errors='replace')[-4000:]}", file=sys.stderr)
                raise
            calls, planned = bench_calls(args.redis, shipped)
            big = load_rules(write_rules_dir(logs / "rules-500", TEST_RULES, count=500))
            planning = bench_planning(planned, shipped, big, profile.plan_batch)
    finally:
        connection.flushdb()
        connection.close()
    results.update(
        receiver=receiver,
        latency=latency,
        memory={"web": web_memory, "worker": worker_memory},
        planning={"shipped_rules": len(shipped.rules), "generated_rules": len(big.rules), "rows": planning},
        calls=calls,
        took_s=round(time.monotonic() - began, 1),
        json=args.json,
    )
    print(report(results))
    Path(args.json).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
