"""An index on conversations.person_id: each text reads its person's open SMS exchange,
which scanned every conversation

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 04:30:00
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_conversations_person_id", "conversations", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_conversations_person_id", table_name="conversations")
