"""audit chain — schema changes for issue 14 items 2, 14 (audit chain): rows name the HMAC key they are
signed with (NULL: an older, unkeyed sha256 row, verified as such and never re-signed), and no two signed
rows may share a predecessor (a partial unique index, so chains that already forked still migrate).

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_id', sa.String(length=16), nullable=True))
    op.create_index('ix_audit_events_keyed_prev_hash', 'audit_events', ['prev_hash'], unique=True,
                    sqlite_where=sa.text('key_id IS NOT NULL'), postgresql_where=sa.text('key_id IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_audit_events_keyed_prev_hash', table_name='audit_events')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('key_id')
