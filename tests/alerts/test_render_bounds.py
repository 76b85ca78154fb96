"""Whatever an accepted alert body holds (up to the edge's 1 MiB, labels of up to 4096 characters each, characters
that neutralising lengthens), the description and comments the bot writes stay under `render.MAX_TEXT`, far below
GitLab's 1,000,000 characters (the fake GitLab refuses more with 400, as GitLab does): the incident opens."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.alerts.grouping import merged
from service.alerts.payload import MAX_VALUE
from service.alerts.render import (
    MAX_TEXT,
    description,
    fired_again_comment,
    resolved_comment,
    storm_description,
    table,
)
from service.alerts.sources import parse
from service.config import DEFAULT_MAX_BODY
from service.worker import Runtime
from tests.alerts.helpers import OPS, alert, new_issues
from tests.alerts.samples import alertmanager, am_alert, dumps
from tests.fakegitlab import FakeGitLab
from tests.fakegitlab.limits import MAX_TEXT as GITLAB_MAX_TEXT

LONGEST = "|~`[&<\\@"  # what neutralising lengthens most (a `|` becomes 6 characters)


def huge(alerts: int, labels: int, size: int, char: str = "|") -> dict[str, Any]:
    """An Alertmanager body of `alerts` alerts of `labels` extra labels `size` characters long each."""
    extra = {f"l{n}": char * size for n in range(labels)}
    items = [am_alert(name=char * size, instance=f"web-{i}", **extra) for i in range(alerts)]
    for i, item in enumerate(items):
        item["fingerprint"] = f"fp-{i}"
        item["generatorURL"] = "http://prometheus.example.com/" + "a" * max(0, size - 40)
        item["annotations"]["summary"] = char * size
    body = alertmanager(*items, **{f"g{n}": char * size for n in range(labels)})
    body["groupLabels"] = dict(body["commonLabels"])
    body["commonAnnotations"] = {"description": char * size}
    return body


def test_an_alert_body_near_the_edges_limit_still_opens_its_incident(fake: FakeGitLab, runtime: Runtime) -> None:
    """About 1 MiB of `|`-filled labels (6 characters each once neutralised): the incident opens, its description
    under the cap, the table saying how many alerts it leaves out; the resolution comment posts too."""
    body = huge(alerts=130, labels=1, size=1500)
    assert len(dumps(body)) < DEFAULT_MAX_BODY
    assert alert(body).startswith("applied: OpenAlertIncident")
    [issue] = new_issues(fake)
    assert len(issue["description"]) < MAX_TEXT and "more alerts not shown" in issue["description"]
    for item in body["alerts"]:
        item["status"] = "resolved"
        item["endsAt"] = "2026-11-27T10:05:00Z"
    alert(body, "d-2")
    [said] = [n["body"] for n in fake.notes[(OPS, issue["iid"])] if "All alerts of this group" in n["body"]]
    assert len(said) < MAX_TEXT


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    alerts=st.integers(1, 1000),
    labels=st.integers(0, 30),
    size=st.integers(0, MAX_VALUE),
    char=st.sampled_from(LONGEST + "aé "),
)
def test_any_accepted_alert_body_renders_under_the_cap(alerts: int, labels: int, size: int, char: str) -> None:
    """Any body the edge accepts (at most 1 MiB): description, table, comments and the storm's description stay
    under MAX_TEXT."""
    size = min(size, (DEFAULT_MAX_BODY - 20_000) // (alerts * (labels + 5) + 3 * labels + 2))
    raw = dumps(huge(alerts, labels, size, char))
    if len(raw) > DEFAULT_MAX_BODY:
        return  # the edge answers 413
    group = parse("alertmanager", raw)
    state = merged(None, group)
    texts = [description(group, state, "d-1", "http://gitlab.test/x/-/issues/1"), table(state)]
    texts += [resolved_comment(state, "close"), fired_again_comment(state.values(), 0.0, True)]
    groups = {str(n): {"title": char * 200, "status": "firing", "since": 0.0} for n in range(alerts * 5)}
    texts.append(storm_description(groups, 10))
    assert all(len(text) < MAX_TEXT < GITLAB_MAX_TEXT for text in texts), [len(t) for t in texts]
