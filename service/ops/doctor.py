"""`incident-bot doctor`: would the bot work right now? One line per check (ok/warn/fail) with the fix."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.registry import FailedJobRegistry

from ..config import Settings
from ..gitlab import GitLabError
from ..gitlab.ops import Namespace, OpsGitLab
from ..queue import notify_queue_name
from ..rules import RulesError, RuleSet, load_rules
from .access import bot_access
from .alertcheck import check_alerts
from .contacts import check_contacts
from .hookcheck import check_hook
from .labelcheck import check_labels
from .people import people_rows
from .routecheck import check_alert_projects
from .table import Row, Status

EXPIRY_WARNING = timedelta(days=14)
QUEUE_BACKLOG = 100  # waiting jobs past which the workers are probably not keeping up
NEEDED_SCOPE = "api"


@dataclass(frozen=True)
class DoctorOptions:
    """What to look at: the project (or group) and the URL the hook should point to."""

    project: str | None = None
    group: str | None = None
    url: str | None = None
    bot_user: str | None = None  # whose access to check; default: the token's user


def _ok(what: str, name: str, detail: str = "") -> Row:
    return Row(what, name, Status.OK, detail)


def _warn(what: str, name: str, detail: str) -> Row:
    return Row(what, name, Status.WARN, detail)


def _fail(what: str, name: str, detail: str) -> Row:
    return Row(what, name, Status.FAIL, detail)


def check_token(api: OpsGitLab, settings: Settings, today: date) -> tuple[list[Row], dict[str, Any] | None]:
    """GitLab reachable, the token valid, its scopes and expiry; returns the bot user when known."""
    where = settings.gitlab_url
    if not settings.gitlab_token:
        fix = "GITLAB_TOKEN is unset, so the bot runs in dry-run and writes nothing: set the bot user's token"
        return [_fail("gitlab", where, fix)], None
    try:
        user = api.current_user()
    except GitLabError as exc:
        if exc.unreachable:
            return [_fail("gitlab", where, f"{exc.detail}; check GITLAB_URL and the network")], None
        if exc.status == 401:
            return [_fail("token", where, "GitLab refused the token (401): create a new one (api scope), set it")], None
        return [_fail("gitlab", where, exc.detail)], None
    rows = [_ok("gitlab", where, f"reachable, token of @{user.get('username')}")]
    try:
        token = api.token_self()
    except GitLabError as exc:
        rows.append(_warn("token", "scopes", f"cannot read the token's scopes and expiry ({exc.detail})"))
        return rows, user
    scopes = [str(s) for s in token.get("scopes") or []]
    if token.get("revoked") or token.get("active") is False:
        rows.append(_fail("token", "state", "the token is revoked or inactive: create a new one, set GITLAB_TOKEN"))
    elif NEEDED_SCOPE not in scopes:
        rows.append(_fail("token", "scopes", f"has {', '.join(scopes) or 'none'}; the bot needs `api`: new token"))
    else:
        rows.append(_ok("token", "scopes", ", ".join(scopes)))
    expires = token.get("expires_at")
    if expires:
        try:
            left = date.fromisoformat(str(expires)[:10]) - today
        except ValueError:
            left = None
        if left is not None and left < timedelta(0):
            rows.append(_fail("token", "expiry", f"expired on {expires}: rotate the token, set GITLAB_TOKEN"))
        elif left is not None and left <= EXPIRY_WARNING:
            rows.append(_warn("token", "expiry", f"expires on {expires} ({left.days} days): rotate it soon"))
        else:
            rows.append(_ok("token", "expiry", f"expires on {expires}"))
    else:
        rows.append(_ok("token", "expiry", "never expires"))
    return rows, user


def check_access(api: OpsGitLab, ns: Namespace, user: dict[str, Any]) -> Row:
    """The bot user's access level where it works."""
    try:
        enough, detail = bot_access(api, ns, user)
    except GitLabError as exc:
        return _fail("access", ns.path, exc.detail)
    return Row("access", f"@{user.get('username')}", Status.OK if enough else Status.FAIL, detail)


def check_redis(connection: Redis, settings: Settings) -> list[Row]:
    """Redis answers; the queues' depths and failed registries."""
    try:
        connection.ping()
    except RedisError as exc:
        return [_fail("redis", "ping", f"{exc}: check REDIS_URL and that Redis runs")]
    rows = [_ok("redis", "ping", "answers")]
    for name in (settings.queue_name, notify_queue_name(settings.queue_name)):
        try:
            waiting = Queue(name, connection=connection).count
            failed = FailedJobRegistry(name, connection=connection).count
        except RedisError as exc:
            rows.append(_fail("queue", name, str(exc)))
            continue
        if waiting > QUEUE_BACKLOG:
            rows.append(_warn("queue", name, f"{waiting} waiting: start more workers (`incident-bot worker`)"))
        else:
            rows.append(_ok("queue", name, f"{waiting} waiting"))
        if failed:
            rows.append(
                _warn(
                    "failed jobs",
                    name,
                    f"{failed} failed: read why with `rq info -u $REDIS_URL {name}`; requeue them with "
                    f"`rq requeue -u $REDIS_URL --queue {name} --all`",
                )
            )
        else:
            rows.append(_ok("failed jobs", name, "none"))
    return rows


def check_index_catch_up(connection: Redis, queue: str) -> Row:
    """Deliveries applied in GitLab whose index write failed: their issues wait to be reindexed by a worker."""
    from ..store import pending  # a Redis set: SQLAlchemy does not load for this

    try:
        waiting = pending.count(connection, queue)
    except RedisError as exc:
        return _fail("index", "catch-up", str(exc))
    if not waiting:
        return _ok("index", "catch-up", "no index write waiting")
    return _warn(
        "index",
        "catch-up",
        f"{waiting} issue(s) applied in GitLab but not in the index yet: a running worker reindexes them "
        "from GitLab within minutes; if the count stays, read the workers' log (`incident index not updated`)",
    )


def check_rules(directory: Path) -> tuple[Row, RuleSet | None]:
    """The rules load and validate."""
    try:
        rules = load_rules(directory)
    except RulesError as exc:
        first = exc.problems[0] if exc.problems else ""
        fix = f"{len(exc.problems)} error(s), first: {first}; run `incident-bot check-rules {directory}`"
        return _fail("rules", str(directory), fix), None
    return _ok("rules", str(directory), rules.summary()), rules


def check_channels(rules: RuleSet, env: Mapping[str, str]) -> list[Row]:
    """Each notification channel's target variable is set (an unset one means its notifications are skipped)."""
    rows = []
    for channel in rules.channels.values():
        value = env.get(channel.target_env, "").strip()
        if not value:
            rows.append(_warn("channel", channel.name, f"{channel.target_env} is unset: its notifications are skipped"))
            continue
        wants_mail = channel.kind == "email"
        if wants_mail != value.lower().startswith("mailto:") or (
            not wants_mail and not value.lower().startswith(("http://", "https://"))
        ):
            kind = "a mailto: address list" if wants_mail else "an http(s) URL"
            rows.append(_fail("channel", channel.name, f"{channel.target_env} must be {kind} for a {channel.kind}"))
            continue
        if channel.kind == "webhook" and channel.secret_env and not env.get(channel.secret_env, ""):
            rows.append(_fail("channel", channel.name, f"{channel.secret_env} (its signing secret) is unset: set it"))
            continue
        rows.append(_ok("channel", channel.name, f"{channel.kind} target set ({channel.target_env})"))
    return rows


def _bot(api: OpsGitLab, username: str, rows: list[Row]) -> dict[str, Any] | None:
    """The named bot user (the token may be a maintainer's); a fail row when GitLab does not know it."""
    try:
        found = api.user(username)
    except GitLabError as exc:
        rows.append(_fail("access", f"@{username}", exc.detail))
        return None
    if found is None:
        rows.append(_fail("access", f"@{username}", "GitLab knows no such user"))
    return found


def setup_command(options: DoctorOptions) -> str:
    """The `incident-bot setup` that makes right what doctor checks here (the alert routes' labels included)."""
    where = [f"--{kind} {path}" for kind, path in (("project", options.project), ("group", options.group)) if path]
    return " ".join(["incident-bot setup", *where])


def run_doctor(
    api: OpsGitLab,
    settings: Settings,
    connection: Redis,
    options: DoctorOptions,
    *,
    env: Mapping[str, str] | None = None,
    today: Callable[[], date] = lambda: datetime.now(UTC).date(),
) -> list[Row]:
    """Every check, in the order a person would fix them."""
    env = os.environ if env is None else env
    rules_row, rules = check_rules(settings.rules_dir)
    rows, user = check_token(api, settings, today())
    targets = []
    for kind, path in (("projects", options.project), ("groups", options.group)):
        if not path or user is None:
            continue
        try:
            targets.append(api.namespace(kind, path))
        except GitLabError as exc:
            rows.append(_fail(kind[:-1], path, exc.detail))
    if not options.project and not options.group:
        rows.append(_warn("project", "-", "no --project given (or INCIDENT_BOT_PROJECTS): GitLab side not checked"))
    group_hooked: Namespace | None = None  # the group whose webhook delivers for its projects
    bot = _bot(api, options.bot_user, rows) if options.bot_user and user is not None else user
    for ns in reversed(targets):  # the group first: its hook, when there is one, serves the project too
        if bot is not None:
            rows.append(check_access(api, ns, bot))
        found, hooked = check_hook(api, ns, options.url, needed=group_hooked is None)
        group_hooked = ns if ns.kind == "groups" and hooked else group_hooked
        rows += found
        if rules is not None:
            rows.append(check_labels(api, ns, rules))
            if ns.kind == "projects" or not options.project:  # the people are staffed where the incidents are
                rows += people_rows(api, ns, rules)
    if rules is not None and user is not None and (options.project or options.group):
        rows += check_alert_projects(api, rules, targets, setup_command(options), options.url, group_hooked)
    rows += check_redis(connection, settings)
    rows.append(check_index_catch_up(connection, settings.queue_name))
    rows += check_alerts(connection, settings)
    rows.append(rules_row)
    if rules is not None:
        rows += check_channels(rules, env) + check_contacts(rules, env)
    return rows
