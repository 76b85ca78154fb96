"""Property-based test of the edge: generated hostile requests never get a 5xx, never log a traceback,
and nothing accepted (202) can later fail the worker's `parse_event`.

Run with `-s` to see the answers by status. The number of requests scales with INCIDENT_BOT_FUZZ_SCALE
(1 by default: about 11,200 requests in all: 10,800 through the app, 400 raw ones to gunicorn).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from redis import Redis

from service.changes.hooks import CHANGE_EVENTS, CHANGE_HOOKS, parse_change
from service.config import Settings
from service.events import PayloadError, parse_event
from service.web.app import create_app
from service.web.edge import sign
from tests.conftest import FIXTURES, ROOT, SECRET, test_redis_url
from tests.e2e.harness import Stack

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SCALE = float(os.environ.get("INCIDENT_BOT_FUZZ_SCALE", "1"))
SHARED = ROOT.parent / "shared" / "payloads"
DOCUMENTS: list[dict[str, Any]] = [
    json.loads(path.read_text())
    for path in sorted([*FIXTURES.glob("*.json"), *SHARED.glob("*hook*.json")])
    if isinstance(json.loads(path.read_text()), dict)
]
HOOKS = ["Issue Hook", "Note Hook", "Confidential Issue Hook", "Confidential Note Hook", "Push Hook", "", "issue hook"]
HOOKS += ["Deployment Hook", "Feature Flag Hook"]  # issue 19: changes, recorded in the index
# Raw JSON text no Python value serialises to: non-finite and huge numbers, deep nesting, escaped surrogates.
RAW_TOKENS = [
    "Infinity",
    "-Infinity",
    "NaN",
    "1e400",
    "-1e400",
    "1" * 4400,
    "9" * 4299,
    "[" * 1000 + "]" * 1000,
    "[" * 999 + "]" * 999,
    "[" * 70 + "]" * 70,
    '{"a":' * 80 + "1" + "}" * 80,
    '"\\ud800"',
    '"\\udfff\\ud800"',
    "-0",
    "0",
    "1.0",
    "2.5e3",
    "true",
    "{}",
    "[]",
    "null",
]
HEADER_TEXT = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=255, blacklist_characters="\x7f"), max_size=40
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["\ud800", "\udcff", "x\ud83d", "😀", "", "0", "-1", "9" * 30, "Incident", "incident", "Issue"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path of a JSON document, containers included."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


PATHS = [_paths(document) for document in DOCUMENTS]
DOCUMENT_TEXTS = [json.dumps(document) for document in DOCUMENTS]
HOWS = st.sampled_from(["value", "raw", "delete", "add"])
RAW = st.sampled_from(RAW_TOKENS)
KEYS = st.text(max_size=8)


@st.composite
def mutated_body(draw: st.DrawFn) -> bytes:
    """A documented payload with one to four fields replaced (any JSON value or raw text), deleted, or added."""
    which = draw(st.integers(0, len(DOCUMENTS) - 1))
    document = json.loads(DOCUMENT_TEXTS[which])
    paths = PATHS[which]
    raws: dict[str, str] = {}
    for n in range(draw(st.integers(1, 4))):
        path = paths[draw(st.integers(0, len(paths) - 1))]
        parent = document
        try:
            for step in path[:-1]:
                parent = parent[step]
            parent[path[-1]]
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this field
        if not isinstance(parent, dict | list):
            continue  # an earlier mutation made the container a string, which `parent[i]` still indexes
        how = draw(HOWS)
        if how == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif how == "raw":
            marker = f"@@raw{n}@@"
            raws[marker] = draw(RAW)
            parent[path[-1]] = marker
        elif how == "add" and isinstance(parent, dict):
            parent[draw(KEYS)] = draw(VALUES)
        else:
            parent[path[-1]] = draw(VALUES)
    text = json.dumps(document)
    for marker, raw in raws.items():
        text = text.replace(f'"{marker}"', raw)
    return text.encode("utf-8", "surrogatepass")


@st.composite
def garbage_body(draw: st.DrawFn) -> bytes:
    """Truncated, spliced or random bytes, and bare JSON values."""
    document = DOCUMENT_TEXTS[draw(st.integers(0, len(DOCUMENTS) - 1))].encode()
    kind = draw(st.sampled_from(["truncated", "binary", "raw", "value", "utf16", "bom"]))
    if kind == "truncated":
        return document[: draw(st.integers(0, len(document)))]
    if kind == "binary":
        return draw(st.binary(max_size=300))
    if kind == "raw":
        return draw(st.sampled_from(RAW_TOKENS)).encode()
    if kind == "utf16":
        return document.decode().encode("utf-16")
    if kind == "bom":
        return b"\xef\xbb\xbf" + document
    return json.dumps(draw(VALUES)).encode("utf-8", "surrogatepass")


@st.composite
def headers_for(draw: st.DrawFn, body: bytes) -> dict[str, str]:
    """Hook headers with every way of authenticating, right or wrong, and odd extras."""
    headers = {"Content-Type": draw(st.sampled_from(["application/json", "text/plain", "", "application/json; x"]))}
    event = draw(st.one_of(st.sampled_from(HOOKS), HEADER_TEXT))
    if event:
        headers["X-Gitlab-Event"] = event
    auth = draw(st.sampled_from(["token", "token", "signed", "signed", "bad-token", "bad-signature", "odd", "none"]))
    if auth == "token":
        headers["X-Gitlab-Token"] = SECRET
    elif auth == "bad-token":
        headers["X-Gitlab-Token"] = draw(HEADER_TEXT)
    elif auth in ("signed", "bad-signature", "odd"):
        webhook_id = draw(st.one_of(st.just("msg_"), HEADER_TEXT.filter(bool))) + str(draw(st.integers(0, 10**9)))
        stamp = str(int(time.time()))
        if auth == "odd":
            stamp = draw(st.sampled_from(["9" * 400, "1" * 5000, "-1", " 1", "1e9", "", "0x10", "١٢٣", str(2**63)]))
        signature = "v1," + sign(SECRET, webhook_id, stamp, body)
        if auth == "bad-signature":
            signature = draw(st.sampled_from(["v1,", "v1,AAAA", "v2," + signature[3:], signature[:-2], "", " "]))
        headers.update({"webhook-id": webhook_id, "webhook-timestamp": stamp, "webhook-signature": signature})
    if draw(st.booleans()):
        headers["Idempotency-Key"] = draw(HEADER_TEXT)
    if draw(st.integers(0, 9)) == 0:
        headers["X-Gitlab-Event-UUID"] = draw(HEADER_TEXT)
    return headers


class LogRecords(logging.Handler):
    """Every log record of the app, to prove no traceback was logged."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def tracebacks(self) -> list[str]:
        return [self.format(r) for r in self.records if r.exc_info or "Traceback" in r.getMessage()]


@pytest.fixture()
def edge(settings: Settings, rules, redis_conn: Redis) -> Iterator[tuple[Any, LogRecords]]:
    """The app on the real Redis, with every log record captured."""
    records = LogRecords()
    root = logging.getLogger()
    root.addHandler(records)
    try:
        yield create_app(settings, connection=redis_conn, rules=rules).test_client(), records
    finally:
        root.removeHandler(records)


def _examples(n: int) -> settings:
    """The fuzz profile: n examples scaled, no deadline (the machine is shared), no shrinking time wasted."""
    return settings(
        max_examples=max(int(n * SCALE), 10),
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
    )


def _post(client: Any, rules: Any, body: bytes, headers: dict[str, str], counts: Counter[str]) -> None:
    """Post one request; no 5xx; a 202 must parse in the worker exactly as it will."""
    resp = client.post("/webhook", data=body, headers=headers)
    counts[str(resp.status_code)] += 1
    assert resp.status_code < 500, (resp.status_code, resp.data[:300], body[:300], headers)
    if resp.status_code == 202:
        try:
            document = json.loads(body)
            if headers.get("X-Gitlab-Event") in CHANGE_HOOKS or document.get("object_kind") in CHANGE_EVENTS:
                parse_change(document, NOW)
            else:
                parse_event(document, incident_label=rules.incident_label)
        except (ValueError, PayloadError, RecursionError) as exc:
            raise AssertionError(f"accepted, then the worker fails: {exc!r}\n{body[:500]!r}") from exc


SIGNED = iter(range(10**9))


def _check(client: Any, rules: Any, body: bytes, headers: dict[str, str], counts: Counter[str]) -> None:
    """The generated request, then the same body authenticated by token and by a fresh valid signature.

    Generating a request costs far more than answering it; the two authenticated variants also make
    sure every generated body reaches the parser, whatever its generated headers were.
    """
    _post(client, rules, body, headers, counts)
    plain = {k: v for k, v in headers.items() if not k.lower().startswith(("webhook-", "x-gitlab-token"))}
    _post(client, rules, body, {**plain, "X-Gitlab-Token": SECRET}, counts)
    webhook_id, stamp = f"msg_fuzz{next(SIGNED)}", str(int(time.time()))
    signature = "v1," + sign(SECRET, webhook_id, stamp, body)
    signed = {**plain, "webhook-id": webhook_id, "webhook-timestamp": stamp, "webhook-signature": signature}
    _post(client, rules, body, signed, counts)


def _report(name: str, counts: Counter[str], records: LogRecords) -> None:
    print(f"\n{name}: {sum(counts.values())} requests, answers by status {dict(sorted(counts.items()))}")
    assert records.tracebacks() == []


def test_mutated_payloads(edge, rules) -> None:
    """Documented payloads with wrong types, huge numbers, deep nesting or bad text in any field."""
    client, records = edge
    counts: Counter[str] = Counter()

    @_examples(2400)
    @given(st.data())
    def run(data: st.DataObject) -> None:
        body = data.draw(mutated_body())
        _check(client, rules, body, data.draw(headers_for(body)), counts)

    run()
    _report("mutated payloads", counts, records)
    assert sum(counts.values()) >= 3 * 2400 * SCALE and counts["202"] > 0 and counts["400"] > 0


def test_garbage_bodies(edge, rules) -> None:
    """Malformed JSON, bare values, random bytes, other encodings."""
    client, records = edge
    counts: Counter[str] = Counter()

    @_examples(700)
    @given(st.data())
    def run(data: st.DataObject) -> None:
        body = data.draw(garbage_body())
        _check(client, rules, body, data.draw(headers_for(body)), counts)

    run()
    _report("garbage bodies", counts, records)
    assert sum(counts.values()) >= 3 * 700 * SCALE


def test_valid_bodies_with_odd_headers(edge, rules) -> None:
    """Unchanged payloads under every kind of header and signature, right and wrong."""
    client, records = edge
    counts: Counter[str] = Counter()

    @_examples(500)
    @given(st.data())
    def run(data: st.DataObject) -> None:
        body = json.dumps(data.draw(st.sampled_from(DOCUMENTS))).encode()
        _check(client, rules, body, data.draw(headers_for(body)), counts)

    run()
    _report("odd headers", counts, records)
    assert sum(counts.values()) >= 3 * 500 * SCALE and counts["401"] > 0 and counts["202"] > 0


# Against the real receiver: raw sockets for what a test client cannot send (chunked and broken framing).
@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`incident-bot web` (gunicorn) with a small body limit and a short read timeout."""
    stack = Stack(
        tmp_path_factory.mktemp("fuzzweb"),
        "http://127.0.0.1:9",
        test_redis_url(),
        INCIDENT_BOT_MAX_BODY_BYTES="8192",
        INCIDENT_BOT_READ_TIMEOUT="2",
    )
    try:
        stack.start_web(workers=2)
        yield stack
    finally:
        stack.stop()
        print(stack.output()[-3000:])


def _exchange(port: int, data: bytes) -> int | None:
    """Send raw bytes, close our side, and return the answer's status (None if the server just closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server answered and closed before we finished: read what it said
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    raw = b"".join(chunks)
    return int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/") else None


@st.composite
def framed_request(draw: st.DrawFn) -> bytes:
    """A webhook POST whose framing is chunked (sizes right or wrong, extensions, missing parts) or by length."""
    body = draw(st.one_of(mutated_body(), garbage_body()))
    lines = [f"POST /webhook HTTP/1.{draw(st.sampled_from([0, 1]))}", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in draw(headers_for(body)).items()]
    if draw(st.booleans()):
        lines.append("Transfer-Encoding: chunked")
        pieces, rest = [], body
        while rest:
            size = draw(st.integers(1, max(len(rest), 1)))
            piece, rest = rest[:size], rest[size:]
            declared = draw(
                st.sampled_from(
                    [f"{len(piece):x}"] * 6 + [f"{len(piece) + 1:x}", "zz", "-1", "9" * 30, f"{len(piece):x};ext=1", ""]
                )
            )
            pieces.append(
                declared.encode() + b"\r\n" + piece + draw(st.sampled_from([b"\r\n"] * 6 + [b"", b"\n", b"XX"]))
            )
            if len(pieces) > 8:
                break
        pieces.append(draw(st.sampled_from([b"0\r\n\r\n"] * 4 + [b"", b"0\r\n", b"0\r\nTrailer: x\r\n\r\n", b"1\r\n"])))
        payload = b"".join(pieces)
        if draw(st.integers(0, 5)) == 0:  # larger than the limit
            payload = b"%x\r\n%s\r\n0\r\n\r\n" % (9000, b"x" * 9000)
    else:
        length = draw(st.sampled_from([len(body)] * 4 + [len(body) + 5, max(len(body) - 1, 0), 10**6, -1]))
        lines.append(f"Content-Length: {length}")
        payload = body
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace") + payload


def test_framing_against_the_real_server(web: Stack) -> None:
    """Chunked and length-framed requests, well- and ill-formed, against gunicorn: no 5xx, no traceback."""
    assert web.port is not None
    counts: Counter[str] = Counter()

    @_examples(400)
    @given(framed_request())
    def run(data: bytes) -> None:
        status = _exchange(web.port or 0, data)
        counts[str(status)] += 1
        assert status is None or status < 500, (status, data[:400])

    run()
    log = web.output()
    print(f"\nframing (gunicorn): {sum(counts.values())} requests, answers by status {dict(sorted(counts.items()))}")
    assert "Traceback" not in log and "Error handling request" not in log, log[-5000:]
    assert sum(counts.values()) >= 400 * SCALE and counts["202"] + counts["200"] > 0
