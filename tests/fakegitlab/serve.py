"""The fake GitLab at the HTTP boundary: in process through `responses`, or as a WSGI app behind a real
HTTP/1.1 server on 127.0.0.1 (for the tests that run real processes, the browser, and bench/)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Self

from werkzeug.serving import WSGIRequestHandler, make_server

if TYPE_CHECKING:
    from . import FakeGitLab


def wsgi(fake: FakeGitLab) -> Callable[[dict[str, Any], Any], Iterable[bytes]]:
    """The fake as a WSGI application."""

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else None
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        target = environ.get("PATH_INFO", "") + ("?" + environ["QUERY_STRING"] if environ.get("QUERY_STRING") else "")
        status, payload, extra = fake.handle(environ["REQUEST_METHOD"], target, body, headers)
        data = json.dumps(payload).encode()
        reason = {200: "OK", 201: "Created", 302: "Found", 404: "Not Found"}.get(status, "Status")
        start_response(f"{status} {reason}", [("Content-Type", "application/json"),
                                              ("Content-Length", str(len(data))), *extra.items()])  # fmt: skip
        return [data]

    return app


def install_responses(rsps: Any, fake: FakeGitLab, base: str = "http://gitlab.test") -> None:
    """Route every request to `base` through the fake (the `responses` library, in process)."""

    def callback(request: Any) -> tuple[int, dict[str, str], str]:
        body = request.body.encode() if isinstance(request.body, str) else request.body
        status, payload, headers = fake.handle(request.method, request.url, body, dict(request.headers))
        return status, {"Content-Type": "application/json", **headers}, json.dumps(payload)

    pattern = re.compile(re.escape(base) + r"/.*")
    for method in ("GET", "POST", "PUT", "DELETE"):
        rsps.add_callback(method, pattern, callback=callback)


class _Handler(WSGIRequestHandler):
    # Headers and body go out in two writes; with Nagle on, the body waits ~40 ms for a delayed ACK.
    disable_nagle_algorithm = True

    def log_request(self, *args: Any) -> None:
        pass


class FakeGitLabServer:
    """The fake behind a real threaded HTTP/1.1 server on 127.0.0.1: `with` (or start/close) runs it."""

    def __init__(self, fake: FakeGitLab | None = None):
        from . import FakeGitLab  # the package's class is built from this package's modules

        self.fake = fake if fake is not None else FakeGitLab()
        _Handler.protocol_version = "HTTP/1.1"
        self.httpd = make_server("127.0.0.1", 0, wsgi(self.fake), threaded=True, request_handler=_Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"

    @property
    def model(self) -> FakeGitLab:
        return self.fake

    def start(self) -> Self:
        self.thread.start()
        return self

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()
