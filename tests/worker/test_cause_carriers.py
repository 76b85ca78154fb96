"""`cause !<iid>` of a merge request no indexed deployment is known to carry reads the merge requests of the
project's production deployments never read, before the incident started (at most 20 reads), so `report --changes`
counts it against the deployment that carried it; a known merge request, or one named again, reads nothing."""

from __future__ import annotations

import json

from service.store import Store
from service.store.causes import caused_incidents
from service.worker import process_delivery
from tests.conftest import NOW, payload
from tests.worker.helpers import declare_suspects, deployed, seed_changes


def cause(fake, ref: str, key: str) -> str:
    """`@incident-bot cause <ref>` on incident 1#23 (opened at NOW, as declared) through the real job: the reply."""
    note = payload("note.create.incident")
    note["issue"]["created_at"] = NOW.strftime("%Y-%m-%d %H:%M:%S UTC")
    note["object_attributes"].update(note=f"@incident-bot cause {ref}", id=fake.next_id())  # a new comment
    assert process_delivery(json.dumps(note).encode(), {"delivery_id": key, "event_uuid": key}).startswith("applied")
    return str(fake.bot_notes()[-1]["body"])


def reads(fake) -> list[str]:
    """The deployments whose merge requests were read, in order."""
    listed = [c.path for c in fake.calls if c.path.endswith("/merge_requests") and "/deployments/" in c.path]
    return [path.split("/")[4] for path in listed]


def caused(store: Store) -> set[tuple[int, int]]:
    return {(c.iid, c.deployment.deployment_id) for c in caused_incidents(store.engine)}


def test_a_cause_whose_deployment_no_list_named_is_found_by_its_deployments(fake, runtime, indexed: Store) -> None:
    """The declaration listed d1 (12 min before) and read its merge requests; d3 (25 h before, outside the suspects'
    window) carried !30 and was never listed. `cause !30` reads d3's merge requests (not d1's again, not the failed
    d2's, not d4 deployed after the incident started): the incident counts against d3. Naming it again reads
    nothing; `cause !12` (carried by d1, known) reads nothing either."""
    seed_changes(indexed, [deployed(1, 12), deployed(2, 30, status="failed"), deployed(3, 25 * 60), deployed(4, -5)])
    fake.ship(1, 1, 12)
    fake.ship(1, 3, 30)
    declare_suspects(fake)
    assert reads(fake) == ["1"]
    assert caused(indexed) == set()
    assert "Cause recorded by" in cause(fake, "!30", "c1")
    assert reads(fake) == ["1", "3"]
    assert caused(indexed) == {(23, 3)}
    cause(fake, "!30", "c2")
    cause(fake, "!12", "c3")
    assert reads(fake) == ["1", "3"]
    assert caused(indexed) == {(23, 1)}


def test_at_most_twenty_deployments_are_read_newest_first(fake, runtime, indexed: Store) -> None:
    """30 production deployments, 1 to 30 hours before the incident, none carrying !99; the declaration listed and
    read the newest 5. `cause !99` reads the newest 20 never read (d6 to d25); the cause is recorded all the same
    and counts against none. Naming it again reads the 5 left (d26 to d30), and a third time nothing."""
    seed_changes(indexed, [deployed(n, 60 * n) for n in range(1, 31)])
    declare_suspects(fake)
    assert sorted(int(n) for n in reads(fake)) == list(range(1, 6))
    assert "Cause recorded by" in cause(fake, "!99", "c1")
    assert sorted(int(n) for n in reads(fake)[5:]) == list(range(6, 26))
    assert caused(indexed) == set()
    cause(fake, "!99", "c2")
    assert sorted(int(n) for n in reads(fake)[25:]) == list(range(26, 31))
    cause(fake, "!99", "c3")
    assert len(reads(fake)) == 30
