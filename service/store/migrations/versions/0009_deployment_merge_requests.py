"""A deployment's merge requests, read once from GitLab when a suspect list first names it (issue 19).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create deployment_merge_requests (and its index by merge request) and merge_request_reads."""
    op.create_table(
        "deployment_merge_requests",
        sa.Column("project_id", sa.BigInteger, primary_key=True, autoincrement=False),
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
    op.create_index(
        "ix_deployment_merge_requests_merge_request",
        "deployment_merge_requests",
        ["merge_request_project_id", "merge_request_iid"],
    )
    op.create_table(
        "merge_request_reads",
        sa.Column("project_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("deployment_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("read_at", Time, nullable=False),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("merge_request_reads")
    op.drop_index("ix_deployment_merge_requests_merge_request", "deployment_merge_requests")
    op.drop_table("deployment_merge_requests")
