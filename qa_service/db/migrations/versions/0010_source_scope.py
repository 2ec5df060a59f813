"""sources.scope and sources.scope_override: where a source applies (jurisdiction, office, issue date) as
detected or given, and an editor's correction that the next ingestion applies (issue 22)

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sources') as batch:
        batch.add_column(sa.Column('scope', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('scope_override', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sources') as batch:
        batch.drop_column('scope_override')
        batch.drop_column('scope')
