"""curated feedback — issue 14 items 1, 4, 8: curated visibility and stored variant vectors; one feedback per
answer per client; one open review item per answer's feedback

Existing curated answers get ``visibility`` from their citations: "public" only when every citation says
public (a citation without the key counts as internal). Vectors stay empty and are embedded on first use.

Revision ID: 0003
Revises: 0002
"""
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def _visibility(citations: Any) -> str:
    if not isinstance(citations, list):
        return "internal"
    ok = all(isinstance(c, dict) and c.get("visibility") == "public" for c in citations)
    return "public" if ok else "internal"


def upgrade() -> None:
    with op.batch_alter_table('curated_answers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('visibility', sa.String(length=16), nullable=False,
                                      server_default='internal'))
        batch_op.add_column(sa.Column('vectors', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('vector_model', sa.String(length=200), nullable=True))
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_hash', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_feedback_trace_client', ['trace_id', 'client_hash'], unique=True)
    with op.batch_alter_table('review_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('feedback_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('dedup_key', sa.String(length=80), nullable=True))
        batch_op.create_unique_constraint('uq_review_items_dedup_key', ['dedup_key'])

    conn = op.get_bind()
    curated = sa.table('curated_answers', sa.column('id', sa.String), sa.column('citations', sa.JSON),
                       sa.column('visibility', sa.String))
    for row in conn.execute(sa.select(curated.c.id, curated.c.citations)).all():
        conn.execute(curated.update().where(curated.c.id == row.id)
                     .values(visibility=_visibility(row.citations)))


def downgrade() -> None:
    with op.batch_alter_table('review_items', schema=None) as batch_op:
        batch_op.drop_constraint('uq_review_items_dedup_key', type_='unique')
        batch_op.drop_column('dedup_key')
        batch_op.drop_column('feedback_count')
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index('ix_feedback_trace_client')
        batch_op.drop_column('client_hash')
    with op.batch_alter_table('curated_answers', schema=None) as batch_op:
        batch_op.drop_column('vector_model')
        batch_op.drop_column('vectors')
        batch_op.drop_column('visibility')
