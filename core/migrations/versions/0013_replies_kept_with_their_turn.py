"""A webhook's reply kept with the turn it recorded (turns.reply_key, turns.reply): one
row fewer per webhook than a webhook_replies row beside the turn

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 09:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("turns") as batch_op:
        batch_op.add_column(sa.Column("reply_key", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("reply", sa.Text(), nullable=True))
        batch_op.create_unique_constraint("uq_turns_reply_key", ["reply_key"])


def downgrade() -> None:
    with op.batch_alter_table("turns") as batch_op:
        batch_op.drop_constraint("uq_turns_reply_key", type_="unique")
        batch_op.drop_column("reply")
        batch_op.drop_column("reply_key")
