"""Deployments and feature-flag switches (an incident's suspects), and incidents' confirmed causes (issue 19).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create deployments and feature_flag_changes, each with its time index, and incident_causes."""
    op.create_table(
        "deployments",
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
    op.create_index("ix_deployments_status_changed_at", "deployments", ["status_changed_at"])
    op.create_table(
        "feature_flag_changes",
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
    op.create_index("ix_feature_flag_changes_changed_at", "feature_flag_changes", ["changed_at"])
    op.create_table(
        "incident_causes",
        sa.Column("project_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("iid", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("cause_project_id", sa.BigInteger, nullable=False),
        sa.Column("deployment_id", sa.BigInteger),
        sa.Column("merge_request_iid", sa.Integer),
        sa.Column("flag_name", sa.String(255)),
        sa.Column("recorded_by", sa.String(255), nullable=False, server_default=""),
        sa.Column("recorded_at", Time, nullable=False),
    )


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_table("incident_causes")
    op.drop_index("ix_feature_flag_changes_changed_at", "feature_flag_changes")
    op.drop_table("feature_flag_changes")
    op.drop_index("ix_deployments_status_changed_at", "deployments")
    op.drop_table("deployments")
