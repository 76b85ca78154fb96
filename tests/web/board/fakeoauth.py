"""GitLab's OAuth and the API calls of a sign-in, faked at the HTTP boundary with `responses`."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import responses

from .conftest import GITLAB


@dataclass
class FakeGitLabOAuth:
    """One person at GitLab: their id, username, groups, and the confidential incident issues they can see."""

    username: str = "im-alice"
    user_id: int = 11
    groups: tuple[str, ...] = ("acme",)
    confidential: list[tuple[int, int]] = field(default_factory=list)
    code: str = "code-123"
    token: str = "person-token-abc"
    challenges: dict[str, str] = field(default_factory=dict)  # code -> PKCE challenge sent to /oauth/authorize
    token_requests: list[dict[str, list[str]]] = field(default_factory=list)

    def install(self, rsps: responses.RequestsMock) -> None:
        """Register the token endpoint and the API calls a sign-in makes."""
        rsps.add_callback(responses.POST, f"{GITLAB}/oauth/token", callback=self._token)
        rsps.add_callback(responses.GET, f"{GITLAB}/api/v4/user", callback=self._user)
        members = re.compile(rf"{re.escape(GITLAB)}/api/v4/groups/.+/members/all/\d+")
        rsps.add_callback(responses.GET, members, callback=self._member)
        rsps.add_callback(responses.GET, re.compile(rf"{re.escape(GITLAB)}/api/v4/issues.*"), callback=self._issues)

    def authorised(self, authorize_url: str) -> dict[str, str]:
        """What GitLab redirects back with after the person approves: the code and the state (PKCE noted)."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        assert query["code_challenge_method"] == "S256"
        self.challenges[self.code] = query["code_challenge"]
        return {"code": self.code, "state": query["state"]}

    def _authorised(self, request) -> bool:
        auth = request.headers.get("Authorization", "")
        return auth == f"Bearer {self.token}"

    def _token(self, request):
        form = parse_qs(request.body if isinstance(request.body, str) else request.body.decode())
        self.token_requests.append(form)
        code = form.get("code", [""])[0]
        verifier = form.get("code_verifier", [""])[0]
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if code not in self.challenges or digest != self.challenges[code]:
            return 400, {}, json.dumps({"error": "invalid_grant"})
        del self.challenges[code]  # a code is good once
        return 200, {}, json.dumps({"access_token": self.token, "token_type": "Bearer", "expires_in": 7200})

    def _user(self, request):
        if not self._authorised(request):
            return 401, {}, "{}"
        return 200, {}, json.dumps({"id": self.user_id, "username": self.username})

    def _member(self, request):
        if not self._authorised(request):
            return 401, {}, "{}"
        path = urlsplit(request.url).path
        group = path.split("/groups/", 1)[1].split("/members/", 1)[0].replace("%2F", "/")
        if group in self.groups:
            return 200, {}, json.dumps({"id": self.user_id, "username": self.username, "access_level": 30})
        return 404, {}, json.dumps({"message": "404 Not found"})

    def _issues(self, request):
        if not self._authorised(request):
            return 401, {}, "{}"
        query = parse_qs(urlsplit(request.url).query)
        assert query.get("confidential") == ["true"]
        items = [{"project_id": p, "iid": i, "confidential": True} for p, i in self.confidential]
        return 200, {}, json.dumps(items)
