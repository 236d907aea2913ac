"""NLU inbox: supervisors' verdicts on shopper messages (intent, sentiment, demands), who and when.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nlu_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_key", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("predicted_intent", sa.String(length=100), nullable=True),
        sa.Column("intent", sa.String(length=100), nullable=False),
        sa.Column("sentiment", sa.String(length=10), nullable=True),
        sa.Column("demands", sa.JSON(), nullable=False),
        sa.Column("verdict", sa.String(length=10), nullable=False),
        sa.Column("agent_user_id", sa.Integer(), nullable=True),
        sa.Column("agent_name", sa.String(length=120), nullable=False),
        sa.Column("corrected_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agent_user_id"], ["agent_users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_key"),
    )
    op.create_index(op.f("ix_nlu_corrections_intent"), "nlu_corrections", ["intent"], unique=False)
    op.create_index(
        op.f("ix_nlu_corrections_corrected_at"), "nlu_corrections", ["corrected_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_nlu_corrections_corrected_at"), table_name="nlu_corrections")
    op.drop_index(op.f("ix_nlu_corrections_intent"), table_name="nlu_corrections")
    op.drop_table("nlu_corrections")
