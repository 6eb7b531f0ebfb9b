"""bank statements

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

Imported bank statements and their lines; lines are append-only like the journal.
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

from ledger.guards import create_append_only, drop_append_only

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bank_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('file_name', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('format', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('profile', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('imported_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('statements', sa.Integer(), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.Column('new_lines', sa.Integer(), nullable=False),
    sa.Column('known_lines', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('bank_import', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_import_sha256'), ['sha256'], unique=False)

    op.create_table('bank_statement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('statement_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('bank_statement_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=True),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.Column('opening_date', sa.Date(), nullable=True),
    sa.Column('opening_minor', sa.BigInteger(), nullable=True),
    sa.Column('closing_date', sa.Date(), nullable=True),
    sa.Column('closing_minor', sa.BigInteger(), nullable=True),
    sa.Column('format', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.ForeignKeyConstraint(['import_id'], ['bank_import.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'statement_key')
    )
    op.create_table('statement_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('line_key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('match_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('booking_date', sa.Date(), nullable=False),
    sa.Column('value_date', sa.Date(), nullable=True),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('counterparty_name', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('counterparty_account', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('remittance', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('bank_transaction_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('bank_code', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('charges_minor', sa.BigInteger(), nullable=True),
    sa.Column('charges_currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True),
    sa.Column('instructed_minor', sa.BigInteger(), nullable=True),
    sa.Column('instructed_currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True),
    sa.Column('exchange_rate', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.Column('reversal', sa.Boolean(), nullable=False),
    sa.Column('source_file', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('source_line', sa.Integer(), nullable=True),
    sa.Column('source_location', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('raw', sqlmodel.sql.sqltypes.AutoString(length=20000), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.ForeignKeyConstraint(['import_id'], ['bank_import.id'], ),
    sa.ForeignKeyConstraint(['statement_id'], ['bank_statement.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'line_key')
    )
    with op.batch_alter_table('statement_line', schema=None) as batch_op:
        batch_op.create_index('ix_statement_line_account_date', ['account_id', 'booking_date'], unique=False)
    create_append_only(op, "statement_line")


def downgrade() -> None:
    drop_append_only(op, "statement_line")
    with op.batch_alter_table('statement_line', schema=None) as batch_op:
        batch_op.drop_index('ix_statement_line_account_date')

    op.drop_table('statement_line')
    op.drop_table('bank_statement')
    with op.batch_alter_table('bank_import', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_import_sha256'))

    op.drop_table('bank_import')
