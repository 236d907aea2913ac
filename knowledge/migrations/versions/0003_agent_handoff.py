"""Live hand-over: agent accounts, escalation details, agent replies.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agent_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('password_hash', sa.String(length=100), nullable=False),
    sa.Column('role', sa.Enum('agent', 'supervisor', name='agent_role', native_enum=False, length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    with op.batch_alter_table('agent_users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_users_last_seen_at'), ['last_seen_at'], unique=False)

    op.create_table('escalation_details',
    sa.Column('escalation_id', sa.Integer(), nullable=False),
    sa.Column('sender_id', sa.String(length=255), nullable=False),
    sa.Column('trigger', sa.String(length=40), nullable=False),
    sa.Column('churn_risk', sa.Float(), nullable=False),
    sa.Column('customer_risk', sa.Float(), nullable=False),
    sa.Column('churn_reasons', sa.JSON(), nullable=False),
    sa.Column('claimed_by_id', sa.Integer(), nullable=True),
    sa.Column('offered_contact_at', sa.DateTime(), nullable=True),
    sa.Column('contact_method', sa.String(length=20), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['claimed_by_id'], ['agent_users.id'], ),
    sa.ForeignKeyConstraint(['escalation_id'], ['escalations.id'], ),
    sa.PrimaryKeyConstraint('escalation_id')
    )
    with op.batch_alter_table('escalation_details', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalation_details_sender_id'), ['sender_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_escalation_details_updated_at'), ['updated_at'], unique=False)

    op.create_table('agent_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('escalation_id', sa.Integer(), nullable=False),
    sa.Column('agent_user_id', sa.Integer(), nullable=True),
    sa.Column('agent_name', sa.String(length=120), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.Column('delivered', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['agent_user_id'], ['agent_users.id'], ),
    sa.ForeignKeyConstraint(['escalation_id'], ['escalations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('agent_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_messages_escalation_id'), ['escalation_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('agent_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agent_messages_escalation_id'))

    op.drop_table('agent_messages')
    with op.batch_alter_table('escalation_details', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_escalation_details_updated_at'))
        batch_op.drop_index(batch_op.f('ix_escalation_details_sender_id'))

    op.drop_table('escalation_details')
    with op.batch_alter_table('agent_users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agent_users_last_seen_at'))

    op.drop_table('agent_users')
