"""calendar_feed_tokens: feed-only calendar links, apart from API tokens

Revision ID: 3f6c1b8d2e57
Revises: 7d1e2a9b4c30
Create Date: 2026-11-24 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '3f6c1b8d2e57'
down_revision = '7d1e2a9b4c30'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('calendar_feed_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_calendar_feed_tokens_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_feed_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_calendar_feed_tokens_token_hash'))
    )
    with op.batch_alter_table('calendar_feed_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_feed_tokens_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('calendar_feed_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_feed_tokens_user_id'))

    op.drop_table('calendar_feed_tokens')
