"""web input — schema changes for issue 14 items 3, 9, 11: the tenant registry

Revision ID: 0007
Revises: 0006

Creates ``tenants`` and registers every tenant that already has a knowledge-base version, so an
upgraded deployment keeps answering for the departments it served before.
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('tenants',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name_zh', sa.String(length=200), nullable=True),
    sa.Column('name_en', sa.String(length=200), nullable=True),
    sa.Column('phone', sa.String(length=64), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('hours', sa.Text(), nullable=True),
    sa.Column('hotline', sa.String(length=32), nullable=False, server_default='12345'),
    sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true()),
    sa.Column('created_by', sa.String(length=100), nullable=False, server_default='migration'),
    sa.Column('created_at', sa.DateTime(), nullable=False, server_default=sa.func.current_timestamp()),
    sa.PrimaryKeyConstraint('id')
    )
    op.execute("INSERT INTO tenants (id) SELECT DISTINCT tenant FROM kb_versions")


def downgrade() -> None:
    op.drop_table('tenants')
