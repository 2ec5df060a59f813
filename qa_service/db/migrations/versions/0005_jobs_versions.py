"""ingest_jobs.parent_version: the KB version a queued job builds on (chosen when it is queued)

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ingest_jobs') as batch:
        batch.add_column(sa.Column('parent_version', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('ingest_jobs') as batch:
        batch.drop_column('parent_version')
