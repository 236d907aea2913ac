"""Supervisor analytics: raw Rasa events, derived conversations/messages, customer segments.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('analytics_events',
    sa.Column('event_key', sa.String(length=64), nullable=False),
    sa.Column('sender_id', sa.String(length=255), nullable=False),
    sa.Column('event_type', sa.String(length=40), nullable=False),
    sa.Column('timestamp', sa.Float(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('event_key')
    )
    with op.batch_alter_table('analytics_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analytics_events_sender_id'), ['sender_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_analytics_events_timestamp'), ['timestamp'], unique=False)

    op.create_table('analytics_cursors',
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('source')
    )

    op.create_table('analytics_conversations',
    sa.Column('sender_id', sa.String(length=255), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=40), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=False),
    sa.Column('user_messages', sa.Integer(), nullable=False),
    sa.Column('bot_messages', sa.Integer(), nullable=False),
    sa.Column('agent_messages', sa.Integer(), nullable=False),
    sa.Column('escalated', sa.Boolean(), nullable=False),
    sa.Column('escalation_reason', sa.String(length=40), nullable=True),
    sa.Column('escalated_at', sa.DateTime(), nullable=True),
    sa.Column('first_agent_response_at', sa.DateTime(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('agent_name', sa.String(length=120), nullable=True),
    sa.Column('csat', sa.Integer(), nullable=True),
    sa.Column('opening_sentiment', sa.Float(), nullable=True),
    sa.Column('closing_sentiment', sa.Float(), nullable=True),
    sa.Column('intents', sa.JSON(), nullable=False),
    sa.Column('products', sa.JSON(), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('first_text', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('sender_id')
    )
    with op.batch_alter_table('analytics_conversations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analytics_conversations_channel'), ['channel'], unique=False)
        batch_op.create_index(batch_op.f('ix_analytics_conversations_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_analytics_conversations_started_at'), ['started_at'], unique=False)

    op.create_table('analytics_messages',
    sa.Column('event_key', sa.String(length=64), nullable=False),
    sa.Column('sender_id', sa.String(length=255), nullable=False),
    sa.Column('turn', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('intent', sa.String(length=100), nullable=True),
    sa.Column('intent_confidence', sa.Float(), nullable=True),
    sa.Column('best_guess', sa.String(length=100), nullable=True),
    sa.Column('best_guess_confidence', sa.Float(), nullable=True),
    sa.Column('sentiment_label', sa.String(length=10), nullable=True),
    sa.Column('sentiment_score', sa.Float(), nullable=True),
    sa.Column('sentiment_confidence', sa.Float(), nullable=True),
    sa.Column('demands', sa.JSON(), nullable=False),
    sa.Column('products', sa.JSON(), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('faq_outcome', sa.String(length=12), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('failed_lookup', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('event_key')
    )
    with op.batch_alter_table('analytics_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analytics_messages_sender_id'), ['sender_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_analytics_messages_sent_at'), ['sent_at'], unique=False)

    op.create_table('analytics_segments',
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('segment', sa.Integer(), nullable=False),
    sa.Column('features', sa.JSON(), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('customer_id')
    )
    with op.batch_alter_table('analytics_segments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analytics_segments_segment'), ['segment'], unique=False)

    op.create_table('analytics_segment_info',
    sa.Column('segment', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('features', sa.JSON(), nullable=False),
    sa.Column('k', sa.Integer(), nullable=False),
    sa.Column('silhouette', sa.Float(), nullable=True),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('segment')
    )


def downgrade() -> None:
    op.drop_table('analytics_segment_info')
    with op.batch_alter_table('analytics_segments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analytics_segments_segment'))
    op.drop_table('analytics_segments')
    with op.batch_alter_table('analytics_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analytics_messages_sent_at'))
        batch_op.drop_index(batch_op.f('ix_analytics_messages_sender_id'))
    op.drop_table('analytics_messages')
    with op.batch_alter_table('analytics_conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analytics_conversations_started_at'))
        batch_op.drop_index(batch_op.f('ix_analytics_conversations_customer_id'))
        batch_op.drop_index(batch_op.f('ix_analytics_conversations_channel'))
    op.drop_table('analytics_conversations')
    op.drop_table('analytics_cursors')
    with op.batch_alter_table('analytics_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analytics_events_timestamp'))
        batch_op.drop_index(batch_op.f('ix_analytics_events_sender_id'))
    op.drop_table('analytics_events')
