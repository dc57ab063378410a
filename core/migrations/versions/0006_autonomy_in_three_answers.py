"""people.autonomy: three answers (alone, helped, none) and the date it was given

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 11:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("link_use", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("autonomy_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE people SET link_use = CASE WHEN autonomy THEN 'alone' ELSE 'none' END, "
        "autonomy_at = created_at WHERE autonomy IS NOT NULL"
    )
    with op.batch_alter_table("people") as batch:
        batch.drop_column("autonomy")
        batch.alter_column("link_use", new_column_name="autonomy")


def downgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("link_bool", sa.Boolean(), nullable=True))
    op.execute("UPDATE people SET link_bool = (autonomy <> 'none') WHERE autonomy IS NOT NULL")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("autonomy_at")
        batch.drop_column("autonomy")
        batch.alter_column("link_bool", new_column_name="autonomy")
