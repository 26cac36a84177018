"""users.settings: a user's own page settings (the tracker columns chosen per panel)

Revision ID: c3d9e1f5a702
Revises: 6b8e0d4f2a17
Create Date: 2026-12-04 20:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = 'c3d9e1f5a702'
down_revision = '6b8e0d4f2a17'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("settings", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("settings")
