"""conversation_turns and rate_counts: conversation history and citizen rate limits shared by several API workers
(issue 19; Redis holds both instead when server.redis_url is set)

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'conversation_turns',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('tenant', sa.String(64), nullable=False),
        sa.Column('conversation_id', sa.String(64), nullable=False),
        sa.Column('question', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
    )
    op.create_index('ix_conversation_turns_conv', 'conversation_turns', ['tenant', 'conversation_id', 'id'])
    op.create_index('ix_conversation_turns_created_at', 'conversation_turns', ['created_at'])
    op.create_table(
        'rate_counts',
        sa.Column('key', sa.String(200), nullable=False),
        sa.Column('window', sa.BigInteger(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('key', 'window'),
    )


def downgrade() -> None:
    op.drop_table('rate_counts')
    op.drop_index('ix_conversation_turns_created_at', table_name='conversation_turns')
    op.drop_index('ix_conversation_turns_conv', table_name='conversation_turns')
    op.drop_table('conversation_turns')
