"""The real receiver (`incident-bot web`, gunicorn) against raw sockets: trickling clients and broken chunked bodies."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import requests

from tests.conftest import SECRET, body, test_redis_url
from tests.e2e.harness import Stack

READ_TIMEOUT = "2"  # seconds the receiver waits for a request to arrive; short, so the test is short
MAX_BODY = 4096
TRICKLERS = 6  # more than the two sync workers the receiver used to run


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`incident-bot web` with two gunicorn workers, a short read timeout and a small body limit (one per module)."""
    stack = Stack(
        tmp_path_factory.mktemp("web"),
        "http://127.0.0.1:9",  # no worker runs: GitLab is never called
        test_redis_url(),
        INCIDENT_BOT_READ_TIMEOUT=READ_TIMEOUT,
        INCIDENT_BOT_MAX_BODY_BYTES=str(MAX_BODY),
    )
    try:
        stack.start_web(workers=2)
        yield stack
    finally:
        stack.stop()
        print(stack.output())


def _connect(stack: Stack) -> socket.socket:
    """A raw TCP connection to the receiver."""
    assert stack.port is not None
    return socket.create_connection(("127.0.0.1", stack.port), timeout=30)


def _answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (or b'' if it just closes)."""
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _status(raw: bytes) -> int | None:
    """The status code of a raw HTTP answer, None if the server sent nothing."""
    return int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/") else None


def _head(length: str = "", chunked: bool = False, token: bool = False) -> bytes:
    """The request line and headers of a webhook POST."""
    lines = [
        "POST /webhook HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/json",
        "X-Gitlab-Event: Issue Hook",
    ]
    if length:
        lines.append(f"Content-Length: {length}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    if token:
        lines.append(f"X-Gitlab-Token: {SECRET}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _send(stack: Stack, data: bytes, *, half_close: bool = True) -> int | None:
    """Send raw bytes, optionally close our sending side, and return the status the server answers."""
    with _connect(stack) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        return _status(_answer(sock))


def test_trickling_clients_do_not_stop_the_receiver(web: Stack) -> None:
    """Clients that announce a body and stall: others are answered, the stalled are cut off, no worker dies."""
    stalled = [_connect(web) for _ in range(TRICKLERS)]
    try:
        for sock in stalled:
            sock.sendall(_head(length="1000") + b"{")
        assert requests.get(f"{web.url}/healthz", timeout=20).status_code == 200
        delivery = requests.post(
            f"{web.url}/webhook",
            data=body("issue.open.incident"),
            headers={"X-Gitlab-Event": "Issue Hook", "X-Gitlab-Token": SECRET, "Idempotency-Key": "slow-1"},
            timeout=20,
        )
        assert delivery.status_code == 202
        # The receiver hangs up on each stalled request (408 or a plain close) once its read time is up.
        answers = [_status(_answer(sock)) for sock in stalled]
        assert set(answers) <= {408, None}, answers
    finally:
        for sock in stalled:
            sock.close()
    log = web.output()
    assert "Traceback" not in log and "WORKER TIMEOUT" not in log, log


def test_slow_headers_are_cut_off(web: Stack) -> None:
    """A client sending its headers a few bytes at a time and then stalling is disconnected, not waited for."""
    with _connect(web) as sock:
        sock.sendall(b"POST /webhook HTTP/1.1\r\nHost: x\r\n")
        assert _status(_answer(sock)) in (408, None)
    assert requests.get(f"{web.url}/healthz", timeout=20).status_code == 200
    assert "Traceback" not in web.output()


@pytest.mark.parametrize(
    ("chunks", "half_close", "expected"),
    [
        (b"zz\r\n{}\r\n0\r\n\r\n", True, 400),  # chunk size is not hex
        (b"99999999999999999999\r\n{}\r\n0\r\n\r\n", True, 400),  # chunk size absurd
        (b"2\r\n{}\r\n", True, 400),  # no last chunk: the client closed first
        (b"2\r\n{}XX0\r\n\r\n", True, 400),  # chunk data not followed by CRLF
        (b"2\r\n{}\r\n", False, 408),  # no last chunk: the client stalls
        (b"%x\r\n%s\r\n0\r\n\r\n" % (MAX_BODY + 10, b"x" * (MAX_BODY + 10)), True, 413),  # over the limit
        (b"".join(b"400\r\n" + b"x" * 1024 + b"\r\n" for _ in range(8)) + b"0\r\n\r\n", True, 413),  # over, in pieces
    ],
)
def test_broken_chunked_bodies_are_4xx(web: Stack, chunks: bytes, half_close: bool, expected: int) -> None:
    """Chunked bodies that are malformed, unfinished or too large: a clear 4xx with no token needed, never a 500."""
    assert _send(web, _head(chunked=True) + chunks, half_close=half_close) == expected
    log = web.output()
    assert "Traceback" not in log and "Error handling request" not in log, log


def test_chunked_delivery_is_accepted(web: Stack) -> None:
    """A well-formed chunked delivery is read whole and queued like any other."""
    data = body("issue.open.incident")
    half = len(data) // 2
    chunked = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (half, data[:half], len(data) - half, data[half:])
    assert _send(web, _head(chunked=True, token=True) + chunked) == 202


def test_malformed_json_at_any_depth_is_400_from_gunicorn(web: Stack) -> None:
    """Deep nesting and non-finite numbers reach the real server as a 400, never a 500."""
    deep = b"[" * 1500 + b"]" * 1500
    assert _send(web, _head(length=str(len(deep)), token=True) + deep) == 400
    infinite = body("issue.open.incident").replace(b'"iid": 23', b'"iid": Infinity')
    assert b"Infinity" in infinite
    assert _send(web, _head(length=str(len(infinite)), token=True) + infinite) == 400
    assert "Traceback" not in web.output()
