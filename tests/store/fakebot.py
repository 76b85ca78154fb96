"""The worker on FakeHistory deliveries: the real planner and rules, its writes back into the history.

Its label edits, closes, review issues and memory notes land in the FakeHistory at the
delivery's time, so reindex over HTTP later sees exactly what the deliveries saw.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from service.events import Event, parse_event
from service.handlers.planner import plan_event
from service.incident import IncidentState, Issue, Note, find_memory, with_delivery, write_memory
from service.plan import AddLabels, CloseIssue, OpenReview, Plan, PostNote, Remember, RemoveLabels
from service.rules import RuleSet
from service.store import Store
from service.store.observe import observe, vocabulary
from tests.fakehistory import BOT, FakeHistory


class FakeBot:
    """The worker on FakeHistory deliveries: real planner and rules, writes into the history, observes into a store."""

    def __init__(self, history: FakeHistory, rules: RuleSet, store: Store | None):
        self.history, self.rules, self.store = history, rules, store
        self.vocab = vocabulary(rules, BOT["username"])
        self.deliveries = 0

    def state(self, key: tuple[int, int]) -> IncidentState:
        """What the worker loads from GitLab: the issue and the bot's memory (notes newest first)."""
        raw = self.history.issues[key]
        issue = Issue(
            project_id=key[0],
            iid=key[1],
            title=raw["title"],
            description=raw["description"],
            state=raw["state"],
            labels=frozenset(raw["labels"]),
            confidential=raw["confidential"],
            web_url=raw["web_url"],
            issue_type=raw["issue_type"],
        )
        notes = [
            Note(n["id"], n["body"], n["author"]["username"], n["created_at"], n["system"])
            for n in reversed(self.history.notes[key])
        ]
        memory, note = find_memory(notes, BOT["username"])
        return IncidentState(issue=issue, memory=memory, memory_note_id=note.id if note else None, notes=tuple(notes))

    def deliver(self, payload: dict[str, Any], at: datetime) -> None:
        """Plan the delivery, apply the plan to the history as the bot (at `at`), and record the observation."""
        applied = self.apply(payload, at)
        if applied is not None and self.store is not None:
            event, state, plan, review_url = applied
            obs = observe(event, state, plan, self.vocab, now=at, payload=payload, review_url=review_url)
            if obs is not None:
                self.store.record(obs)

    def apply(self, payload: dict[str, Any], at: datetime) -> tuple[Event, IncidentState, Plan, str | None] | None:
        """The worker's job up to the index: parse, load, plan, write to the history; what observe() takes."""
        self.deliveries += 1
        event = parse_event(payload, delivery_id=f"d{self.deliveries}", incident_label=self.vocab.incident_label)
        if not event.is_incident:
            return None
        key = (event.project_id, event.iid)
        state = self.state(key)
        plan = plan_event(event, state, self.rules, at)
        history, bot = self.history, BOT["username"]
        before = set(history.issues[key]["labels"])
        after = set(before)
        for action in plan.actions:
            if isinstance(action, AddLabels):
                after.update(action.labels)
            elif isinstance(action, RemoveLabels):
                after.difference_update(action.labels)
        history._labels(key, at, bot, add=sorted(after - before), remove=sorted(before - after))
        if plan.of(CloseIssue) and history.issues[key]["state"] != "closed":
            history._state(key, at, bot, "closed")
        memory = dict(state.memory)
        for remember in plan.of(Remember):
            memory[remember.key] = remember.value
        review_url = None
        for review in plan.of(OpenReview)[:1]:
            if not memory.get("review"):
                iid = 1000 + len(history.issues)  # far from the incidents' iids the scripts choose
                history.open((key[0], iid), at, bot, list(review.labels), title=review.title)
                review_url = history.issues[(key[0], iid)]["web_url"]
                memory["review"] = {"iid": iid, "url": review_url}
        memory = with_delivery(memory, event.delivery_id)
        body = "\n\n".join(p.preview for p in plan.of(PostNote)) or "_incident-bot is tracking this incident._"
        if plan.actions:
            history._note(key, at, bot, write_memory(body, memory))
        return event, state, plan, review_url
