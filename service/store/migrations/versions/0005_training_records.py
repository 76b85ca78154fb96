"""The training record: who practised which role in which drill (issue 12, drills).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create training_records and its (username, role) index."""
    op.create_table(
        "training_records",
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
    op.create_index("ix_training_records_username_role", "training_records", ["username", "role"])


def downgrade() -> None:
    """Drop training_records."""
    op.drop_index("ix_training_records_username_role", "training_records")
    op.drop_table("training_records")
