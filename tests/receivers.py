"""Real local receivers for notification tests: a recording HTTP server and a recording SMTP server."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

# The path plays the part of an incoming-webhook credential: tests check it never leaks.
SECRET_PATH = "/hooks/T000/B000/not-a-real-token"


@dataclass(frozen=True)
class Received:
    """One HTTP request as the receiver saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class HttpReceiver:
    """A threaded HTTP server on 127.0.0.1 that records requests and can be told to fail."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._failures = 0
        self._failure_status = 500
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits for it, once per test.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """The receiver's URL, with a credential-like path."""
        return f"http://127.0.0.1:{self._server.server_port}{SECRET_PATH}"

    def fail(self, times: int, status: int = 500) -> None:
        """Answer `status` to the next `times` requests, then 200 again."""
        with self._lock:
            self._failures, self._failure_status = times, status

    def fail_always(self, status: int = 500) -> None:
        """Answer `status` to every request from now on."""
        self.fail(10**9, status)

    @property
    def delivered(self) -> list[Received]:
        """The requests answered with success."""
        return [r for r in self.requests if 200 <= r.status < 300]

    def close(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        with self._lock:
            if self._failures > 0:
                self._failures -= 1
                status, reply = self._failure_status, b"upstream exploded\n"
            else:
                status, reply = 200, b"ok"
            self.requests.append(Received(method, path, headers, body, status))
        return status, reply

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, reply = receiver._answer("POST", self.path, headers, body)
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep pytest output for the assertions

        return Handler


@dataclass(frozen=True)
class ReceivedMail:
    """One message as the SMTP server took it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage


class _RecordingHandler:
    def __init__(self, sink: list[ReceivedMail], reject: list[bool]) -> None:
        self.sink, self.reject = sink, reject

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reject[0]:
            return "554 5.6.0 message refused by test"
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.sink.append(ReceivedMail(envelope.mail_from, tuple(envelope.rcpt_tos), parsed))
        return "250 OK"


class SmtpReceiver:
    """A real aiosmtpd SMTP server on 127.0.0.1 that records messages, or refuses them when told."""

    def __init__(self) -> None:
        self.messages: list[ReceivedMail] = []
        self._reject = [False]
        self.port = free_port()
        self._controller = Controller(
            _RecordingHandler(self.messages, self._reject), hostname="127.0.0.1", port=self.port
        )
        self._controller.start()

    def refuse(self) -> None:
        """Answer 554 to every message from now on."""
        self._reject[0] = True

    def env(self) -> dict[str, str]:
        """The `INCIDENT_BOT_SMTP_*` settings pointing at this server."""
        return {"INCIDENT_BOT_SMTP_HOST": "127.0.0.1", "INCIDENT_BOT_SMTP_PORT": str(self.port)}

    def close(self) -> None:
        """Stop the server."""
        self._controller.stop()


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on (for servers that cannot bind port 0, and refusals)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
