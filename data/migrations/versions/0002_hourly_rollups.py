"""hourly rollups: the same aggregates per hour, filled from the per-minute ones

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 09:10:38.876161
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('rollup_hist_hourly',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('minute', sa.BigInteger(), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('entity', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=50), nullable=False),
    sa.Column('bucket', sa.Integer(), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('minute', 'source', 'type', 'entity', 'status', 'bucket', name='uq_rollup_hist_hourly_key')
    )
    op.create_table('rollups_hourly',
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
    sa.UniqueConstraint('minute', 'source', 'type', 'entity', 'status', name='uq_rollups_hourly_key')
    )
    key = "source, type, entity, status"
    op.execute(
        f"INSERT INTO rollups_hourly (minute, {key}, count, value_count, value_sum, value_min, value_max, "
        "dur_count, dur_sum, dur_min, dur_max) "
        f"SELECT minute - minute % 3600, {key}, SUM(count), SUM(value_count), SUM(value_sum), MIN(value_min), "
        "MAX(value_max), SUM(dur_count), SUM(dur_sum), MIN(dur_min), MAX(dur_max) "
        f"FROM rollups GROUP BY minute - minute % 3600, {key}"
    )
    op.execute(
        f"INSERT INTO rollup_hist_hourly (minute, {key}, bucket, count) "
        f"SELECT minute - minute % 3600, {key}, bucket, SUM(count) FROM rollup_hist GROUP BY minute - minute % 3600, {key}, bucket"
    )


def downgrade() -> None:
    
    op.drop_table('rollups_hourly')
    op.drop_table('rollup_hist_hourly')
    
