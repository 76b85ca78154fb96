"""The fake GitLab's sign-in: `/oauth/authorize` (approves at once), `/oauth/token` (checks PKCE), and the API
as one person sees it with their token (who they are, their groups, the confidential incidents they see)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from .core import Answer


@dataclass
class Person:
    """One person at GitLab: their id, username, groups, and the confidential incident issues they can see."""

    username: str = "im-alice"
    user_id: int = 11
    groups: tuple[str, ...] = ("acme",)
    confidential: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class OAuth:
    """The OAuth application's side of GitLab for one person."""

    person: Person = field(default_factory=Person)
    challenges: dict[str, str] = field(default_factory=dict)  # code -> PKCE challenge sent to /oauth/authorize
    tokens: set[str] = field(default_factory=set)
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    authorize_calls: int = 0

    def authorised(self, authorize_url: str) -> dict[str, str]:
        """What GitLab redirects back with after the person approves: a code and the state (PKCE noted)."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        assert query["code_challenge_method"] == "S256"
        code = secrets.token_urlsafe(16)
        self.challenges[code] = query["code_challenge"]
        return {"code": code, "state": query["state"]}

    def oauth_route(
        self, method: str, path: str, query: dict[str, str], data: dict[str, Any], headers: dict[str, str]
    ) -> Answer | None:
        if path == "/oauth/authorize" and method == "GET":
            self.authorize_calls += 1
            if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
                return 400, {"error": "invalid_request"}, {}
            back = self.authorised("?" + urlencode(query))
            return 302, {}, {"Location": f"{query['redirect_uri']}?{urlencode(back)}"}
        if path == "/oauth/token" and method == "POST":
            return self._token(data)
        bearer = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        if not bearer.startswith("Bearer "):
            return None
        if bearer.removeprefix("Bearer ") not in self.tokens:
            return 401, {"message": "401 Unauthorized"}, {}
        return self._as_person(method, path)

    def _token(self, form: dict[str, Any]) -> Answer:
        self.token_requests.append(form)
        code, verifier = str(form.get("code", "")), str(form.get("code_verifier", ""))
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if self.challenges.pop(code, None) != digest:  # a code is good once
            return 400, {"error": "invalid_grant"}, {}
        access = secrets.token_urlsafe(24)
        self.tokens.add(access)
        return 200, {"access_token": access, "token_type": "Bearer", "expires_in": 7200}, {}

    def _as_person(self, method: str, path: str) -> Answer:
        person = self.person
        if path == "/user" and method == "GET":
            return 200, {"id": person.user_id, "username": person.username}, {}
        m = re.fullmatch(r"/groups/(.+)/members/all/(\d+)", path)
        if m and method == "GET":
            if m.group(1) in person.groups and int(m.group(2)) == person.user_id:
                return 200, {"id": person.user_id, "username": person.username, "access_level": 30}, {}
            return 404, {"message": "404 Not found"}, {}
        if path == "/issues" and method == "GET":
            return 200, [{"project_id": p, "iid": i, "confidential": True} for p, i in person.confidential], {}
        return 404, {"message": "404 Not found"}, {}
