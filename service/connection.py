"""The one place Redis connections are made: a URL (`redis://`, `rediss://`, `unix://`) or Redis Sentinel.

Sentinel is named by a URL too, `redis+sentinel://[[user]:password@]host:port[,host:port...]/MASTER[/DB]`
(`rediss+sentinel://` for TLS to the master), or by `REDIS_SENTINELS=host:port,host:port` with
`REDIS_SENTINEL_MASTER` (`sentinel_url` turns those into the URL form). The client asks the sentinels
where the master is and asks again when a connection to it fails, so a failover is ridden out like a
Redis restart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, unquote

from redis import Redis
from redis.sentinel import Sentinel

DEFAULT_URL = "redis://127.0.0.1:6379/0"
SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
# Fail fast and reconnect by themselves when Redis (or the new master) comes back.
OPTIONS: dict[str, Any] = {"socket_timeout": 2, "socket_connect_timeout": 1, "health_check_interval": 15}


# What a sentinel URL's query may set: the sentinels' own password and the master's TLS files.
QUERY_OPTIONS = frozenset({"sentinel_password", "ssl_cert_reqs", "ssl_ca_certs", "ssl_certfile", "ssl_keyfile"})


def _number(text: str) -> bool:
    """ASCII digits only (str.isdigit also accepts ² and other digits int() refuses)."""
    return text.isascii() and text.isdigit()


class RedisUrlError(ValueError):
    """The Redis URL or Sentinel settings cannot be read; the message says which part and what is expected."""


def sentinel_url(env: Mapping[str, str]) -> str:
    """`REDIS_SENTINELS` and `REDIS_SENTINEL_MASTER` as a `redis+sentinel://` URL; "" when unset."""
    sentinels = env.get("REDIS_SENTINELS", "").strip()
    if not sentinels:
        return ""
    master = env.get("REDIS_SENTINEL_MASTER", "").strip()
    if not master:
        raise RedisUrlError("REDIS_SENTINELS is set but REDIS_SENTINEL_MASTER (the monitored master's name) is not")
    return f"redis+sentinel://{sentinels}/{master}"


def connect(url: str = "", **options: Any) -> Redis:
    """A Redis client for `url` (default: the local Redis); `options` override the fail-fast timeouts."""
    url = url or DEFAULT_URL
    settings = {**OPTIONS, **options}
    scheme, _, rest = url.partition("://")
    if scheme not in SENTINEL_SCHEMES:
        return Redis.from_url(url, **settings)
    return _sentinel(scheme, rest, settings)


def _sentinel(scheme: str, rest: str, settings: dict[str, Any]) -> Redis:
    location, _, query = rest.partition("?")
    credentials, _, hosts = location.rpartition("@")
    hosts, _, path = hosts.partition("/")
    parts = [p for p in path.split("/") if p]
    if not parts:
        raise RedisUrlError(f"{scheme}:// URL without the master's name: {scheme}://host:port/MASTER[/DB]")
    master, db = parts[0], parts[1] if len(parts) > 1 else "0"
    if not _number(db) or len(parts) > 2:
        raise RedisUrlError(f"{scheme}:// URL path must be /MASTER or /MASTER/DB, not /{path}")
    addresses = []
    for item in hosts.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host or not _number(port):
            raise RedisUrlError(f"sentinel address {item.strip()!r} is not host:port")
        addresses.append((host.strip("[]"), int(port)))
    username, _, password = credentials.partition(":") if ":" in credentials else ("", "", credentials)
    auth = {k: unquote(v) for k, v in (("username", username), ("password", password)) if v}
    extra = {k: v[-1] for k, v in parse_qs(query).items()}
    unknown = sorted(set(extra) - QUERY_OPTIONS)
    if unknown:
        raise RedisUrlError(
            f"{scheme}:// URL option(s) {', '.join(unknown)} unknown; known: {', '.join(sorted(QUERY_OPTIONS))}"
        )
    sentinel_auth = {"password": extra.pop("sentinel_password")} if "sentinel_password" in extra else {}
    tls = {"ssl": True} if scheme.startswith("rediss") else {}
    sentinel = Sentinel(
        addresses,
        sentinel_kwargs={"socket_timeout": settings["socket_timeout"], **sentinel_auth, **tls},
        socket_timeout=settings["socket_timeout"],
    )
    # One dict typed as Any: redis-py 8 types master_for's positional class parameters, and mypy would match
    # separately splatted str/bool dicts against them.
    master_options: dict[str, Any] = {"db": int(db), **settings, **auth, **tls, **extra}
    client: Redis = sentinel.master_for(master, redis_class=Redis, **master_options)
    return client
