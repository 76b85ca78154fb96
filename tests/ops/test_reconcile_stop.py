"""A reconcile pass cut short by a worker's stop runs again when its job is handed back, not skipped for the period."""

from __future__ import annotations

from collections.abc import Iterator

from redis import Redis

from service.gitlab.ops import Namespace
from service.ops.reconcile import Reconciler, reconcile_periodically
from service.worker.stopping import StopInterrupt
from tests.fakegitlab import FakeGitLab
from tests.ops.helpers import project


def test_a_pass_interrupted_by_a_stop_runs_again(reconciler: Reconciler, fake: FakeGitLab, redis_conn: Redis) -> None:  # noqa: F811
    """The stop interrupts the pass after its first project: the handed-back job's pass then runs in full."""
    fake.add_issue(1, 48, labels=["incident"])
    ns = project(reconciler)

    def cut_short() -> Iterator[Namespace]:
        yield ns
        raise StopInterrupt("worker stopping")

    try:
        reconcile_periodically(reconciler, cut_short())
    except StopInterrupt:
        pass
    else:
        raise AssertionError("the stop did not reach the pass")
    again = reconcile_periodically(reconciler, [ns])
    assert again is not None, "the handed-back pass was skipped as if this period's pass had run"
    assert not redis_conn.exists("incident-bot:ops:reconcile:lock")
