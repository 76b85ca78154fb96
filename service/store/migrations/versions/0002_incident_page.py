"""The incident page's facts: notifications sent (each attempt), the next reminder due; the board's index.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create notifications and reminders; index incidents by (state, resolved_at)."""
    op.create_index("ix_incidents_state_resolved_at", "incidents", ["state", "resolved_at"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project", sa.String(255), nullable=False),
        sa.Column("iid", sa.Integer, nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("at", Time, nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("reason", sa.String(1024), nullable=False, server_default=""),
        sa.Column("attempt", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_index("ix_notifications_project_iid", "notifications", ["project", "iid"])
    op.create_table(
        "reminders",
        sa.Column("project_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("iid", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("due_at", Time, nullable=False),
        sa.Column("roles", sa.JSON, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    """Drop what upgrade created."""
    op.drop_table("reminders")
    op.drop_index("ix_notifications_project_iid", "notifications")
    op.drop_table("notifications")
    op.drop_index("ix_incidents_state_resolved_at", "incidents")
