"""Index incidents by resolved_at: with (state, resolved_at) the board's query searches two indexes, scans none.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ix_incidents_resolved_at."""
    op.create_index("ix_incidents_resolved_at", "incidents", ["resolved_at"])


def downgrade() -> None:
    """Drop ix_incidents_resolved_at."""
    op.drop_index("ix_incidents_resolved_at", "incidents")
