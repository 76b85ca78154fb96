"""The report on a hand-built history: every figure of the JSON contract computed by hand below."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from service.reports import GroupBy, contract, render, report_from_store
from service.reports.figures import nearest_rank
from service.reports.formats import Format
from service.store import EventKind, Observation, Store, TimelineEvent
from tests.reports.helpers import TARGETS

BOT = "incident-bot"
IDS = {"alice": 7, "bob": 8, "carol": 9, "dave": 10, "erin": 11}
B = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
WINDOW = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
Step = Callable[[datetime], TimelineEvent]


def _ev(m: float, kind: EventKind, actor: str, frm: str = "", to: str = "") -> Step:
    bot = actor == BOT
    return lambda c: TimelineEvent(c + timedelta(minutes=m), kind, "", frm, to, actor, IDS.get(actor), bot)


def declared(m: float, actor: str = "alice") -> Step:
    return _ev(m, EventKind.INCIDENT, actor, to="added")


def sev(m: float, frm: str, to: str, actor: str = "bob") -> Step:
    return _ev(m, EventKind.SEVERITY, actor, frm, to)


def phase(m: float, frm: str, to: str, actor: str = "bob") -> Step:
    return _ev(m, EventKind.PHASE, actor, frm, to)


def note(m: float, actor: str) -> Step:
    return _ev(m, EventKind.COMMENT, actor)


def close(m: float, actor: str = "bob") -> list[Step]:
    """A person closes; the bot moves the phase to post-incident at the same moment."""
    return [_ev(m, EventKind.STATE, actor, to="closed"), phase(m, "remediation", "post-incident", BOT)]


def reopen(m: float, actor: str = "carol") -> list[Step]:
    return [_ev(m, EventKind.STATE, actor, to="reopened"), phase(m, "post-incident", "mitigation", BOT)]


def record(
    store: Store,
    iid: int,
    created: datetime,
    steps: list[Step | list[Step]],
    *,
    severity: int | None,
    phase_now: str,
    state: str = "opened",
    **facts: Any,
) -> None:
    flat = [s for step in steps for s in (step if isinstance(step, list) else [step])]
    obs = Observation(
        project_id=1,
        project_path="shop/checkout",
        iid=iid,
        title=str(facts.pop("title", f"Incident {iid}")),
        url=f"http://gitlab.test/shop/checkout/-/issues/{iid}",
        severity=severity,
        phase=phase_now,
        state=state,
        author="alice",
        author_id=7,
        created_at=created,
        observed_at=NOW,
        events=tuple(s(created) for s in flat),
        **facts,
    )
    store.record(obs)


def build_history(store: Store) -> None:
    """Fifteen incidents; the comment on each says what it contributes."""
    # I1 sev1: TTA 10 (bob's comment), TTM 100 (remediation), TTR 300 (closed); review closed.
    record(
        store,
        1,
        B,
        [
            declared(0),
            sev(0, "", "1", "alice"),
            phase(0, "", "identification", BOT),
            note(10, "bob"),
            phase(12, "identification", "mitigation"),
            phase(100, "mitigation", "remediation"),
            close(300),
        ],
        severity=1,
        phase_now="post-incident",
        state="closed",
        review_url="http://gitlab.test/shop/checkout/-/issues/101",
        review_state="closed",
    )
    # I2 escalated 3 -> 1 then de-escalated 1 -> 2 (counts as sev1): the author's comment at 5 does not
    # acknowledge; bob's at 20 does (> 15: breach); TTM 260 (> 240: breach); TTR 1500 (> 1440: breach).
    record(
        store,
        2,
        B + timedelta(days=1),
        [
            declared(0),
            sev(0, "", "3", BOT),
            note(5, "alice"),
            note(20, "bob"),
            sev(25, "3", "1"),
            phase(30, "identification", "mitigation", "carol"),
            sev(200, "1", "2"),
            phase(260, "mitigation", "remediation"),
            close(1500),
        ],
        severity=2,
        phase_now="post-incident",
        state="closed",
        review_url="http://gitlab.test/shop/checkout/-/issues/102",
        review_state="opened",
    )
    # I3 sev2, acknowledged by a person's phase move at 40 (> 30: breach); closed at 100 (mitigated),
    # reopened at 150, closed again at 400 (resolved: the last close with no reopening after).
    record(
        store,
        3,
        B + timedelta(days=2),
        [
            declared(0),
            sev(0, "", "2", "alice"),
            phase(40, "identification", "mitigation"),
            close(100),
            reopen(150),
            close(400),
        ],
        severity=2,
        phase_now="post-incident",
        state="closed",
        review_url="http://gitlab.test/shop/checkout/-/issues/103",
        review_state="closed",
    )
    # I4 a plain issue declared 60 minutes after creation: start = +60. bob's comment at 50 is before
    # the start and does not count; his comment at 90 does: TTA 30, TTM 140, TTR 440 (sev3: no breach).
    record(
        store,
        4,
        B + timedelta(days=3),
        [
            note(50, "bob"),
            declared(60),
            sev(60, "", "3", BOT),
            note(90, "bob"),
            phase(200, "identification", "remediation"),
            close(500),
        ],
        severity=3,
        phase_now="post-incident",
        state="closed",
    )
    # I5 of type Incident (no label), de-escalated 2 -> 4 (counts as sev2): TTA 45 (breach), post-incident
    # at 60 (TTM 60), closed at 600 (TTR 600: the last of those times).
    record(
        store,
        5,
        B + timedelta(days=4),
        [
            sev(0, "", "2", "alice"),
            sev(30, "2", "4"),
            note(45, "carol"),
            phase(60, "identification", "post-incident"),
            _ev(600, EventKind.STATE, "bob", to="closed"),
        ],
        severity=4,
        phase_now="post-incident",
        state="closed",
        issue_type="incident",
    )
    # I6 a drill: would breach everything, but drills are excluded.
    record(
        store,
        6,
        B + timedelta(days=5),
        [declared(0), sev(0, "", "1", "alice"), note(100, "bob"), close(3000)],
        severity=1,
        phase_now="post-incident",
        state="closed",
        drill=True,
    )
    # I7 confidential sev1: TTA 5, TTM 60, TTR 120; counted, its title never shown.
    record(
        store,
        7,
        B + timedelta(days=6),
        [
            declared(0),
            sev(0, "", "1", "alice"),
            note(5, "erin"),
            phase(60, "identification", "remediation"),
            close(120),
        ],
        severity=1,
        phase_now="post-incident",
        state="closed",
        confidential=True,
        title="Secret key leaked",
    )
    # I8 sev1 still open two days later, only its author commented: breaches all three targets.
    record(
        store,
        8,
        NOW - timedelta(days=2),
        [declared(0), sev(0, "", "1", "alice"), note(10, "alice")],
        severity=1,
        phase_now="identification",
    )
    # I9 sev3 open for 30 minutes, acknowledged at 10: within every target.
    record(
        store,
        9,
        NOW - timedelta(minutes=30),
        [declared(0), sev(0, "", "3", BOT), note(10, "bob")],
        severity=3,
        phase_now="identification",
    )
    # I10 sev4 (no targets): TTA 120, TTM = TTR = 240.
    record(
        store,
        10,
        B + timedelta(days=8),
        [declared(0), sev(0, "", "4", "alice"), note(120, "dave"), close(240)],
        severity=4,
        phase_now="post-incident",
        state="closed",
    )
    # I11 sev2 within targets: TTA 10, TTM 100, TTR 1000.
    record(
        store,
        11,
        B + timedelta(days=9),
        [declared(0), sev(0, "", "2", "alice"), note(10, "bob"), phase(100, "mitigation", "remediation"), close(1000)],
        severity=2,
        phase_now="post-incident",
        state="closed",
    )
    # I12 sev3 closed by its author at 50 with nobody else involved: never acknowledged, TTM = TTR = 50;
    # resolved, so the missing acknowledgement is no breach.
    record(
        store,
        12,
        B + timedelta(days=10),
        [declared(0), sev(0, "", "3", BOT), close(50, "alice")],
        severity=3,
        phase_now="post-incident",
        state="closed",
    )
    # I13 started before the window: not in the report.
    record(
        store,
        13,
        datetime(2026, 2, 20, tzinfo=UTC),
        [declared(0), sev(0, "", "1", "alice")],
        severity=1,
        phase_now="identification",
    )
    # I14 no severity, open, untouched: its group has no times at all (null).
    record(store, 14, B + timedelta(days=11), [declared(0)], severity=None, phase_now="identification")
    # I15 sev3 moved to post-incident at 300 and left open: mitigated and resolved at 300; TTA 20.
    record(
        store,
        15,
        B + timedelta(days=12),
        [declared(0), sev(0, "", "3", BOT), note(20, "carol"), phase(300, "mitigation", "post-incident")],
        severity=3,
        phase_now="post-incident",
    )


def spread(median: float | None, p90: float | None) -> dict[str, float | None]:
    return {"median": median, "p90": p90}


def group(count: int, tta: tuple, ttm: tuple, ttr: tuple, breaches: tuple[int, int, int]) -> dict:
    return {
        "count": count,
        "tta_minutes": spread(*tta),
        "ttm_minutes": spread(*ttm),
        "ttr_minutes": spread(*ttr),
        "breaches": dict(zip(("acknowledge", "mitigate", "resolve"), breaches, strict=True)),
    }


# By hand (nearest rank: median = value at rank ceil(n/2), p90 at rank ceil(0.9 n), values sorted):
EXPECTED = {
    "from": "2026-03-01T00:00:00Z",
    "to": "2026-04-01T00:00:00Z",
    "incidents": 13,  # I1-I5, I7-I12, I14, I15 (I6 drill, I13 before the window)
    "open": 3,  # I8, I9, I14
    "groups": {
        # I1, I2, I7, I8: TTA [5, 10, 20], TTM [60, 100, 260], TTR [120, 300, 1500];
        # breaches: I2 (20 > 15, 260 > 240, 1500 > 1440) and I8 (open 2880 min, past all three).
        "1": group(4, (10, 20), (100, 260), (300, 1500), (2, 2, 2)),
        # I3, I5, I11: TTA [10, 40, 45] (I3 40 > 30, I5 45 > 30), TTM [60, 100, 100], TTR [400, 600, 1000].
        "2": group(3, (40, 45), (100, 100), (600, 1000), (2, 0, 0)),
        # I4, I9, I12, I15: TTA [10, 20, 30], TTM [50, 140, 300], TTR [50, 300, 440]; no breach.
        "3": group(4, (20, 30), (140, 300), (300, 440), (0, 0, 0)),
        # I10 alone, no targets.
        "4": group(1, (120, 120), (240, 240), (240, 240), (0, 0, 0)),
        # I14: no time reached.
        "none": group(1, (None, None), (None, None), (None, None), (0, 0, 0)),
    },
    "pages": {},  # nobody paged (tests/reports/test_paging_report.py has pages)
}


@pytest.fixture
def report_store(store: Store) -> Store:
    """The index holding the hand-built history."""
    build_history(store)
    return store


def _report(store: Store, by: GroupBy = GroupBy.SEVERITY):
    return report_from_store(store, start=WINDOW[0], end=WINDOW[1], by=by, targets=TARGETS, now=NOW)


def test_json_contract_matches_the_figures_computed_by_hand(report_store: Store) -> None:
    """Every field of the JSON contract, by severity, equals the hand computation (floats are minutes)."""
    assert json.loads(render(_report(report_store), Format.JSON)) == EXPECTED


def test_nearest_rank_percentiles() -> None:
    """Median and p90 are the nearest-rank values: an actual observation, never an interpolation."""
    assert nearest_rank([1, 2, 3, 4], 50) == 2
    assert nearest_rank([1, 2, 3, 4], 90) == 4
    assert nearest_rank(list(range(1, 11)), 90) == 9
    assert nearest_rank([7], 90) == 7
    assert nearest_rank([], 50) is None


def test_reviews_open_incidents_and_longest(report_store: Store) -> None:
    """Reviews opened vs still open, open incidents oldest first with their age, the longest first."""
    report = _report(report_store)
    assert (report.reviews_opened, report.reviews_open) == (3, 1)
    assert [(i.row.iid, i.minutes) for i in report.open_incidents] == [(14, 26160.0), (8, 2880.0), (9, 30.0)]
    # Durations: I14 26160 (open), I8 2880 (open), I2 1500, I11 1000, I5 600, then I4 440, I3 400, ...
    assert [i.row.iid for i in report.longest] == [14, 8, 2, 11, 5]


def test_grouping_by_category_and_month(report_store: Store) -> None:
    """Other groupings partition the same incidents."""
    by_month = contract(_report(report_store, GroupBy.MONTH))
    assert list(by_month["groups"]) == ["2026-03"]
    assert by_month["groups"]["2026-03"]["count"] == 13
    by_category = contract(_report(report_store, GroupBy.CATEGORY))
    assert by_category["groups"] == {"none": by_category["groups"]["none"]}
    assert by_category["groups"]["none"]["tta_minutes"] == {"median": 20.0, "p90": 45.0}


def test_markdown_hides_confidential_titles_and_mentions(report_store: Store) -> None:
    """Markdown for an issue: the table, confidential titles replaced, no live mention from a title."""
    report_store.record(
        Observation(
            project_id=1,
            project_path="shop/checkout",
            iid=16,
            title="ping @all | now",
            severity=4,
            created_at=NOW - timedelta(days=20),
            observed_at=NOW,
            events=(TimelineEvent(NOW - timedelta(days=20), EventKind.INCIDENT, "", "", "added", "alice", 7),),
        )
    )
    report_store.record(
        Observation(
            project_id=1,
            project_path="shop/checkout",
            iid=17,
            title="Secret DB creds",
            severity=2,
            confidential=True,
            created_at=NOW - timedelta(days=1),
            observed_at=NOW,
            events=(TimelineEvent(NOW - timedelta(days=1), EventKind.INCIDENT, "", "", "added", "alice", 7),),
        )
    )
    text = render(_report(report_store), Format.MD)
    assert "Secret DB creds" not in text
    assert "| 1 | 4 | 10 | 20 | 100 | 260 | 300 | 1500 | 2 | 2 | 2 |" in text
    assert "Secret key leaked" not in text
    assert "confidential incident" in text
    assert "@all" not in text and "ping @\u2060all &#124; now" in text  # service.text's policy
    assert "shop/checkout#17" not in text  # nor its number
    page = render(_report(report_store), Format.HTML)
    assert "confidential incident" in page and "Secret DB creds" not in page and "shop/checkout#17" not in page


def test_markdown_and_html_show_durations_in_the_one_format(report_store: Store) -> None:
    """Open and longest incidents' durations read as the comments do (`2 d 00 h`, `25 h 00 min`), not `2d 0h 0m`."""
    text = render(_report(report_store), Format.MD)
    assert "| 18 d 04 h (open) |" in text and "| 2 d 00 h (open) |" in text and "| 25 h 00 min |" in text
    assert "0h" not in text and "0m |" not in text
    page = render(_report(report_store), Format.HTML)
    assert "<td class='n'>25 h 00 min</td>" in page


def test_csv_has_one_row_per_group(report_store: Store) -> None:
    """CSV for spreadsheets: a header and one row per group; empty cells where no time exists."""
    rows = list(csv.reader(io.StringIO(render(_report(report_store), Format.CSV))))
    assert rows[0][:3] == ["group", "count", "tta_median_minutes"]
    assert [r[0] for r in rows[1:]] == ["1", "2", "3", "4", "none"]
    assert rows[1][1:] == ["4", "10.0", "20.0", "100.0", "260.0", "300.0", "1500.0", "2", "2", "2"]
    assert rows[5][1:] == ["1", "", "", "", "", "", "", "0", "0", "0"]


def test_html_has_an_svg_chart_and_no_script(report_store: Store) -> None:
    """HTML for the digest: an inline SVG chart drawn by the plotting library, no script, no secret title."""
    page = render(_report(report_store), Format.HTML)
    assert "<svg" in page and "Median minutes from start" in page
    assert "<script" not in page
    assert "Secret key leaked" not in page
