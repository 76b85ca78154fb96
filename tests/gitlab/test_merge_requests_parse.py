"""GitLab's merge request JSON read into `MergeRequest` (service/gitlab/changes.py): the documented shape field by
field, and any JSON at all either a bounded record or skipped, never an exception."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from service.gitlab.changes import MAX_IID, MergeRequest, merge_request_from_api
from tests.changes.helpers import JSON

DOCUMENTED = {
    "id": 1, "iid": 12, "project_id": 3, "title": "Fix totals", "state": "merged",
    "merged_at": "2026-12-01T10:00:00.000Z", "author": {"id": 8, "username": "bob", "name": "Bob"},
    "web_url": "http://gitlab.test/acme/shop/-/merge_requests/12",
    "references": {"short": "!12", "relative": "!12", "full": "acme/shop!12"},
}  # fmt: skip


def test_the_documented_merge_request_is_read() -> None:
    """Every field the suspects show, from the merge requests API's shape."""
    assert merge_request_from_api(1, DOCUMENTED) == MergeRequest(
        3, 12, "Fix totals", "bob", datetime(2026, 12, 1, 10, tzinfo=UTC),
        "http://gitlab.test/acme/shop/-/merge_requests/12", "acme/shop!12",
    )  # fmt: skip


def test_without_a_readable_iid_it_is_skipped_and_the_rest_defaults() -> None:
    """No iid, a string, a bool, 0 or past GitLab's range: skipped; only an iid: the deployment's project, `!iid`."""
    for iid in (None, "12", True, 0, MAX_IID + 1):
        assert merge_request_from_api(1, {**DOCUMENTED, "iid": iid}) is None
    assert merge_request_from_api(7, {"iid": 4}) == MergeRequest(7, 4, reference="!4")


@given(data=JSON | st.dictionaries(st.sampled_from(sorted(DOCUMENTED)), JSON, max_size=8))
def test_any_json_is_a_bounded_record_or_skipped(data: Any) -> None:
    """Whatever GitLab (or something in its place) answers: None, or texts within the index's columns."""
    mr = merge_request_from_api(1, data)
    if mr is not None:
        assert 1 <= mr.iid <= MAX_IID and 0 < mr.project_id < 2**63
        assert len(mr.title) <= 255 and len(mr.author) <= 255 and len(mr.reference) <= 255 and len(mr.web_url) <= 2048
