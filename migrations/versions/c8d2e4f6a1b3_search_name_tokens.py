"""people search: name-word tokens (search_name_tokens), so a one-word query reaches names and aliases

Backfilled here (search.index.backfill: every live nominal's names decrypted once, with the
instance's keys); any nominal still without the marker row is indexed by the first search
whose scope holds it (search.index.index_missing).

Revision ID: c8d2e4f6a1b3
Revises: 7e4a2c9d5b13
Create Date: 2026-12-07 14:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'c8d2e4f6a1b3'
down_revision = '7e4a2c9d5b13'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('search_name_tokens',
    sa.Column('nominal_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('token', sa.Integer(), autoincrement=False, nullable=False),
    sa.ForeignKeyConstraint(['nominal_id'], ['nominals.id'], name=op.f('fk_search_name_tokens_nominal_id_nominals'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('nominal_id', 'kind', 'token', name=op.f('pk_search_name_tokens'))
    )
    with op.batch_alter_table('search_name_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_search_name_tokens_kind_token', ['kind', 'token'], unique=False)
    from search.index import backfill

    backfill(op.get_bind())


def downgrade():
    with op.batch_alter_table('search_name_tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_search_name_tokens_kind_token')
    op.drop_table('search_name_tokens')
