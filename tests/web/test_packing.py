"""The edge's Redis connection packs commands with hiredis alone: byte for byte what redis-py sends.

The speed is measured by bench/run.py, not here; these tests pin that nothing else changed.
"""

from __future__ import annotations

import enum
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st
from redis import Connection, Redis
from rq import Queue

from service.config import Settings
from service.rules import RuleSet
from service.web.app import create_app
from service.web.packing import HiredisPacker
from tests.conftest import body, hook_headers, test_redis_url


class Level(enum.IntEnum):
    """An int subclass, which hiredis refuses and redis-py writes by its repr."""

    HIGH = 1


arguments = st.one_of(
    st.text(),
    st.binary(),
    st.binary().map(bytearray),
    st.binary().map(lambda data: memoryview(data)),
    st.integers(-(2**80), 2**80),
    st.floats(),
    st.booleans(),
    st.none(),
    st.just(Level.HIGH),
)
commands = st.sampled_from(["EVALSHA", "SET", "SCRIPT LOAD", b"HSET", b"CLIENT SETNAME"])


def packed(pack, command, args):
    """The bytes `pack` makes of the command, or the type of what it raised."""
    try:
        return b"".join(bytes(part) for part in pack(command, *args))
    except Exception as exc:  # compared by type below: both packers must refuse alike
        return type(exc)


@settings(max_examples=300, deadline=None)
@given(commands, st.lists(arguments, max_size=25))
def test_hiredis_packer_sends_what_redis_py_sends(command, args) -> None:
    """Any command and arguments (text, bytes, huge ints, NaN, bools, None, an IntEnum): the same bytes or error."""
    assert packed(HiredisPacker().pack, command, args) == packed(Connection().pack_command, command, args)


def test_the_edge_built_from_settings_queues_through_its_own_connection(
    settings: Settings, rules: RuleSet, redis_conn: Redis
) -> None:
    """create_app with no connection given (as gunicorn builds it): queued, a redelivery is a duplicate, ready."""
    client = create_app(replace(settings, redis_url=test_redis_url()), rules=rules).test_client()
    first = client.post("/webhook", data=body("issue.open.incident"), headers=hook_headers(key="packed-1"))
    again = client.post("/webhook", data=body("issue.open.incident"), headers=hook_headers(key="packed-1"))
    assert first.status_code == 202 and again.status_code == 200 and (again.json or {}).get("status") == "duplicate"
    assert Queue("incident-bot", connection=redis_conn).job_ids == ["packed-1"]
    assert client.get("/readyz").status_code == 200
