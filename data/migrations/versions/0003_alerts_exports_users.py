"""alerts, silences, export schedules and users

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 16:13:50.171356
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('components', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ttl_seconds', sa.Float(), nullable=True))
    op.create_table('alert_rules',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('origin', sa.String(length=20), nullable=False),
    sa.Column('spec', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('export_schedules',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('query', sa.JSON(), nullable=False),
    sa.Column('cron', sa.String(length=100), nullable=True),
    sa.Column('interval_seconds', sa.Integer(), nullable=True),
    sa.Column('keep', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('last_run_at', sa.BigInteger(), nullable=True),
    sa.Column('next_run_at', sa.BigInteger(), nullable=True),
    sa.Column('last_file', sa.String(length=500), nullable=True),
    sa.Column('last_rows', sa.BigInteger(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name'),
    sa.UniqueConstraint('slug')
    )
    op.create_table('silences',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('matchers', sa.JSON(), nullable=False),
    sa.Column('starts_at', sa.BigInteger(), nullable=False),
    sa.Column('ends_at', sa.BigInteger(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('silences', schema=None) as batch_op:
        batch_op.create_index('ix_silences_ends', ['ends_at'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('password_hash', sa.String(length=300), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    op.create_table('alerts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('labels', sa.JSON(), nullable=True),
    sa.Column('severity', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('started_at', sa.BigInteger(), nullable=False),
    sa.Column('fired_at', sa.BigInteger(), nullable=True),
    sa.Column('resolved_at', sa.BigInteger(), nullable=True),
    sa.Column('last_match_at', sa.BigInteger(), nullable=True),
    sa.Column('last_eval_at', sa.BigInteger(), nullable=True),
    sa.Column('last_notified_at', sa.BigInteger(), nullable=True),
    sa.Column('notifications', sa.Integer(), nullable=False),
    sa.Column('acknowledged_at', sa.BigInteger(), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['rule_id'], ['alert_rules.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index('ix_alerts_fingerprint', ['fingerprint', 'started_at'], unique=False)
        batch_op.create_index('ix_alerts_rule', ['rule_id', 'started_at'], unique=False)
        batch_op.create_index('ix_alerts_state', ['state'], unique=False)

    op.create_table('alert_notifications',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('alert_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ts', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('target', sa.String(length=500), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('alert_notifications', schema=None) as batch_op:
        batch_op.create_index('ix_alert_notifications_alert', ['alert_id'], unique=False)
        batch_op.create_index('ix_alert_notifications_ts', ['ts'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('alert_notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_notifications_ts')
        batch_op.drop_index('ix_alert_notifications_alert')

    op.drop_table('alert_notifications')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_state')
        batch_op.drop_index('ix_alerts_rule')
        batch_op.drop_index('ix_alerts_fingerprint')

    op.drop_table('alerts')
    op.drop_table('users')
    with op.batch_alter_table('silences', schema=None) as batch_op:
        batch_op.drop_index('ix_silences_ends')

    op.drop_table('silences')
    op.drop_table('export_schedules')
    op.drop_table('alert_rules')
    with op.batch_alter_table('components', schema=None) as batch_op:
        batch_op.drop_column('ttl_seconds')
