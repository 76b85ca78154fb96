"""A local HTTP fake of GitLab's OAuth endpoints and the API calls of a sign-in, for the browser test.

A real browser follows real redirects, so the fake is a real server (werkzeug, in a thread):
`/oauth/authorize` approves at once and redirects back with a code; `/oauth/token` checks the
PKCE verifier against the challenge it saw; `/api/v4/...` answers for one person.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from typing import Any
from urllib.parse import urlencode

from flask import Flask, abort, jsonify, redirect, request
from werkzeug.serving import make_server

from tests.e2e.harness import free_port


class FakeGitLabOAuthServer:
    """One person (`im-alice`, member of `acme`) who can see the confidential issues listed."""

    def __init__(self, *, confidential: list[tuple[int, int]], username: str = "im-alice", user_id: int = 11):
        self.confidential = confidential
        self.username = username
        self.user_id = user_id
        self.codes: dict[str, str] = {}  # code -> PKCE challenge
        self.tokens: set[str] = set()
        self.authorize_calls = 0
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = make_server("127.0.0.1", self.port, self._app(), threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._thread.join(timeout=10)

    def _person(self) -> None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.tokens:
            abort(401)

    def _app(self) -> Flask:
        app = Flask("fake_gitlab_oauth")

        @app.get("/oauth/authorize")
        def authorize() -> Any:
            self.authorize_calls += 1
            args = request.args
            if args.get("code_challenge_method") != "S256" or not args.get("code_challenge"):
                abort(400)
            code = secrets.token_urlsafe(16)
            self.codes[code] = args["code_challenge"]
            return redirect(f"{args['redirect_uri']}?{urlencode({'code': code, 'state': args['state']})}")

        @app.post("/oauth/token")
        def token() -> Any:
            code, verifier = request.form.get("code", ""), request.form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if self.codes.pop(code, None) != digest:
                return jsonify(error="invalid_grant"), 400
            access = secrets.token_urlsafe(24)
            self.tokens.add(access)
            return jsonify(access_token=access, token_type="Bearer", expires_in=7200)

        @app.get("/api/v4/user")
        def user() -> Any:
            self._person()
            return jsonify(id=self.user_id, username=self.username)

        @app.get("/api/v4/groups/<path:group>/members/all/<int:user_id>")
        def member(group: str, user_id: int) -> Any:
            self._person()
            if group == "acme" and user_id == self.user_id:
                return jsonify(id=user_id, username=self.username, access_level=30)
            return jsonify(message="404 Not found"), 404

        @app.get("/api/v4/issues")
        def issues() -> Any:
            self._person()
            return jsonify([{"project_id": p, "iid": i, "confidential": True} for p, i in self.confidential])

        return app
