"""Analytics: the language of each conversation (en / zh), filterable.

Existing rows get "en"; ``python -m insight.analytics rebuild`` recomputes them from the stored
events (the language slot, else the shopper's texts).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('analytics_conversations', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('language', sa.String(length=8), nullable=False, server_default='en')
        )
        batch_op.create_index(batch_op.f('ix_analytics_conversations_language'), ['language'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('analytics_conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analytics_conversations_language'))
        batch_op.drop_column('language')
