"""Whatever GitLab's history holds (missing fields, odd types, deleted labels), reindex reads it without crashing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from service.store import Vocabulary
from service.store.history import history_observation
from service.store.model import parse_time

NOW = datetime(2026, 3, 2, tzinfo=UTC)
scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=30)
times = st.sampled_from(["2026-03-02T09:00:00.000Z", "2026-03-02 09:00:00 UTC", "", "not a time", "2026-13-45"])
users = st.none() | st.fixed_dictionaries(
    {"id": st.integers() | st.none(), "username": st.text(max_size=10) | st.none()}
)
labels = st.none() | st.fixed_dictionaries(
    {"name": st.sampled_from(["incident", "severity::1", "incident::mitigation", "x"]) | st.none()}
)


def record(extra: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"id": st.integers() | st.none(), "created_at": times | scalars, "user": users, **extra}
    )


label_events = st.lists(
    record({"label": labels, "action": st.sampled_from(["add", "remove", "?"]) | scalars}), max_size=8
)
state_events = st.lists(record({"state": st.sampled_from(["closed", "reopened", "merged"]) | scalars}), max_size=4)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
memories = st.fixed_dictionaries({"staffed": json_values, "review": json_values}).map(
    lambda m: f"status\n\n<!-- incident-bot:memory {json.dumps(m)} -->"
)
bot_notes = st.fixed_dictionaries(
    {
        "id": st.integers(),
        "created_at": times,
        "author": st.just({"id": 99, "username": "incident-bot"}),
        "system": st.just(False),
        "body": memories,
    }
)
notes = st.lists(
    st.fixed_dictionaries(
        {
            "id": st.integers(),
            "created_at": times,
            "author": users,
            "system": st.booleans() | st.none(),
            "body": st.text(max_size=40),
        }
    )
    | bot_notes,
    max_size=5,
)


@settings(max_examples=150, deadline=None)
@given(label_events, state_events, notes, st.lists(st.text(max_size=12), max_size=4), scalars, times)
def test_any_history_reads_without_crashing(
    labels_raw: list[dict[str, Any]],
    states_raw: list[dict[str, Any]],
    notes_raw: list[dict[str, Any]],
    now_labels: list[str],
    issue_type: Any,
    created: str,
) -> None:
    """history_observation turns any shape of events into an Observation (skipping what it cannot date)."""
    issue = {"project_id": 1, "iid": 2, "labels": now_labels, "issue_type": issue_type, "created_at": created}
    obs = history_observation(issue, labels_raw, states_raw, notes_raw, Vocabulary(), observed_at=NOW)
    assert obs.iid == 2 and all(e.at.tzinfo is not None for e in obs.events)


@given(st.text(max_size=40) | scalars)
def test_any_timestamp_parses_or_is_none(value: Any) -> None:
    """parse_time never raises: an aware UTC datetime or None."""
    parsed = parse_time(value)
    assert parsed is None or parsed.tzinfo is not None
