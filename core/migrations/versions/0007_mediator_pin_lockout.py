"""mediators: wrong PINs counted across calls, and the time the line is locked until

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 12:35:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mediators") as batch:
        batch.add_column(
            sa.Column("pin_failures", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("pin_locked_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mediators") as batch:
        batch.drop_column("pin_locked_until")
        batch.drop_column("pin_failures")
