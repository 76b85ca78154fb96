"""Follow-ups (corrective actions) of incidents, tracked from the review to closure (issue 20).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create follow_ups and its two indexes (by incident; open ones by due date)."""
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("incident_project_id", sa.BigInteger, nullable=False),
        sa.Column("incident_iid", sa.Integer, nullable=False),
        sa.Column("project_id", sa.BigInteger, nullable=False),
        sa.Column("project_path", sa.String(255), nullable=False, server_default=""),
        sa.Column("iid", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False, server_default=""),
        sa.Column("url", sa.Text, nullable=False, server_default=""),
        sa.Column("confidential", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("owner", sa.String(255)),
        sa.Column("due_on", sa.Date),
        sa.Column("state", sa.String(16), nullable=False, server_default="opened"),
        sa.Column("opened_at", Time, nullable=False),
        sa.Column("closed_at", Time),
        sa.Column("reminded", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", Time, nullable=False),
        sa.UniqueConstraint("project_id", "iid", name="uq_follow_ups_project_iid"),
    )
    op.create_index("ix_follow_ups_incident", "follow_ups", ["incident_project_id", "incident_iid"])
    op.create_index("ix_follow_ups_state_due_on", "follow_ups", ["state", "due_on"])


def downgrade() -> None:
    """Drop follow_ups."""
    op.drop_index("ix_follow_ups_state_due_on", "follow_ups")
    op.drop_index("ix_follow_ups_incident", "follow_ups")
    op.drop_table("follow_ups")
