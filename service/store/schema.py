"""The index's tables (SQLAlchemy Core); the migrations in `migrations/versions/` create exactly these.

A test compares this metadata with the migrated database, so a column added here
without a migration (or the reverse) fails the suite.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# Aware timestamps in PostgreSQL; SQLite stores the UTC wall time (the store writes UTC only).
Time = sa.DateTime(timezone=True)

incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.BigInteger, nullable=False),
    sa.Column("project_path", sa.String(255), nullable=False, server_default=""),
    sa.Column("iid", sa.Integer, nullable=False),
    sa.Column("title", sa.Text, nullable=False, server_default=""),
    sa.Column("description", sa.Text, nullable=False, server_default=""),  # full-text search (board issue)
    sa.Column("url", sa.Text, nullable=False, server_default=""),
    sa.Column("confidential", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("drill", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("issue_type", sa.String(32), nullable=False, server_default="issue"),
    sa.Column("category", sa.String(64)),
    sa.Column("area", sa.String(64)),
    sa.Column("severity", sa.Integer),  # now
    sa.Column("highest_severity", sa.Integer),  # the most severe level reached (1 is highest)
    sa.Column("phase", sa.String(64)),
    sa.Column("state", sa.String(16), nullable=False, server_default="opened"),
    sa.Column("author", sa.String(255)),
    sa.Column("author_id", sa.BigInteger),
    sa.Column("roles", sa.JSON, nullable=False),  # {role: username} now
    sa.Column("created_at", Time),  # the issue's
    sa.Column("started_at", Time),
    sa.Column("acknowledged_at", Time),
    sa.Column("mitigated_at", Time),
    sa.Column("resolved_at", Time),
    sa.Column("review_url", sa.Text),
    sa.Column("review_state", sa.String(16)),
    sa.Column("last_status_update_at", Time),
    sa.Column("updated_at", Time, nullable=False),  # when the index last learned something about it
    sa.UniqueConstraint("project_id", "iid", name="uq_incidents_project_iid"),
)
sa.Index("ix_incidents_started_at", incidents.c.started_at)
sa.Index("ix_incidents_project_path", incidents.c.project_path)

timeline_events = sa.Table(
    "timeline_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    sa.Column("at", Time, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("name", sa.String(64), nullable=False, server_default=""),
    sa.Column("value_from", sa.String(255), nullable=False, server_default=""),
    sa.Column("value_to", sa.String(1024), nullable=False, server_default=""),
    sa.Column("actor", sa.String(255), nullable=False, server_default=""),
    sa.Column("actor_id", sa.BigInteger),
    sa.Column("by_bot", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("source", sa.String(16), nullable=False),  # delivery | reindex
    # The natural key: replayed deliveries and repeated reindexes add nothing.
    sa.UniqueConstraint(
        "incident_id", "at", "kind", "name", "value_from", "value_to", "actor", name="uq_timeline_events_natural"
    ),
)
# The board's two lists: active (state, resolved_at IS NULL) and resolved since a day (resolved_at >=): index
# searches joined by OR instead of a scan of every incident.
sa.Index("ix_incidents_state_resolved_at", incidents.c.state, incidents.c.resolved_at)
sa.Index("ix_incidents_resolved_at", incidents.c.resolved_at)

# Each attempt to send a notification (the notify job writes one row per try): the incident page lists them.
notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project", sa.String(255), nullable=False),  # the message's project: its path (its id if unknown)
    sa.Column("iid", sa.Integer, nullable=False),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("at", Time, nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("reason", sa.String(1024), nullable=False, server_default=""),
    sa.Column("attempt", sa.Integer, nullable=False, server_default="1"),
)
sa.Index("ix_notifications_project_iid", notifications.c.project, notifications.c.iid)

# The next status-update reminder of an incident's current series (none: no row); the worker keeps it.
reminders = sa.Table(
    "reminders",
    metadata,
    sa.Column("project_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("iid", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("due_at", Time, nullable=False),
    sa.Column("roles", sa.JSON, nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
)

# Checklist progress per phase, as last read from the bot's checklist note of that phase.
checklists = sa.Table(
    "checklists",
    metadata,
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("phase", sa.String(64), primary_key=True),
    sa.Column("ticked", sa.Integer, nullable=False),
    sa.Column("total", sa.Integer, nullable=False),
    sa.Column("read_at", Time, nullable=False),
)

# Who practised which role in which drill (written when a drill closes): `report --training` and the staffing note.
# Not tied to the incidents table: a person's practice outlives the drill issue (deleted, pruned by reindex).
training_records = sa.Table(
    "training_records",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.BigInteger, nullable=False),
    sa.Column("project_path", sa.String(255), nullable=False, server_default=""),
    sa.Column("iid", sa.Integer, nullable=False),
    sa.Column("scenario", sa.String(64), nullable=False, server_default=""),
    sa.Column("username", sa.String(255), nullable=False),
    sa.Column("role", sa.String(64), nullable=False),
    sa.Column("started_at", Time),
    sa.Column("closed_at", Time, nullable=False),
    sa.Column("recorded_at", Time, nullable=False),
    sa.UniqueConstraint("project_id", "iid", "username", "role", name="uq_training_records_drill_person_role"),
)
# The staffing note asks "when did this person last practise this role": one index search.
sa.Index("ix_training_records_username_role", training_records.c.username, training_records.c.role)

# Changes that may cause incidents (issue 19), from GitLab's deployment and feature-flag hooks: the suspects of an
# incident and `report --changes` read them. A deployment's row is its latest status (one per deployment).
deployments = sa.Table(
    "deployments",
    metadata,
    sa.Column("project_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("deployment_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("project_path", sa.String(255), nullable=False, server_default=""),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("environment", sa.String(255), nullable=False),
    sa.Column("tier", sa.String(32), nullable=False, server_default=""),
    sa.Column("deployable_url", sa.String(2048), nullable=False, server_default=""),
    sa.Column("sha", sa.String(32), nullable=False, server_default=""),
    sa.Column("commit_title", sa.String(1024), nullable=False, server_default=""),
    sa.Column("username", sa.String(255), nullable=False, server_default=""),
    sa.Column("status_changed_at", Time, nullable=False),
    sa.Column("recorded_at", Time, nullable=False),
)
# The suspects' query: a window of time before an incident's start.
sa.Index("ix_deployments_status_changed_at", deployments.c.status_changed_at)

# Each switch of a feature flag; a replayed delivery (the same switch at the same time) adds nothing.
feature_flag_changes = sa.Table(
    "feature_flag_changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.BigInteger, nullable=False),
    sa.Column("project_path", sa.String(255), nullable=False, server_default=""),
    sa.Column("flag_id", sa.BigInteger),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("username", sa.String(255), nullable=False, server_default=""),
    sa.Column("changed_at", Time, nullable=False),
    sa.Column("recorded_at", Time, nullable=False),
    sa.UniqueConstraint("project_id", "name", "active", "changed_at", name="uq_feature_flag_changes_switch"),
)
sa.Index("ix_feature_flag_changes_changed_at", feature_flag_changes.c.changed_at)

# The confirmed cause of an incident (at most one; `@incident-bot cause none` removes it): a deployment, a merge
# request or a feature flag. `report --changes` counts the deployments that caused incidents from it.
incident_causes = sa.Table(
    "incident_causes",
    metadata,
    sa.Column("project_id", sa.BigInteger, primary_key=True, autoincrement=False),  # the incident's
    sa.Column("iid", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(16), nullable=False),  # deployment | merge_request | feature_flag
    sa.Column("cause_project_id", sa.BigInteger, nullable=False),
    sa.Column("deployment_id", sa.BigInteger),
    sa.Column("merge_request_iid", sa.Integer),
    sa.Column("flag_name", sa.String(255)),
    sa.Column("recorded_by", sa.String(255), nullable=False, server_default=""),
    sa.Column("recorded_at", Time, nullable=False),
)
# Follow-ups (corrective actions) of incidents, as last read from their GitLab issues (issue 20). An issue follows up
# one incident. Not tied to the incidents table: a follow-up outlives a reindex that prunes its incident.
follow_ups = sa.Table(
    "follow_ups",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("incident_project_id", sa.BigInteger, nullable=False),
    sa.Column("incident_iid", sa.Integer, nullable=False),
    sa.Column("project_id", sa.BigInteger, nullable=False),
    sa.Column("project_path", sa.String(255), nullable=False, server_default=""),
    sa.Column("iid", sa.Integer, nullable=False),
    sa.Column("title", sa.Text, nullable=False, server_default=""),
    sa.Column("url", sa.Text, nullable=False, server_default=""),
    sa.Column("confidential", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("owner", sa.String(255)),  # the first assignee; none: no owner yet
    sa.Column("due_on", sa.Date),
    sa.Column("state", sa.String(16), nullable=False, server_default="opened"),
    sa.Column("opened_at", Time, nullable=False),
    sa.Column("closed_at", Time),
    sa.Column("reminded", sa.Integer, nullable=False, server_default="0"),  # overdue reminders posted so far
    sa.Column("updated_at", Time, nullable=False),
    sa.UniqueConstraint("project_id", "iid", name="uq_follow_ups_project_iid"),
)
sa.Index("ix_follow_ups_incident", follow_ups.c.incident_project_id, follow_ups.c.incident_iid)
sa.Index("ix_follow_ups_state_due_on", follow_ups.c.state, follow_ups.c.due_on)

# An incident's review issues the bot learnt of by their links (`store.reviews`; a review opened by hand and linked):
# the "Follow-ups" checklist is kept on them as on the review the bot opened (`incidents.review_url`).
review_links = sa.Table(
    "review_links",
    metadata,
    sa.Column("incident_project_id", sa.BigInteger, primary_key=True),
    sa.Column("incident_iid", sa.Integer, primary_key=True),
    sa.Column("project_id", sa.BigInteger, primary_key=True),
    sa.Column("iid", sa.Integer, primary_key=True),
    sa.Column("linked_at", Time, nullable=False),  # when the bot learnt of it
)
# A deployment's merge requests (GET /projects/:id/deployments/:deployment_id/merge_requests), read once per deployment
# when a suspect list first names it (issue 19); `merge_request_reads` says it was read, so none found is kept too.
# `changed_paths`: the files the merge request changes, one a line (NULL: not read yet).
deployment_merge_requests = sa.Table(
    "deployment_merge_requests",
    metadata,
    sa.Column("project_id", sa.BigInteger, primary_key=True, autoincrement=False),  # the deployment's
    sa.Column("deployment_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("merge_request_project_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("merge_request_iid", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("reference", sa.String(255), nullable=False, server_default=""),
    sa.Column("title", sa.String(255), nullable=False, server_default=""),
    sa.Column("author", sa.String(255), nullable=False, server_default=""),
    sa.Column("merged_at", Time),
    sa.Column("web_url", sa.String(2048), nullable=False, server_default=""),
    sa.Column("changed_paths", sa.Text),
)
# `report --changes`: the deployments that carried a merge request named as a cause.
sa.Index(
    "ix_deployment_merge_requests_merge_request",
    deployment_merge_requests.c.merge_request_project_id,
    deployment_merge_requests.c.merge_request_iid,
)
merge_request_reads = sa.Table(
    "merge_request_reads",
    metadata,
    sa.Column("project_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("deployment_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("read_at", Time, nullable=False),
)
