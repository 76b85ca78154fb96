"""Who may see the board on this request: a signed-in person, a kiosk, or (local trial) this machine."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Request
from werkzeug.wrappers import Response as Answer

from ...config import Settings
from .config import BoardConfig
from .session import Cookies, Viewer, ViewerKind, same_token

LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})
SIGN_IN_SETTINGS = "INCIDENT_BOT_BOARD_CLIENT_ID and INCIDENT_BOT_BOARD_CLIENT_SECRET (Sign in with GitLab)"
KIOSK_SETTING = "INCIDENT_BOT_BOARD_TOKEN (a kiosk token)"
OFF = f"The board is off: set {SIGN_IN_SETTINGS} or {KIOSK_SETTING} to turn it on."
OFF_LOG = f"board off: set {SIGN_IN_SETTINGS} or {KIOSK_SETTING} to enable it"
KIOSK_ONLY = (
    "Not signed in: open the board with its kiosk token (INCIDENT_BOT_BOARD_TOKEN), "
    f"or set {SIGN_IN_SETTINGS} for people."
)
TRIAL_ONLY = "GitLab sign-in is not configured (a local trial): the board is shown on this machine only."


@dataclass(frozen=True)
class Admission:
    """The viewer, and whether the request presented the kiosk token (to exchange for a cookie)."""

    viewer: Viewer | None
    presented_token: bool = False
    bad_token: bool = False


def board_cookies(config: BoardConfig, settings: Settings) -> Cookies:
    """The board's session cookies: every page that admits as the board does reads them with the same key."""
    return Cookies(
        config.signing_key(settings.webhook_secret),
        lifetime=config.session_hours * 3600,
        secure=not settings.local_trial,
    )


def bearer(request: Request) -> str | None:
    """The `Authorization: Bearer ...` token, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def local_trial(settings: Settings) -> bool:
    """A local trial (`serve` without a secret, `--insecure-local-trial`): only then does this machine see the board.

    Outside one, a request from 127.0.0.1 may be anyone: a reverse proxy on the same host forwards the internet.
    """
    return settings.local_trial or not settings.webhook_secret


def refusal(config: BoardConfig, trial: bool) -> tuple[int, str]:
    """The status and text for a request nothing admitted, when sign-in is not configured."""
    if trial:
        return 403, TRIAL_ONLY
    if config.kiosk_token:
        return 401, KIOSK_ONLY
    return 404, OFF


def admit(request: Request, config: BoardConfig, cookies: Cookies, *, trial: bool) -> Admission:
    """Read who is asking: the kiosk token (query or bearer), the session cookie, or (`trial`) this machine."""
    presented = request.args.get("token") or bearer(request)
    if presented is not None:
        if config.kiosk_token and same_token(presented, config.kiosk_token):
            return Admission(Viewer(ViewerKind.KIOSK), presented_token=True)
        return Admission(None, bad_token=True)
    viewer = cookies.viewer(request.cookies.get("incident_bot_board"))
    if viewer is not None and (viewer.kind is not ViewerKind.PERSON or config.oauth):
        return Admission(viewer)
    if trial and not config.oauth and request.remote_addr in LOOPBACK:
        return Admission(Viewer(ViewerKind.LOCAL))
    return Admission(None)


def safe_next(target: str | None) -> str:
    """A local path to return to after sign-in (never another site: no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/board"
    return target[:500]


def secure(response: Answer, csp: str | None) -> Answer:
    """The headers every page of the board and the handbook carries (`csp` None: leave that header alone)."""
    if csp is not None:
        response.headers["Content-Security-Policy"] = csp
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers.setdefault("Cache-Control", "no-store")
    return response
