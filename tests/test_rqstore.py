"""RQ's storage is known in one module, and every key it names is the one RQ's own objects name.

A hand-written `rq:job:<id>:dependencies` drifted from RQ 3's `rq:job::<id>:dependencies` and leaked one key per
deferred delivery (issue 17); naming every RQ key through `service.rqstore`, from RQ's API, keeps that from recurring.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import DeferredJobRegistry, FailedJobRegistry

from service import rqstore
from service.jobs import PROCESS_FUNC
from service.queue import EventQueue

ROOT = Path(__file__).resolve().parent.parent
SERVICE = ROOT / "service"
# Parsed at collection, like tests/test_layout.py (a later ast.parse can fail after another test's RecursionError).
TREES: dict[Path, ast.Module] = {
    path: ast.parse(path.read_text(), str(path)) for path in SERVICE.rglob("*.py") if "rq:" in path.read_text()
}
JOB_IDS = ["abc", "delivery-1", "staging-key-0123456789abcdef", "x_y"]
QUEUE_NAMES = ["incident-bot", "incident-bot-notify", "staging", "a:b"]


@pytest.mark.parametrize("job_id", JOB_IDS)
def test_job_keys_are_those_rq_names(job_id: str, redis_conn: Redis) -> None:
    job = Job(job_id, connection=redis_conn)
    assert rqstore.job_key(job_id) == job.key
    assert rqstore.dependencies_key(job_id) == job.dependencies_key
    assert rqstore.dependents_key(job_id) == job.dependents_key
    assert rqstore.JOB_PREFIX + job_id == job.key


@pytest.mark.parametrize("name", QUEUE_NAMES)
def test_queue_and_registry_keys_are_those_rq_names(name: str, redis_conn: Redis) -> None:
    queue = Queue(name, connection=redis_conn)
    assert rqstore.queue_key(name) == queue.key
    assert rqstore.QUEUE_PREFIX + name == queue.key
    assert rqstore.failed_key(name) == FailedJobRegistry(name, connection=redis_conn).key
    assert rqstore.deferred_key(name) == DeferredJobRegistry(name, connection=redis_conn).key
    assert rqstore.QUEUES_KEY == Queue.redis_queues_keys


def test_pending_statuses_are_those_the_enqueue_always_deferred_behind() -> None:
    assert rqstore.PENDING == ("queued", "started", "scheduled", "deferred", "ready_to_enqueue", "created")


def _docstrings(tree: ast.Module) -> set[int]:
    """The ids of the docstring nodes of a module and its classes and functions (prose, not code)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def test_only_rqstore_spells_an_rq_key() -> None:
    """No module but service/rqstore.py has an `rq:` string in its code (f-strings included)."""
    spelled = []
    for path, tree in TREES.items():
        if path == SERVICE / "rqstore.py":
            continue
        prose = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose:
                if "rq:" in node.value:
                    spelled.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    assert spelled == []


def test_a_job_the_enqueue_writes_is_one_rq_reads_back(redis_conn: Redis) -> None:
    """The job hash written in RQ's format (template fields and each job's own) is what RQ's `Job.fetch` reads."""
    queue = EventQueue(redis_conn, "rqstore-format")
    queue.enqueue(b"{}", {"event": "issue"}, delivery_id="fmt-1", issue_key="g/p#1", actor="")
    job = Job.fetch("fmt-1", connection=redis_conn)
    assert (job.func_name, job.args, job.kwargs) == (PROCESS_FUNC, (b"{}", {"event": "issue"}), {})
    assert (job.origin, job.get_status(), job.description) == ("rqstore-format", "queued", "issue for g/p#1")
    assert job.enqueued_at is not None and job.created_at == job.enqueued_at
    assert rqstore.enqueued_at(redis_conn, "fmt-1") == job.enqueued_at.timestamp()
    assert rqstore.enqueued_at(redis_conn, "never-enqueued") is None
