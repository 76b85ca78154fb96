"""A browser on the board's public address, and the whole GitLab sign-in round trip (faked at HTTP)."""

from __future__ import annotations

from typing import Any

import responses
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.fakegitlab import FakeGitLab, install_responses

from .conftest import GITLAB

BASE = "https://board.example.com"


class HttpsClient(FlaskClient):
    """A browser on https://board.example.com (the session cookie is Secure)."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        """Every request to the board's public address."""
        kwargs.setdefault("base_url", BASE)
        return super().open(*args, **kwargs)


def client(app: Flask) -> FlaskClient:
    """A browser-like client on HTTPS."""
    app.test_client_class = HttpsClient
    return app.test_client()


def sign_in(c: FlaskClient, person: FakeGitLab, next_path: str = "/board") -> tuple[TestResponse, str]:
    """The whole round trip: board -> sign-in -> GitLab authorize (faked) -> callback; returns the callback answer."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        install_responses(rsps, person, GITLAB)
        start = c.get(f"/board/sign-in?next={next_path}")
        assert start.status_code == 302
        authorize = start.headers["Location"]
        back = person.authorised(authorize)
        answer = c.get("/board/auth/callback", query_string=back)
    return answer, authorize
