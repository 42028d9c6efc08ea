"""export_schedules.recipients, page, report: a schedule that also mails a report

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 22:00:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('export_schedules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recipients', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('page', sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column('report', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('export_schedules', schema=None) as batch_op:
        batch_op.drop_column('report')
        batch_op.drop_column('page')
        batch_op.drop_column('recipients')
