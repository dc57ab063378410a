"""outbound calls: missed-call ring-backs and mediators' click-to-call

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 16:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbound_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("callback_id", sa.Integer(), nullable=True),
        sa.Column("mediator_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("call_sid", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["callback_id"], ["callback_requests.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["mediator_id"], ["mediators.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("call_sid"),
    )
    op.create_index("ix_outbound_calls_person_id", "outbound_calls", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_outbound_calls_person_id", table_name="outbound_calls")
    op.drop_table("outbound_calls")
