"""job queue — schema changes for issue 14 item 7: upload jobs are queued in ingest_jobs and run by a
worker process (lease with heartbeat, run-time deadline, cancel request)

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ingest_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('publish', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('queued_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('worker', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('deadline_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('cancel_requested_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('cancel_requested_by', sa.String(length=100), nullable=True))
        batch_op.create_index('ix_ingest_jobs_state_queued', ['state', 'queued_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ingest_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_ingest_jobs_state_queued')
        for column in ('cancel_requested_by', 'cancel_requested_at', 'deadline_at', 'lease_until',
                       'heartbeat_at', 'worker', 'queued_at', 'publish'):
            batch_op.drop_column(column)
