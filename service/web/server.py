"""Run the Flask receiver under gunicorn, configured from code rather than a config file."""

from __future__ import annotations

import errno
import os
import socket
import time
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import TConn, ThreadWorker

from .. import logs, metrics
from ..config import DEFAULT_READ_TIMEOUT
from .app import create_app

# Threads per gunicorn worker: each request being read or answered holds one, so a few clients that
# trickle their bytes cannot leave the others unanswered (the old sync workers had one slot each).
THREADS = 8


class Gunicorn(BaseApplication):
    """gunicorn serving the app that `factory` makes, with `options` as its settings."""

    def __init__(self, options: dict[str, Any], factory: Callable[[], Any]):
        self.options = options
        self.factory = factory
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self.factory()


class DeadlineSocket:
    """A client socket whose reads end at a per-request deadline: a stalled client reads as a closed one.

    gthread reads a request with blocking calls and no timeout, so a client that announces a body and
    sends it a byte a minute holds a thread for ever. gthread makes the socket blocking at the start of
    every request on a connection; that is where the deadline starts. `timed_out` tells the app that a
    short body was a slow client (408), not a malformed request (400).
    """

    __slots__ = ("_sock", "_limit", "_deadline", "timed_out")

    def __init__(self, sock: socket.socket, limit: float):
        self._sock = sock
        self._limit = limit
        self._deadline = time.monotonic() + limit
        self.timed_out = False

    def setblocking(self, flag: bool) -> None:
        """Blocking (a request starts): a fresh deadline; non-blocking (back to the poller): as is."""
        if flag:
            self._deadline = time.monotonic() + self._limit
            self.timed_out = False
            self._sock.settimeout(self._limit)
        else:
            self._sock.setblocking(False)

    def recv(self, size: int, flags: int = 0) -> bytes:
        """`socket.recv`, returning b"" (end of stream) once the request's deadline has passed."""
        remaining = self._deadline - time.monotonic()
        if remaining > 0:
            current = self._sock.gettimeout()
            if current is None or current > remaining:
                self._sock.settimeout(remaining)
            try:
                return self._sock.recv(size, flags)
            except TimeoutError:
                pass
        self.timed_out = True
        self._sock.settimeout(self._limit)  # the answer (408) still gets its own time to go out
        return b""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class BoundedThreadWorker(ThreadWorker):
    """gunicorn's gthread worker, reading each request within `read_timeout` seconds."""

    read_timeout: float = DEFAULT_READ_TIMEOUT

    def accept(self, listener: socket.socket) -> None:
        """As gthread's accept, with the client socket wrapped in a DeadlineSocket."""
        try:
            client_sock, client_addr = listener.accept()
            self.nr_conns += 1
            client_sock.setblocking(True)
            wrapped = DeadlineSocket(client_sock, self.read_timeout)
            self.enqueue_req(TConn(self.cfg, wrapped, client_addr, listener.getsockname()))
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise


def default_workers() -> int:
    """One sync worker per core, at least two.

    Measured on 2 cores (bench/run.py): 4 workers raise the incident path from ~2,200 to
    ~2,600 deliveries/s by overlapping Redis waits, but cut the far more frequent ignored
    deliveries from ~5,300 to ~4,700/s; both are far above any GitLab webhook rate.
    """
    return max(2, os.cpu_count() or 1)


def gunicorn_options(bind: str, workers: int, read_timeout: float = DEFAULT_READ_TIMEOUT) -> dict[str, Any]:
    """The settings the receiver runs with; the benchmark uses the same for its baseline."""
    worker_class = type("BoundedThreadWorker", (BoundedThreadWorker,), {"read_timeout": read_timeout})
    return {
        "bind": bind,
        "workers": max(workers, 1),
        "worker_class": worker_class,
        "threads": THREADS,
        # GitLab waits 10 s for an answer; a delivery is answered in milliseconds.
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "accesslog": None,
        "preload_app": True,
        "child_exit": _child_exit,
        "logger_class": logs.gunicorn_logger_class(),  # gunicorn's own lines in the chosen format (text or JSON)
    }


def _child_exit(server: Any, worker: Any) -> None:
    """A gunicorn worker exited: its live metric files go (prometheus_client's multiprocess clean-up)."""
    metrics.process_dead(worker.pid)


def run_gunicorn(bind: str, workers: int = 2, read_timeout: float = DEFAULT_READ_TIMEOUT) -> None:
    """Serve `create_app()` (settings from the environment) until stopped."""
    Gunicorn(gunicorn_options(bind, workers, read_timeout), create_app).run()
