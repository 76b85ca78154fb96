"""The incident index: incidents and their timeline events.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create incidents and timeline_events (later features add tables in later revisions)."""
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.BigInteger, nullable=False),
        sa.Column("project_path", sa.String(255), nullable=False, server_default=""),
        sa.Column("iid", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False, server_default=""),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("url", sa.Text, nullable=False, server_default=""),
        sa.Column("confidential", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("drill", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("issue_type", sa.String(32), nullable=False, server_default="issue"),
        sa.Column("category", sa.String(64)),
        sa.Column("area", sa.String(64)),
        sa.Column("severity", sa.Integer),
        sa.Column("highest_severity", sa.Integer),
        sa.Column("phase", sa.String(64)),
        sa.Column("state", sa.String(16), nullable=False, server_default="opened"),
        sa.Column("author", sa.String(255)),
        sa.Column("author_id", sa.BigInteger),
        sa.Column("roles", sa.JSON, nullable=False),
        sa.Column("created_at", Time),
        sa.Column("started_at", Time),
        sa.Column("acknowledged_at", Time),
        sa.Column("mitigated_at", Time),
        sa.Column("resolved_at", Time),
        sa.Column("review_url", sa.Text),
        sa.Column("review_state", sa.String(16)),
        sa.Column("last_status_update_at", Time),
        sa.Column("updated_at", Time, nullable=False),
        sa.UniqueConstraint("project_id", "iid", name="uq_incidents_project_iid"),
    )
    op.create_index("ix_incidents_started_at", "incidents", ["started_at"])
    op.create_index("ix_incidents_project_path", "incidents", ["project_path"])
    op.create_table(
        "timeline_events",
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
        sa.Column("source", sa.String(16), nullable=False),
        sa.UniqueConstraint(
            "incident_id", "at", "kind", "name", "value_from", "value_to", "actor", name="uq_timeline_events_natural"
        ),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("timeline_events")
    op.drop_index("ix_incidents_project_path", "incidents")
    op.drop_index("ix_incidents_started_at", "incidents")
    op.drop_table("incidents")
