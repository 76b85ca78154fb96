"""Redis Sentinel for real: a private redis-server, a replica and one sentinel; the bot follows a failover."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis import Redis
from redis.exceptions import RedisError

from service.config import Settings
from service.connection import RedisUrlError, connect, sentinel_url
from service.errors import ConfigError
from service.web.app import create_app
from tests.conftest import SECRET, body, hook_headers, redis_server_binary
from tests.e2e.harness import free_port, wait_until
from tests.rulesdir import TEST_RULES

MASTER = "incidents"


@dataclass
class Servers:
    """The redis-server processes of one test, by role, and their ports."""

    procs: list[subprocess.Popen[bytes]]
    master: int
    sentinel: int

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        """Start one more redis-server (killed with the others at the end)."""
        proc = subprocess.Popen([redis_server_binary(), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        return proc


def answers(port: int) -> bool:
    """True when a redis-server (or sentinel) answers PING on `port`."""
    try:
        return bool(Redis(port=port, socket_timeout=1, socket_connect_timeout=1).ping())
    except RedisError:
        return False


@pytest.fixture()
def servers(tmp_path: Path) -> Iterator[Servers]:
    """A master on a free port and a sentinel monitoring it as `incidents` (quorum 1, down after 1 s)."""
    found = Servers([], free_port(), free_port())
    plain = ("--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
    found.start("--port", str(found.master), *plain)
    conf = tmp_path / "sentinel.conf"  # the sentinel rewrites its file: one of its own
    conf.write_text(
        f"port {found.sentinel}\nbind 127.0.0.1\n"
        f"sentinel monitor {MASTER} 127.0.0.1 {found.master} 1\n"
        f"sentinel down-after-milliseconds {MASTER} 1000\nsentinel failover-timeout {MASTER} 10000\n"
    )
    try:
        found.start(str(conf), "--sentinel")
        wait_until(lambda: answers(found.master) and answers(found.sentinel), timeout=20, what="master and sentinel")
        yield found
    finally:
        for proc in found.procs:
            proc.kill()
            proc.wait()


@pytest.mark.e2e
def test_the_edge_queues_through_sentinel(servers: Servers, rules) -> None:
    """REDIS_SENTINELS + REDIS_SENTINEL_MASTER: a delivery is queued on the master the sentinel names."""
    env = {"REDIS_SENTINELS": f"127.0.0.1:{servers.sentinel}", "REDIS_SENTINEL_MASTER": MASTER}
    settings = Settings(webhook_secret=SECRET, redis_url=Settings.from_env(env).redis_url, rules_dir=TEST_RULES)
    assert settings.redis_url == f"redis+sentinel://127.0.0.1:{servers.sentinel}/{MASTER}"
    client = create_app(settings, rules=rules).test_client()
    answer = client.post("/webhook", data=body("issue.open.incident"), headers=hook_headers(key="via-sentinel"))
    assert answer.status_code == 202, answer.json
    assert Redis(port=servers.master).lrange("rq:queue:incident-bot", 0, -1) == [b"via-sentinel"]


@pytest.mark.e2e
def test_a_client_follows_a_failover(servers: Servers) -> None:
    """The master is killed: the sentinel promotes the replica and the same client writes there."""
    replica = free_port()
    servers.start(
        "--port", str(replica), "--bind", "127.0.0.1", "--save", "", "--replicaof", "127.0.0.1", str(servers.master)
    )
    client = connect(f"redis+sentinel://127.0.0.1:{servers.sentinel}/{MASTER}/2")
    client.set("before", "1")
    wait_until(lambda: Redis(port=replica, db=2).get("before") == b"1", timeout=30, what="the replica in sync")
    sentinel = Redis(port=servers.sentinel)
    wait_until(lambda: sentinel.execute_command("SENTINEL", "REPLICAS", MASTER), timeout=30, what="replica known")
    servers.procs[0].kill()  # the master: a lost machine
    servers.procs[0].wait()

    def written() -> bool:
        """True once a write through the client succeeds (it asks the sentinel again after each failure)."""
        try:
            return bool(client.set("after", "1"))
        except RedisError:
            return False

    wait_until(written, timeout=60, what="a write after the failover")
    assert Redis(port=replica, db=2).get("after") == b"1"  # it landed on the promoted replica
    assert Redis(port=replica).info("replication")["role"] == "master"


@given(st.text(max_size=80))
def test_a_malformed_sentinel_url_is_a_clear_error(tail: str) -> None:
    """Any `redis+sentinel://...` either names sentinels and a master or is refused saying what is wrong."""
    try:
        client = connect("redis+sentinel://" + tail, socket_connect_timeout=0.01)
    except RedisUrlError as exc:
        assert "sentinel" in str(exc) or "MASTER" in str(exc)
    else:
        assert isinstance(client, Redis)  # nothing is contacted until a command runs


def test_sentinel_settings_name_a_master() -> None:
    """REDIS_SENTINELS without REDIS_SENTINEL_MASTER stops the start with the fix, not a traceback."""
    assert sentinel_url({}) == ""
    with pytest.raises(RedisUrlError, match="REDIS_SENTINEL_MASTER"):
        sentinel_url({"REDIS_SENTINELS": "a:1"})
    with pytest.raises(ConfigError, match="REDIS_SENTINEL_MASTER"):
        Settings.from_env({"REDIS_SENTINELS": "a:1"})


def test_sentinel_url_parts_are_checked() -> None:
    """Unicode digits, a missing master, an unknown option: each refused naming the part."""
    for url, words in (
        ("redis+sentinel://h:²/m", "host:port"),
        ("redis+sentinel://h:1", "master"),
        ("redis+sentinel://h:1/m/x", "/MASTER/DB"),
        ("redis+sentinel://h:1/m?socket_keepalive_options=1", "unknown"),
    ):
        with pytest.raises(RedisUrlError, match=words):
            connect(url)
    client = connect("rediss+sentinel://:pw@h1:1,h2:2/m/3?sentinel_password=s&ssl_cert_reqs=required")
    assert isinstance(client, Redis)
