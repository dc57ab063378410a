"""outbound calls under way expire (a lease); status callbacks that came before their row

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Calls under way before this revision have no lease: they no longer count as under way.
    with op.batch_alter_table("outbound_calls") as batch:
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "early_statuses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("duration", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_early_statuses_sid", "early_statuses", ["sid"])


def downgrade() -> None:
    op.drop_index("ix_early_statuses_sid", table_name="early_statuses")
    op.drop_table("early_statuses")
    with op.batch_alter_table("outbound_calls") as batch:
        batch.drop_column("lease_until")
