"""The one HTTP session to GitLab: REST and GraphQL, auth, retries, 429 `Retry-After`, pagination, metrics.

Every GitLab call of the bot goes through `Session.call`: the worker's, the operations commands', reindex's,
the digest's and the board sign-in's. Retries are bounded: a transient answer (5xx, no answer) is retried
`retries` times with a short backoff; a 429 waits what `Retry-After` asks only when that is at most
`max_wait` seconds (else it fails now as transient, and the job's own retry comes later). Each attempt is
counted in `incident_bot_gitlab_requests` (service/metrics.py).
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import requests

from .. import metrics
from .errors import PermanentGitLabError, error_for

RETRIED = frozenset({429, 500, 502, 503, 504})  # and 52x: Cloudflare's in front of gitlab.com
BACKOFF = 0.1  # seconds before the first retry, doubled each time (python-gitlab's own schedule)
MAX_WAIT = 10.0  # the longest `Retry-After` a call waits out; a longer one fails now (the job retries later)
PAGE = 100  # GitLab's largest page
MAX_PAGES = 50  # 5,000 rows: far past any real listing, and a bound on a runaway one


class Session:
    """An authenticated session to one GitLab: `call` for REST, `graphql`, `pages` for listings.

    `token` is a personal/bot access token (`PRIVATE-TOKEN`), `bearer` a person's OAuth token. It is safe
    to share between threads (one connection pool); `with_headers` gives a copy whose writes carry more headers.
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        bearer: str | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        max_wait: float = MAX_WAIT,
        http: requests.Session | None = None,
    ):
        self.url = url.rstrip("/")
        self.timeout, self.retries, self.max_wait = timeout, retries, max_wait
        self.http = http or _http()
        self.auth: dict[str, str] = {}
        if token:
            self.auth["PRIVATE-TOKEN"] = token
        if bearer:
            self.auth["Authorization"] = f"Bearer {bearer}"
        self.write_headers: dict[str, str] = {}
        self.counter = _Counter()

    @property
    def calls(self) -> int:
        """Requests sent by this session and its copies (retries included)."""
        return self.counter.value

    def with_headers(self, headers: Mapping[str, str]) -> Session:
        """A copy (same connection pool and counter) whose writes also carry `headers`; self unchanged."""
        bound = copy.copy(self)
        bound.write_headers = {**self.write_headers, **headers}
        return bound

    def call(
        self,
        verb: str,
        path: str,
        what: str,
        *,
        query: Mapping[str, Any] | None = None,
        json: Any = None,
        form: Mapping[str, Any] | None = None,
    ) -> Any:
        """One REST call (`path` under /api/v4, or an absolute path from `/`): the JSON answer, or a GitLabError."""
        return _json(self.send(verb, path, what, query=query, json=json, form=form), what)

    def send(
        self,
        verb: str,
        path: str,
        what: str,
        *,
        query: Mapping[str, Any] | None = None,
        json: Any = None,
        form: Mapping[str, Any] | None = None,
    ) -> requests.Response:
        """One call with its retries: the 2xx response, or a GitLabError (transient or permanent)."""
        url = self.url + (path if path.startswith(("/api/", "/oauth/")) else "/api/v4" + path)
        headers = dict(self.auth)
        if verb.upper() != "GET":
            headers.update(self.write_headers)
        for attempt in range(self.retries + 1):
            self.counter.add()
            try:
                answer = self.http.request(
                    verb.upper(), url, params=query, json=json, data=form, headers=headers, timeout=self.timeout
                )
            except requests.RequestException as exc:
                metrics.gitlab_unanswered(verb, exc)
                if attempt < self.retries:
                    time.sleep(BACKOFF * 2**attempt)
                    continue
                raise error_for(what, None, f"GitLab unreachable: {type(exc).__name__}: {exc}") from None
            if answer.status_code < 400:
                return answer
            wait = self._wait(answer, attempt)
            if wait is None:
                raise error_for(what, answer.status_code, f"GitLab answered {answer.status_code}: {_message(answer)}")
            time.sleep(wait)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _wait(self, answer: requests.Response, attempt: int) -> float | None:
        """How long to wait before retrying this answer, or None: do not retry."""
        status = answer.status_code
        if attempt >= self.retries or not (status in RETRIED or 520 <= status <= 530):
            return None
        if status == 429:
            asked = _seconds(answer.headers.get("Retry-After"))
            if asked is not None:
                return asked if asked <= self.max_wait else None
        return BACKOFF * 2**attempt

    def graphql(self, query: str, variables: Mapping[str, Any], what: str) -> dict[str, Any]:
        """One GraphQL request (`/api/graphql`): its whole answer (`data`, and `errors` when GitLab reports any)."""
        result = self.call("post", "/api/graphql", what, json={"query": query, "variables": dict(variables)})
        if not isinstance(result, dict):
            raise PermanentGitLabError(what, 200, "GitLab's GraphQL answer is not an object")
        return result

    def pages(
        self, path: str, what: str, query: Mapping[str, Any] | None = None, *, max_pages: int = MAX_PAGES
    ) -> Iterator[Any]:
        """Every item of a listing, one page (one call) at a time; stop iterating to stop reading.

        It follows `X-Next-Page` when GitLab sends it, else stops at a short page (GitLab omits the
        totals past 10,000 rows); at most `max_pages` pages.
        """
        page = 1
        for _ in range(max_pages):
            answer = self.send("get", path, what, query={**(query or {}), "per_page": PAGE, "page": page})
            batch = _json(answer, what)
            if not isinstance(batch, list):
                raise PermanentGitLabError(what, 200, "GitLab answered something other than a list")
            yield from batch
            following = answer.headers.get("X-Next-Page")
            if following is not None:
                if not following.strip().isdigit() or not batch:
                    return
                page = int(following)
            elif len(batch) < PAGE:
                return
            else:
                page += 1


class _Counter:
    """A count shared by a session and its copies, across threads."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def add(self) -> None:
        with self._lock:
            self.value += 1


def _http() -> requests.Session:
    http = requests.Session()
    http.hooks["response"].append(metrics.gitlab_response)  # every attempt, retries included
    # Parallel reads of one delivery share the pool: room for them and for the worker's other threads.
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=16)
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    return http


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: waited out with the usual backoff


def _message(answer: requests.Response) -> str:
    try:
        data = answer.json()
    except ValueError:
        return answer.text[:200]
    if isinstance(data, dict):
        found = data.get("message") or data.get("error_description") or data.get("error") or data
        return str(found)[:300]
    return str(data)[:300]


def _json(answer: requests.Response, what: str) -> Any:
    if answer.status_code == 204 or not answer.content:
        return None
    try:
        return answer.json()
    except ValueError:
        raise PermanentGitLabError(what, answer.status_code, "GitLab's answer is not JSON") from None
