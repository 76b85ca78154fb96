"""A suspect deployment's merge requests in "Recent changes": read from GitLab once per deployment, kept in the index,
listed under the deployment (reference, title made inert, author named without a ping, merged time)."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa

from service.rules import load_rules
from service.store import Store
from service.store.schema import deployment_merge_requests, merge_request_reads
from tests.fakegitlab import rounds
from tests.rules.helpers import rules_with_area_code_paths
from tests.worker.helpers import declare_suspects, deployed, recent_changes, reopen_incident, seed_changes

MRS = r"/projects/1/deployments/\d+/merge_requests"


def mr_reads(fake) -> list[str]:
    return [c.path for c in fake.calls if c.method == "GET" and re.fullmatch(MRS, c.path)]


def test_a_deployment_lists_its_merge_requests_newest_merged_first(fake, runtime, indexed: Store) -> None:
    """d1 carried !12 and !14: both under d1's line, the later merged first, titles inert, authors not pinged."""
    seed_changes(indexed)
    fake.ship(1, 1, 12, title="Cache @all carts <b>fast</b>", author="alice", merged_at="2026-12-05T09:00:00.000Z")
    fake.ship(1, 1, 14, title="Fix totals", author="bob", merged_at="2026-12-05T09:30:00.000Z")
    section = recent_changes(declare_suspects(fake))
    flag, d1 = section.split("\n- ")
    assert "new-checkout" in flag and d1.startswith("deployment [sha1]")
    lines = [line.strip() for line in d1.splitlines() if line.startswith("  - ")]
    assert len(lines) == 2
    url = "http://gitlab.test/gitlabhq/gitlab-test/-/merge_requests/"
    assert lines[0].startswith(f"- [gitlabhq/gitlab-test!14]({url}14) Fix totals by bob, merged 2026-12-05 09:30")
    assert lines[1].startswith(f"- [gitlabhq/gitlab-test!12]({url}12) Cache")
    assert "by alice, merged 2026-12-05 09:00 UTC" in lines[1]
    assert "<b>" not in d1 and "@all" not in d1 and "@alice" not in d1 and "@bob" not in d1


def test_the_merge_requests_are_read_once_per_deployment(fake, runtime, indexed: Store) -> None:
    """The first incident reads d1's merge requests (one call, kept even when there are none for the flag's
    neighbours); a second incident naming the same deployment makes no second call and still lists them."""
    seed_changes(indexed)
    fake.ship(1, 1, 12, title="Cache carts")
    first = declare_suspects(fake)
    assert mr_reads(fake) == ["/projects/1/deployments/1/merge_requests"]
    reopen_incident(fake, 1, 24)
    second = declare_suspects(fake, iid=24, key="d2")
    assert mr_reads(fake) == ["/projects/1/deployments/1/merge_requests"]
    assert "Cache carts" in first and "Cache carts" in second
    with indexed.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(deployment_merge_requests)).scalar() == 1
        assert conn.execute(sa.select(sa.func.count()).select_from(merge_request_reads)).scalar() == 1


def test_gitlab_failing_costs_only_the_merge_requests_and_is_asked_again(fake, runtime, indexed: Store) -> None:
    """A 500 from the merge requests' endpoint: the deployment is still listed, without them, and nothing is kept;
    the next list asks again and shows them."""
    seed_changes(indexed)
    fake.ship(1, 1, 12, title="Cache carts")
    fake.fail("GET", MRS, 500, times=4)  # the session's retries too
    first = declare_suspects(fake)
    assert "deployment [sha1]" in first and "Cache carts" not in first
    reopen_incident(fake, 1, 24)
    assert "Cache carts" in declare_suspects(fake, iid=24, key="d2")


def test_no_merge_request_keeps_the_line_as_it_was(fake, runtime, indexed: Store) -> None:
    """A deployment GitLab says carried nothing: its line alone, and the empty answer is kept (not asked again)."""
    indexed_one = deployed(1, 12)
    seed_changes(indexed, [indexed_one])
    section = recent_changes(declare_suspects(fake))
    assert section.startswith("- deployment [sha1]") and "\n" not in section
    reopen_incident(fake, 1, 24)
    declare_suspects(fake, iid=24, key="d2")
    assert len(mr_reads(fake)) == 1


def test_a_merge_request_touching_an_areas_path_says_so(fake, runtime, indexed: Store, tmp_path: Path) -> None:
    """The reliability area lists `app/payments/`: !12 changes a file under it and gets the reason, !14 (docs) none.
    Each merge request's changed files are read once; a second incident reads none."""
    runtime.rules = load_rules(rules_with_area_code_paths(tmp_path, "[app/payments/]"))
    seed_changes(indexed)
    fake.ship(1, 1, 12, title="Charge twice", paths=("app/payments/charge.rb", "README.md"))
    fake.ship(1, 1, 14, title="Docs", paths=("docs/pay.md",))
    lines = recent_changes(declare_suspects(fake)).splitlines()
    (twelve,) = [line for line in lines if "!12]" in line]
    (fourteen,) = [line for line in lines if "!14]" in line]
    assert twelve.endswith(": touches `app/payments/`, a path of the reliability area")
    assert "touches" not in fourteen
    diffs = [c.path for c in fake.calls if c.path.endswith("/diffs")]
    assert sorted(diffs) == ["/projects/1/merge_requests/12/diffs", "/projects/1/merge_requests/14/diffs"]
    reopen_incident(fake, 1, 24)
    assert "a path of the reliability area" in declare_suspects(fake, iid=24, key="d2")
    assert len([c for c in fake.calls if c.path.endswith("/diffs")]) == 2


def test_no_area_paths_no_diffs_read(fake, runtime, indexed: Store) -> None:
    """The shipped areas list no paths: a merge request's changed files are never asked for."""
    seed_changes(indexed)
    fake.ship(1, 1, 12, paths=("app/payments/charge.rb",))
    assert "touches" not in declare_suspects(fake)
    assert not [c for c in fake.calls if c.path.endswith("/diffs")]


def test_the_merge_requests_of_every_listed_deployment_are_read_in_one_round(fake, runtime, indexed: Store) -> None:
    """Three deployments listed, none read before: their three reads overlap (sent together), with latency."""
    seed_changes(indexed, [deployed(1, 12), deployed(5, 20), deployed(6, 30)])
    for n in (1, 5, 6):
        fake.ship(1, n, 10 + n)
    fake.latency = 0.05
    comment = declare_suspects(fake)
    reads = [c for c in fake.calls if re.fullmatch(MRS, c.path)]
    assert len(reads) == 3 and len(rounds(reads)) == 1
    assert all(f"!{10 + n}]" in comment for n in (1, 5, 6))
