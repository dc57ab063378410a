"""mediators: wrong dashboard passwords counted per account, and the lock they set

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 12:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mediators") as batch:
        batch.add_column(
            sa.Column("login_failures", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("login_locked_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mediators") as batch:
        batch.drop_column("login_locked_until")
        batch.drop_column("login_failures")
