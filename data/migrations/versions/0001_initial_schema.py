"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 07:41:50.366318
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('components',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=50), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('ts', sa.BigInteger(), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('entity', sa.String(length=200), nullable=True),
    sa.Column('user', sa.String(length=200), nullable=True),
    sa.Column('session_id', sa.String(length=100), nullable=True),
    sa.Column('execution_id', sa.String(length=100), nullable=True),
    sa.Column('status', sa.String(length=50), nullable=True),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('duration_ms', sa.Float(), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('attrs', sa.JSON(), nullable=True),
    sa.Column('uid', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_entity_ts', ['entity', 'ts'], unique=False, sqlite_where=sa.text('entity IS NOT NULL'), postgresql_where=sa.text('entity IS NOT NULL'))
        batch_op.create_index('ix_events_execution', ['execution_id'], unique=False, sqlite_where=sa.text('execution_id IS NOT NULL'), postgresql_where=sa.text('execution_id IS NOT NULL'))
        batch_op.create_index('ix_events_session_ts', ['session_id', 'ts'], unique=False, sqlite_where=sa.text('session_id IS NOT NULL'), postgresql_where=sa.text('session_id IS NOT NULL'))
        batch_op.create_index('ix_events_ts', ['ts'], unique=False)
        batch_op.create_index('ix_events_uid', ['uid'], unique=True, sqlite_where=sa.text('uid IS NOT NULL'), postgresql_where=sa.text('uid IS NOT NULL'))

    op.create_table('executions',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('script', sa.String(length=300), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('started_at', sa.BigInteger(), nullable=False),
    sa.Column('finished_at', sa.BigInteger(), nullable=True),
    sa.Column('duration_ms', sa.Float(), nullable=True),
    sa.Column('status', sa.String(length=50), nullable=False),
    sa.Column('exit_code', sa.Integer(), nullable=True),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('attrs', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.create_index('ix_executions_script_started', ['script', 'started_at'], unique=False)
        batch_op.create_index('ix_executions_started', ['started_at'], unique=False)

    op.create_table('rollup_hist',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('minute', sa.BigInteger(), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('entity', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=50), nullable=False),
    sa.Column('bucket', sa.Integer(), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('minute', 'source', 'type', 'entity', 'status', 'bucket', name='uq_rollup_hist_key')
    )
    op.create_table('rollups',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('minute', sa.BigInteger(), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('entity', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=50), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.Column('value_count', sa.BigInteger(), nullable=False),
    sa.Column('value_sum', sa.Float(), nullable=False),
    sa.Column('value_min', sa.Float(), nullable=True),
    sa.Column('value_max', sa.Float(), nullable=True),
    sa.Column('dur_count', sa.BigInteger(), nullable=False),
    sa.Column('dur_sum', sa.Float(), nullable=False),
    sa.Column('dur_min', sa.Float(), nullable=True),
    sa.Column('dur_max', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('minute', 'source', 'type', 'entity', 'status', name='uq_rollups_key')
    )
    op.create_table('sessions',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('user', sa.String(length=200), nullable=True),
    sa.Column('started_at', sa.BigInteger(), nullable=False),
    sa.Column('ended_at', sa.BigInteger(), nullable=True),
    sa.Column('attrs', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.create_index('ix_sessions_started', ['started_at'], unique=False)

    op.create_table('execution_metrics',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('execution_id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['execution_id'], ['executions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('execution_id', 'name', name='uq_execution_metrics_name')
    )
    with op.batch_alter_table('execution_metrics', schema=None) as batch_op:
        batch_op.create_index('ix_execution_metrics_name', ['name'], unique=False)

    


def downgrade() -> None:
    
    with op.batch_alter_table('execution_metrics', schema=None) as batch_op:
        batch_op.drop_index('ix_execution_metrics_name')

    op.drop_table('execution_metrics')
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_sessions_started')

    op.drop_table('sessions')
    op.drop_table('rollups')
    op.drop_table('rollup_hist')
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.drop_index('ix_executions_started')
        batch_op.drop_index('ix_executions_script_started')

    op.drop_table('executions')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_uid', sqlite_where=sa.text('uid IS NOT NULL'), postgresql_where=sa.text('uid IS NOT NULL'))
        batch_op.drop_index('ix_events_ts')
        batch_op.drop_index('ix_events_session_ts', sqlite_where=sa.text('session_id IS NOT NULL'), postgresql_where=sa.text('session_id IS NOT NULL'))
        batch_op.drop_index('ix_events_execution', sqlite_where=sa.text('execution_id IS NOT NULL'), postgresql_where=sa.text('execution_id IS NOT NULL'))
        batch_op.drop_index('ix_events_entity_ts', sqlite_where=sa.text('entity IS NOT NULL'), postgresql_where=sa.text('entity IS NOT NULL'))

    op.drop_table('events')
    op.drop_table('components')
    
