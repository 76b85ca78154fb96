"""Review issues linked to an incident by hand, so their "Follow-ups" checklist is kept too (issue 20).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create review_links (an incident's reviews the bot learnt of by their links)."""
    op.create_table(
        "review_links",
        sa.Column("incident_project_id", sa.BigInteger, primary_key=True),
        sa.Column("incident_iid", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.BigInteger, primary_key=True),
        sa.Column("iid", sa.Integer, primary_key=True),
        sa.Column("linked_at", Time, nullable=False),
    )


def downgrade() -> None:
    """Drop review_links."""
    op.drop_table("review_links")
