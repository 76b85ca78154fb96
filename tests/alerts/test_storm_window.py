"""`max_new_incidents_per_minute` counts the new groups of the last 60 seconds, not of a calendar minute: a storm
that starts in a minute's last second cannot open the limit twice over (real Redis)."""

from __future__ import annotations

from redis import Redis

from service.alerts.grouping import GroupRecord, GroupStore
from service.keys import Keys


def _slots(store: GroupStore, names: list[str], now: float) -> list[int | None]:
    return [store.claim_slot(GroupRecord(group_id=n, source="alertmanager"), now).slot for n in names]


def test_a_storm_across_a_minute_boundary_is_one_window(redis_conn: Redis) -> None:
    store = GroupStore(redis_conn, Keys())
    minute = 1_800_000_000 // 60 * 60
    assert _slots(store, [f"a{i}" for i in range(5)], minute + 59.5) == [1, 2, 3, 4, 5]
    assert _slots(store, [f"b{i}" for i in range(5)], minute + 60.5) == [6, 7, 8, 9, 10]  # the same storm


def test_the_window_slides_and_a_slot_is_claimed_once(redis_conn: Redis) -> None:
    store = GroupStore(redis_conn, Keys())
    start = 1_800_000_000.0
    assert _slots(store, ["a", "b"], start) == [1, 2]
    assert _slots(store, ["c"], start + 30) == [3]
    assert _slots(store, ["d"], start + 61) == [2]  # a and b have left the window; c is still in it
    assert _slots(store, ["e"], start + 200) == [1]
    kept = store.get("e")
    assert kept is not None and store.claim_slot(kept, start + 201).slot == 1  # a retried job keeps its slot
