"""people.sandbox: the dashboard simulator's people; simulator_sessions: its state,
shared by every server process

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(
            sa.Column("sandbox", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "simulator_sessions",
        sa.Column(
            "mediator_id",
            sa.Integer(),
            sa.ForeignKey("mediators.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("call", sa.JSON(), nullable=True),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("simulator_sessions")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("sandbox")
