"""notification outbox: a stable Message-ID per e-mail, and the claimed / uncertain states

An e-mail is claimed under a lease, then its Message-ID is fixed and it is marked sending
before SMTP sees it; a sending row whose lease ran out becomes uncertain instead of being
sent again (issue 15: the crash-after-accept resend).

Revision ID: b3f1c7e2a9d4
Revises: 5d2f8a61c3e9
Create Date: 2026-12-07 14:50:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'b3f1c7e2a9d4'
down_revision = '5d2f8a61c3e9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notification_outbox', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=sa.String(length=8), type_=sa.String(length=16),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('message_id', sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_notification_outbox_message_id'), ['message_id'])


def downgrade():
    op.execute("UPDATE notification_outbox SET status = 'sending' WHERE status IN ('claimed', 'uncertain')")
    with op.batch_alter_table('notification_outbox', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_notification_outbox_message_id'), type_='unique')
        batch_op.drop_column('message_id')
        batch_op.alter_column('status', existing_type=sa.String(length=16), type_=sa.String(length=8),
                              existing_nullable=False)
