"""Three worker processes starting at once on a fresh data directory all open the index: one migrates, none fails."""

from __future__ import annotations

import multiprocessing
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

ROUNDS = 5
PROCESSES = 3


def _open(url: str, ready: Barrier, results: Queue[tuple[str, object]]) -> None:
    """One process: wait for the others, then open (and so migrate) the index, as a starting worker does."""
    from service.store import open_store
    from service.store.engine import current_revision, head

    ready.wait()
    try:
        store = open_store(url)
        results.put(("ok", current_revision(store.engine) == head()))
    except Exception as exc:  # the failure is what the test reports
        results.put(("failed", f"{type(exc).__name__}: {exc}"))


def test_three_processes_migrate_one_fresh_sqlite_file_at_once(tmp_path: Path) -> None:
    """Several rounds, each on a new file: every process opens the index at the newest revision."""
    context = multiprocessing.get_context("spawn")  # fresh interpreters, like separately started workers
    for n in range(ROUNDS):
        url = f"sqlite:///{tmp_path / f'data-{n}' / 'incidents.sqlite3'}"
        ready, results = context.Barrier(PROCESSES), context.Queue()
        procs = [context.Process(target=_open, args=(url, ready, results)) for _ in range(PROCESSES)]
        for proc in procs:
            proc.start()
        got = [results.get(timeout=120) for _ in procs]
        for proc in procs:
            proc.join(timeout=60)
        assert got == [("ok", True)] * PROCESSES, f"round {n}: {got}"
