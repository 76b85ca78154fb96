"""Every Redis key the bot writes, and its RQ job ids, under the deployment's namespace.

Two deployments may share one Redis (a staging bot beside production, two organisations' bots). Each names
its keys under its namespace, the deliveries queue's name (`INCIDENT_BOT_QUEUE`, default `incident-bot`),
and its job ids too: RQ keeps every job at `rq:job:<id>` whatever its queue, so two deployments given the
same delivery (one webhook to both) would otherwise share one job. The default deployment's keys and job ids
are those earlier releases wrote, so an upgrade finds its dedupe markers, reminders and caches where it left
them.

One family stays shared on purpose: worker recovery's claims (`incident-bot:claims:<worker>`, `...:alive:`,
`...:claimers`, in worker/recovery.py). Worker names are unique per host and process, and a dead worker's
claims go back to each job's own origin queue, so any live worker of any deployment returns them correctly.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

DEFAULT_NAMESPACE = "incident-bot"
NOTIFY_SUFFIX = "-notify"
_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")


def safe_job_id(raw: str) -> str:
    """RQ job ids allow letters, digits, `_` and `-`; anything else is hashed (readable where it can be)."""
    if _JOB_ID.fullmatch(raw):
        return raw
    readable = re.sub(r"[^A-Za-z0-9_-]", "_", raw)[:80]
    return f"{readable}-{hashlib.sha256(raw.encode('utf-8')).hexdigest()[:24]}"


@dataclass(frozen=True)
class Keys:
    """The names of one deployment's Redis keys and job ids."""

    namespace: str = DEFAULT_NAMESPACE

    @classmethod
    def of_queue(cls, queue_name: str) -> Keys:
        """The keys of the deployment that owns `queue_name` (its deliveries queue or its notify queue)."""
        return cls(queue_name.removesuffix(NOTIFY_SUFFIX) or DEFAULT_NAMESPACE)

    def _key(self, *parts: object) -> str:
        return ":".join((self.namespace, *(str(p) for p in parts)))

    def job_id(self, raw: str) -> str:
        """A job id of this deployment: as given for the default one, else prefixed with the namespace."""
        if self.namespace == DEFAULT_NAMESPACE:
            return raw
        return safe_job_id(f"{self.namespace}-{raw}")

    # The edge: dedupe and per-issue order (queue.py), and the bot's own events.
    def seen(self, delivery_id: str) -> str:
        return self._key("seen", delivery_id)

    def last(self, issue_key: str) -> str:
        return self._key("last", issue_key)

    @property
    def bot_username(self) -> str:
        return self._key("bot-username")

    @property
    def bot_user_checked(self) -> str:
        return self._key("bot-user-checked")

    # The worker's caches and state.
    def memory_note(self, project_id: int, iid: int) -> str:
        return self._key("memory-note", project_id, iid)

    def user_id(self, username: str) -> str:
        return self._key("user-id", username)

    def access(self, project_id: int, user_id: int) -> str:
        return self._key("access", project_id, user_id)

    def reminder(self, project_id: int, iid: int) -> str:
        return self._key("reminder", project_id, iid)

    def notified(self, channel_name: str, dedupe_key: str) -> str:
        return self._key("notified", channel_name, dedupe_key)

    def scheduled_once(self, job_id: str) -> str:
        """Kept after a scheduled job's result expires, so a redelivery never schedules it again."""
        return self._key(job_id)

    # Paging: an acknowledgement link used once (service/paging/web.py).
    def ack_used(self, nonce: str) -> str:
        return self._key("paging", "ack-used", nonce)

    # The digest.
    @property
    def digest_running(self) -> str:
        return self._key("digest", "running")

    def digest_sent(self, week: str, channel_name: str) -> str:
        return self._key("digest", "sent", week, channel_name)

    def digest_issue(self, project: str, week: str) -> str:
        return self._key("digest", "issue", project, week)

    # Operations (ops/).
    @property
    def webhook_check_ran(self) -> str:
        return self._key("ops", "webhook-check", "ran")

    def reconcile_last(self, kind: str, id: object) -> str:
        return self._key("ops", "reconcile", "last", kind, id)

    @property
    def reconcile_lock(self) -> str:
        return self._key("ops", "reconcile", "lock")

    @property
    def reconcile_ran(self) -> str:
        return self._key("ops", "reconcile", "ran")

    def hook_state(self, kind: str, id: object) -> str:
        return self._key("ops", "hook-state", kind, id)

    @property
    def hook_state_pattern(self) -> str:
        return self._key("ops", "hook-state", "*")

    # What one person may make the bot do (worker/limits.py).
    def drills_taken(self, project_id: int, actor: str) -> str:
        return self._key("limits", "drills", project_id, actor)

    def refusal_answered(self, project_id: int, actor: str) -> str:
        return self._key("limits", "refused", project_id, actor)

    def refusals_unanswered(self, project_id: int, actor: str) -> str:
        return self._key("limits", "unanswered", project_id, actor)

    # Alerts (service/alerts/grouping.py): each group's record (its incident), new groups per minute, the storm.
    def alert_group(self, group_id: str) -> str:
        return self._key("alerts", "group", group_id)

    def alert_silences(self, group_id: str) -> str:
        """The ids of the Alertmanager silences the bot made for the group's incident (a set)."""
        return self._key("alerts", "silences", group_id)

    @property
    def alert_new_groups(self) -> str:
        """A sorted set: each new alert group of the last minute, scored by when it was first seen."""
        return self._key("alerts", "new-groups")

    @property
    def alert_storm(self) -> str:
        return self._key("alerts", "storm")

    def alert_confidential_storm(self, project: str) -> str:
        """The storm record of a confidential route's groups in `project` (apart from the open storm's)."""
        return self._key("alerts", "storm", "confidential", project)

    @property
    def alert_storm_lock(self) -> str:
        return self._key("alerts", "storm", "lock")

    @property
    def alert_last_received(self) -> str:
        return self._key("alerts", "last-received")

    # The index: issues whose index write failed, waiting for a catch-up (store/pending.py).
    @property
    def index_pending(self) -> str:
        return self._key("index", "pending")

    # The index's figures on /metrics (reports/gauges.py).
    def index_metrics(self, part: str) -> str:
        return self._key("metrics", self.namespace, "index", part)

    # Follow-ups (worker/corrective.py, worker/overdue.py).
    def follow_up_list(self, project_id: int, iid: int) -> str:
        """The id of the bot's "Follow-ups" note on an incident or review (else found by its marker)."""
        return self._key("follow-ups", "list", project_id, iid)

    def follow_up_opened(self, project_id: int, note_id: int) -> str:
        """The follow-up issue (`project_id:iid`) a `follow-up` comment opened: a retry links it, opens none."""
        return self._key("follow-ups", "opened", project_id, note_id)

    def follow_up_reminded(self, project_id: int, iid: int, reminder: str) -> str:
        """Set once a follow-up's reminder (`overdue-2`, `unowned-1`) is posted, whichever worker ran the pass."""
        return self._key("follow-ups", "reminded", project_id, iid, reminder)

    @property
    def follow_ups_check_ran(self) -> str:
        return self._key("follow-ups", "check", "ran")
