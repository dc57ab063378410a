"""mediators: when they last logged out (every session opened before is refused)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 12:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mediators") as batch:
        batch.add_column(sa.Column("logged_out_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mediators") as batch:
        batch.drop_column("logged_out_at")
