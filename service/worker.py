"""The RQ side: the job that plans and applies one delivery, and the tuned worker."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from redis import Redis
from redis.exceptions import RedisError, WatchError
from rq import Queue, SimpleWorker, get_current_job, worker_registration
from rq.exceptions import NoSuchJobError
from rq.executions import Execution
from rq.group import Group
from rq.job import Job
from rq.registry import clean_registries
from rq.utils import now
from rq.worker import WorkerStatus

from . import logs, recovery
from .apply import apply_plan, log_plan
from .config import Settings
from .events import Event, PayloadError, parse_event
from .gitlab import GitLabClient, PermanentGitLabError, PythonGitLabClient
from .incident import IncidentState, find_memory, state_from_event
from .plan import Plan
from .planner import plan_event
from .queue import remember_bot_username
from .rules import RulesError, RuleSet, fingerprint, load_rules

log = logging.getLogger("incident_bot.worker")
BOT_CACHE_SECONDS = 3600
ACCESS_CACHE_SECONDS = 30  # only for commands that change nothing (help); the others always ask
MAINTENANCE_LOCK_SECONDS = 30
CHANGING_COMMANDS = frozenset({"severity", "phase", "handoff", "update", "page"})
DRY_RUN_ACCESS = 30  # dry-run cannot ask GitLab; it shows what a Developer's command would do


@dataclass
class Runtime:
    """What every job of a worker process shares: settings, rules, Redis, the GitLab client."""

    settings: Settings
    rules: RuleSet
    connection: Redis
    client_factory: Callable[[], GitLabClient] | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    side_jobs: Callable[[Plan, Event, IncidentState], None] | None = None
    _client: GitLabClient | None = None
    _rules_seen: tuple[tuple[str, int, int], ...] | None = None

    def refresh_rules(self) -> bool:
        """Pick up edited rules between jobs; an invalid edit is logged and the last good rules stay."""
        seen = fingerprint(self.settings.rules_dir)
        if self._rules_seen is None:
            self._rules_seen = seen
            return False
        if seen == self._rules_seen:
            return False
        self._rules_seen = seen
        try:
            rules = load_rules(self.settings.rules_dir)
        except RulesError as exc:
            log.error("rules not reloaded, keeping the last good ones: %s", exc.report())
            return False
        self.rules = rules
        log.info("rules reloaded: %s", rules.summary())
        return True

    @property
    def dry_run(self) -> bool:
        return self.settings.dry_run and self.client_factory is None

    def client(self) -> GitLabClient:
        if self._client is None:
            if self.client_factory is not None:
                self._client = self.client_factory()
            else:
                self._client = PythonGitLabClient(
                    self.settings.gitlab_url,
                    self.settings.gitlab_token,
                    timeout=self.settings.gitlab_timeout,
                    cache=self.connection,
                )
        return self._client

    def bot_username(self) -> str:
        """The bot's own GitLab username, asked once an hour (`GET /user`) and shared through Redis."""
        if self.dry_run:
            return self.settings.bot_username
        key = "incident-bot:bot-user-checked"
        cached = self.connection.get("incident-bot:bot-username")
        if cached and self.connection.exists(key):
            return cached.decode() if isinstance(cached, bytes) else str(cached)
        username = self.client().current_user().username
        remember_bot_username(self.connection, username)
        self.connection.set(key, "1", ex=BOT_CACHE_SECONDS)
        return username


_runtime: Runtime | None = None


def install(runtime: Runtime) -> None:
    """Make `runtime` the one the jobs of this process use."""
    global _runtime
    _runtime = runtime


def current() -> Runtime:
    if _runtime is None:
        raise RuntimeError("incident-bot worker runtime not installed; start it with `incident-bot worker`")
    return _runtime


def _no_retry() -> None:
    """Retrying cannot help (a malformed delivery, a 4xx from GitLab): fail the job now."""
    job = get_current_job()
    if job is not None:
        job.retries_left = 0


def load_state(client: GitLabClient, event: Event, bot: str, actor_access: int | None = None) -> IncidentState:
    """What the incident is now, from GitLab: the issue, the bot's memory and the checklist notes it names.

    The memory note is read by the id Redis remembers, so a delivery costs the same
    however many comments the issue has; every page of notes is read only when that
    pointer is missing or stale (Redis flushed, note deleted, or not the bot's).
    """
    from .incident import Note, checklist_notes, memory_in, resolve_checklists

    pid, iid = event.project_id, event.iid
    issue = client.get_issue(pid, iid)
    pointer = client.memory_note(pid, iid)
    note = client.get_note(pid, iid, pointer) if pointer is not None else None
    memory = memory_in(note, bot)
    notes: list[Note] = []
    if memory is None:
        memory, note = find_memory(client.iter_notes(pid, iid), bot)
        if memory.get("declared") and "checklists" not in memory:
            # Memory from before checklist note ids were kept in it: find them; the next note written keeps them
            # (until then no pointer is set, so they are looked for again rather than forgotten).
            memory = {**memory, "checklists": checklist_notes(client.iter_notes(pid, iid), bot)}
        elif note is not None:
            client.remember_memory_note(pid, iid, note.id)
    memory = resolve_checklists(memory, note.id if note else None)
    checklists = memory.get("checklists")
    wanted = checklists.get(memory.get("phase") or "") if isinstance(checklists, dict) else None
    if isinstance(wanted, int) and note is not None and wanted == note.id:
        notes.append(note)
    elif isinstance(wanted, int):
        found = client.get_note(pid, iid, wanted)
        if found is not None and found.author == bot:
            notes.append(found)
    return IncidentState(
        issue=issue,
        memory=memory,
        memory_note_id=note.id if note else None,
        memory_note_body=note.body if note else "",
        notes=tuple(notes),
        bot_username=bot,
        actor_access=actor_access,
    )


def addresses_bot(event: Event, bot: str) -> bool:
    """A new comment with a line starting `@bot`: its author's access level will be needed."""
    from .handlers.commands import parse

    return event.is_note and event.action == "create" and parse(event.note or "", bot) is not None


def changes_something(event: Event, bot: str) -> bool:
    """A command that changes the incident or tells people (severity, phase, handoff, update, page)."""
    from .handlers.commands import parse

    found = parse(event.note or "", bot)
    return found is not None and found[0] in CHANGING_COMMANDS


def access_level(runtime: Runtime, event: Event, fresh: bool = False) -> int:
    """The author's access level in the project (commands need Developer).

    Asked of GitLab for every command that changes something, so a removed member loses
    that power at once; `help` and other answers reuse a level asked seconds ago.
    """
    if event.actor.id is None:
        return 0
    key = f"incident-bot:access:{event.project_id}:{event.actor.id}"
    cached = None if fresh else runtime.connection.get(key)
    if cached is not None:
        return int(cached)
    level = runtime.client().access_level(event.project_id, event.actor.id)
    runtime.connection.set(key, level, ex=ACCESS_CACHE_SECONDS)
    return level


def process_delivery(body: bytes, meta: dict[str, Any]) -> str:
    """The RQ job: parse, load state, plan, apply. Returns a one-line summary."""
    runtime = current()
    try:
        event = parse_event(
            json.loads(body),
            delivery_id=meta.get("delivery_id", ""),
            event_uuid=meta.get("event_uuid"),
            incident_label=runtime.rules.incident_label,
        )
    except Exception as exc:
        # Parsing is pure: whatever it raises (a TypeError from `"assignees": 5` as much as a
        # PayloadError), a retry raises it again while the issue's later events wait.
        _no_retry()
        raise PayloadError(f"delivery {meta.get('delivery_id')}: {type(exc).__name__}: {exc}") from exc
    blog = logs.bind(log, delivery=event.delivery_id, project=event.project_id, iid=event.iid)
    try:
        return _process(runtime, event, blog)
    except PermanentGitLabError:
        _no_retry()
        raise


class PlanningError(Exception):
    """Planning raised (a rule template failing at render time): pure, so retrying cannot help."""


def _plan(event: Event, state: IncidentState, runtime: Runtime) -> Plan:
    try:
        return plan_event(event, state, runtime.rules, runtime.clock())
    except Exception as exc:
        _no_retry()
        raise PlanningError(f"delivery {event.delivery_id}: planning failed: {type(exc).__name__}: {exc}") from exc


def _process(runtime: Runtime, event: Event, blog: logs.Bound) -> str:
    bot = runtime.bot_username()
    if event.actor.username == bot:
        blog.info("ignored: the bot's own change")
        return "ignored: own change"
    if runtime.dry_run:
        state = replace(state_from_event(event), bot_username=bot, actor_access=DRY_RUN_ACCESS)
        plan = _plan(event, state, runtime)
        log_plan(plan, event, blog)  # type: ignore[arg-type]
        return f"dry-run: {len(plan.actions)} actions"
    client = runtime.client()
    if isinstance(client, PythonGitLabClient):
        client.for_delivery(event.event_uuid)
    access = access_level(runtime, event, fresh=changes_something(event, bot)) if addresses_bot(event, bot) else None
    state = load_state(client, event, bot, access)
    if state.remembers(event.delivery_id):
        blog.info("skipped: delivery already applied")
        return "already applied"
    plan = _plan(event, state, runtime)
    for line in plan.describe():
        blog.info("plan: %s", line)

    def side_jobs(done: Plan) -> None:
        if runtime.side_jobs is not None:
            runtime.side_jobs(done, event, state)

    outcome = apply_plan(plan, state, event, client, side_jobs=side_jobs)
    blog.info("applied: %s", ", ".join(outcome.writes) or "nothing to write")
    return "applied: " + (", ".join(outcome.writes) or "nothing")


class IncidentWorker(SimpleWorker):
    """An RQ worker that never loses a job it took, rides out Redis restarts, and heartbeats from a thread.

    RQ's forking worker pays ~15 ms a job for the fork and opens new connections
    to GitLab in every work horse (a TLS handshake per event against a real GitLab);
    its SimpleWorker keeps them, but sends no heartbeat while a job runs, so its
    heartbeats must outlast the job timeout and a killed worker's event waits for
    minutes. Here a thread keeps heartbeating during the job, so the heartbeat TTL
    stays short (monitoring interval + slack) and a killed worker's event is retried
    within seconds. Job timeouts are still enforced (SIGALRM in the main thread).

    Dequeueing goes through `recovery.Claims` (see there why RQ's own is not enough), and
    every Redis call outside a job is guarded: a Redis restart is waited out, never a reason to quit.
    """

    heartbeat_slack = 10
    # Redis restarts: try again every second or two, not after RQ's growing pause of up to a minute.
    max_connection_wait_time = 2.0
    block_seconds = 1  # how long a dequeue blocks on the deliveries queue before looking at the others

    @property
    def claims(self) -> recovery.Claims:
        """This worker's claims list (created on first use, after the worker has its name)."""
        found: recovery.Claims | None = getattr(self, "_claims", None)
        if found is None:
            found = self._claims = recovery.Claims(self.connection, self.name)
        return found

    # Dequeue: always into the claims list, so a stop or a kill between pop and start loses nothing.
    def dequeue_job_and_maintain_ttl(
        self, timeout: int | None, max_idle_time: int | None = None
    ) -> tuple[Job, Queue] | None:
        self.set_state_quietly(WorkerStatus.IDLE)
        self.procline("Listening on " + ",".join(self.queue_names()))
        wait = 1.0
        idle_since = time.monotonic()
        by_key = {queue.key: queue for queue in self._ordered_queues}
        while True:
            try:
                self.heartbeat()
                if self.should_run_maintenance_tasks:
                    self.run_maintenance_tasks()
                block = 0 if timeout is None else self.block_seconds
                job_id = self.claims.take([q.key for q in self._ordered_queues], block)
                wait = 1.0
                if job_id is not None:
                    found = self._fetch_claimed(job_id, by_key)
                    if found is not None:
                        return found
                    continue
                if timeout is None:
                    return None
                if max_idle_time is not None and time.monotonic() - idle_since > max_idle_time:
                    return None
            except RedisError as exc:
                self.log.warning("Worker %s: Redis unavailable (%s); trying again in %.0f s", self.name, exc, wait)
                time.sleep(wait)
                wait = min(wait * 2, self.max_connection_wait_time)

    def _fetch_claimed(self, job_id: str, by_key: dict[str, Queue]) -> tuple[Job, Queue] | None:
        try:
            job = self.job_class.fetch(job_id, connection=self.connection, serializer=self.serializer)
        except NoSuchJobError:
            self.claims.drop(job_id)
            return None
        queue = by_key.get(Queue(job.origin, connection=self.connection).key) or Queue(
            job.origin, connection=self.connection
        )
        job.redis_server_version = self.get_redis_server_version()
        self.log.debug("Worker %s: %s: %s", self.name, queue.name, job.id)
        return job, queue

    def _start(self, job: Job) -> Execution | None:
        """Turn the claim into a started execution, atomically; None if the claim was returned meanwhile."""
        key = self.claims.key
        with self.connection.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    if pipe.lpos(key, job.id) is None:
                        return None
                    pipe.multi()
                    ttl = self.get_heartbeat_ttl(job)
                    execution = Execution.create(job, ttl, pipeline=pipe, worker_name=self.name)
                    self.set_state(WorkerStatus.BUSY, pipeline=pipe)
                    self.heartbeat(ttl, pipeline=pipe)
                    job.heartbeat(now(), ttl, pipeline=pipe)
                    job.prepare_for_execution(self.name, pipeline=pipe)
                    pipe.persist(job.key)
                    pipe.lrem(key, 1, job.id)
                    pipe.execute()
                    self.executions[execution.id] = execution
                    return execution
                except WatchError:
                    continue

    def prepare_job_execution(self, job: Job, remove_from_intermediate_queue: bool = False) -> None:
        # Done by _start, in the same transaction that removed the claim.
        self.procline(f"Processing {job.func_name} from {job.origin} since {time.time()}")

    def execute_job(self, job: Job, queue: Queue) -> None:
        if _runtime is not None:
            _runtime.refresh_rules()
        try:
            execution = self._start(job)
        except RedisError as exc:
            # The claim stays in this worker's list; the next dequeue puts it back on the queue.
            self.log.warning("Worker %s: Redis unavailable starting job %s (%s); it goes back", self.name, job.id, exc)
            self.set_state_quietly(WorkerStatus.IDLE)
            return
        if execution is None:
            self.log.warning("Worker %s: job %s was handed back meanwhile; not running it here", self.name, job.id)
            return
        stop = threading.Event()
        beat = threading.Thread(target=self._beat, args=(job, execution, stop), name="heartbeat", daemon=True)
        beat.start()
        try:
            self.perform_job(job, queue, execution)
        except RedisError as exc:
            # Finishing the job needs Redis. Its execution stays in the started registry, no longer
            # heartbeating: maintenance retries it, and the retry finds it applied (the bot's memory).
            self.log.warning(
                "Worker %s: Redis unavailable finishing job %s (%s); it will be retried", self.name, job.id, exc
            )
            self.executions.pop(execution.id, None)
        finally:
            stop.set()
            beat.join()
        self.set_state_quietly(WorkerStatus.IDLE)

    def _beat(self, job: Job, execution: Execution, stop: threading.Event) -> None:
        while not stop.wait(self.job_monitoring_interval):
            try:
                self.maintain_heartbeats(job, execution)
            except RedisError as exc:
                log.warning("heartbeat for job %s failed: %s", job.id, exc)

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        return max(int(self.job_monitoring_interval), 1) + self.heartbeat_slack

    # Redis restarts: nothing outside a job may end the worker.
    def set_state_quietly(self, state: str) -> None:
        """Set the worker's state; a Redis outage only delays it to the next heartbeat."""
        try:
            self.set_state(state)
        except RedisError:
            self._state = state

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        # Every heartbeat says "this worker may hold claims", so a sweep never misses a claims list.
        if pipeline is not None:
            super().heartbeat(timeout, pipeline=pipeline)
            self._alive(pipeline)
            return
        try:
            with self.connection.pipeline() as pipe:
                super().heartbeat(timeout, pipeline=pipe)
                self._alive(pipe)
                pipe.execute()
        except RedisError as exc:
            self.log.warning("Worker %s: heartbeat failed: %s", self.name, exc)

    def _alive(self, pipe: Any) -> None:
        # RQ's worker key outlives a killed worker by a minute and more; this one by the job heartbeat's TTL.
        pipe.sadd(recovery.CLAIMERS_KEY, self.name)
        ttl = max(int(self.job_monitoring_interval), 1) + self.heartbeat_slack
        pipe.set(recovery.alive_key(self.name), "1", ex=ttl)

    def check_for_suspension(self, burst: bool) -> None:
        try:
            super().check_for_suspension(burst)
        except RedisError as exc:
            self.log.warning("Worker %s: Redis unavailable (%s)", self.name, exc)
            time.sleep(1)

    def run_maintenance_tasks(self) -> None:
        try:
            super().run_maintenance_tasks()
        except RedisError as exc:
            self.log.warning("Worker %s: maintenance skipped, Redis unavailable (%s)", self.name, exc)
            self.last_cleaned_at = now()  # type: ignore[assignment]

    def clean_registries(self) -> None:
        """RQ's registry cleaning (at DEBUG), and this worker's sweep of claims left by stopped workers."""
        for queue in self.queues:
            # RQ's lock lasts 15 minutes: a worker killed while cleaning would stop every recovery for that
            # long. Cleaning takes milliseconds; a killed cleaner's lock lapses in MAINTENANCE_LOCK_SECONDS.
            if self.connection.set(queue.registry_cleaning_key, 1, nx=True, ex=MAINTENANCE_LOCK_SECONDS):
                self.log.debug("Worker %s: cleaning registries for queue: %s", self.name, queue.name)
                try:
                    clean_registries(queue, self._exc_handlers)
                    worker_registration.clean_worker_registry(queue)
                finally:
                    queue.release_maintenance_lock()
        # Not RQ's intermediate-queue cleanup: it fails a stuck job; a sweep puts it back on its queue.
        self.claims.sweep()
        self.last_cleaned_at = now()  # type: ignore[assignment]

    def clean_group_registries(self) -> None:
        lock_timeout = max(int(self.maintenance_interval) - 1, 1)
        if Group.acquire_maintenance_lock(self.connection, lock_timeout):
            self.log.debug("Worker %s: cleaning group registries", self.name)
            Group.clean_registries(connection=self.connection)

    def teardown(self) -> None:
        # A warm stop may come between taking a job and starting it: hand the claim straight back.
        try:
            returned = self.claims.give_back()
            if returned:
                self.log.info("Worker %s: put %s taken job(s) back on the queue before stopping", self.name, returned)
        except RedisError as exc:
            self.log.warning("Worker %s: could not hand back claims (%s); a sweep will", self.name, exc)
        try:
            self.connection.delete(recovery.alive_key(self.name))
            super().teardown()
        except RedisError as exc:
            self.log.warning("Worker %s: could not register its stop (%s)", self.name, exc)


def make_worker(settings: Settings, connection: Redis, queues: list[str] | None = None) -> IncidentWorker:
    """An IncidentWorker tuned from settings, listening on the deliveries and notifications queues."""
    names = queues or [settings.queue_name, f"{settings.queue_name}-notify"]
    worker = IncidentWorker(
        [Queue(name, connection=connection) for name in names],
        connection=connection,
        job_monitoring_interval=settings.job_monitoring_interval,
        maintenance_interval=settings.maintenance_interval,
        # An idle worker blocks in dequeue for worker_ttl - 15 s and only then runs maintenance;
        # RQ's default (405 s) would leave a killed worker's event unnoticed for minutes.
        worker_ttl=settings.maintenance_interval + 15,
    )
    worker.heartbeat_slack = settings.heartbeat_slack
    return worker
