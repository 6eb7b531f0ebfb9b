"""reconciliation transfers eligibility

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

Stored reconciliation matches, reference rates, pledges, transfers, and the
eligibility facts, decisions and overrides (the last three append-only).
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

from ledger.guards import create_append_only, drop_append_only

APPEND_ONLY = ("org_fact", "eligibility_decision", "eligibility_override")


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reference_rate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rate_date', sa.Date(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('per_eur', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('imported_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('rate_date', 'currency')
    )
    with op.batch_alter_table('reference_rate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reference_rate_rate_date'), ['rate_date'], unique=False)

    op.create_table('eligibility_decision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('ruleset_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('ruleset_version', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('ruleset_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('detail', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('eligibility_decision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_eligibility_decision_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('org_fact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('fact', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('evidence', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('recorded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('org_fact', schema=None) as batch_op:
        batch_op.create_index('ix_org_fact_org_fact', ['organisation_id', 'fact', 'as_of'], unique=False)

    op.create_table('pledge',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('rate_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('frequency', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('members', sa.BigInteger(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('pledge', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pledge_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('eligibility_override',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=True),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('failed_rules', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['decision_id'], ['eligibility_decision.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('eligibility_override', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_eligibility_override_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('recon_match',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.Integer(), nullable=False),
    sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('score', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('undone_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('undone_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('recon_match', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recon_match_account_id'), ['account_id'], unique=False)

    op.create_table('recon_match_posting',
    sa.Column('match_id', sa.Integer(), nullable=False),
    sa.Column('posting_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['match_id'], ['recon_match.id'], ),
    sa.ForeignKeyConstraint(['posting_id'], ['posting.id'], ),
    sa.PrimaryKeyConstraint('match_id', 'posting_id')
    )
    with op.batch_alter_table('recon_match_posting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recon_match_posting_posting_id'), ['posting_id'], unique=False)

    op.create_table('recon_match_line',
    sa.Column('match_id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['line_id'], ['statement_line.id'], ),
    sa.ForeignKeyConstraint(['match_id'], ['recon_match.id'], ),
    sa.PrimaryKeyConstraint('match_id', 'line_id')
    )
    with op.batch_alter_table('recon_match_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recon_match_line_line_id'), ['line_id'], unique=False)

    op.create_table('transfer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('origin_org_id', sa.Integer(), nullable=False),
    sa.Column('destination_org_id', sa.Integer(), nullable=False),
    sa.Column('source_org_id', sa.Integer(), nullable=True),
    sa.Column('previous_id', sa.Integer(), nullable=True),
    sa.Column('charge_bearer', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('send_date', sa.Date(), nullable=False),
    sa.Column('sender_account_id', sa.Integer(), nullable=False),
    sa.Column('sent_minor', sa.BigInteger(), nullable=False),
    sa.Column('sent_currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('sender_fee_minor', sa.BigInteger(), nullable=False),
    sa.Column('sender_fee_currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('send_entry_id', sa.Integer(), nullable=False),
    sa.Column('send_line_id', sa.Integer(), nullable=True),
    sa.Column('receive_date', sa.Date(), nullable=True),
    sa.Column('receiver_account_id', sa.Integer(), nullable=True),
    sa.Column('received_minor', sa.BigInteger(), nullable=True),
    sa.Column('received_currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True),
    sa.Column('receiver_fee_minor', sa.BigInteger(), nullable=True),
    sa.Column('intermediary_minor', sa.BigInteger(), nullable=True),
    sa.Column('intermediary_currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True),
    sa.Column('receive_entry_id', sa.Integer(), nullable=True),
    sa.Column('receive_line_id', sa.Integer(), nullable=True),
    sa.Column('void_date', sa.Date(), nullable=True),
    sa.Column('void_entry_id', sa.Integer(), nullable=True),
    sa.Column('value_sent_eur_minor', sa.BigInteger(), nullable=True),
    sa.Column('value_received_eur_minor', sa.BigInteger(), nullable=True),
    sa.Column('loss_eur_minor', sa.BigInteger(), nullable=True),
    sa.Column('fees_eur_minor', sa.BigInteger(), nullable=True),
    sa.Column('exchange_eur_minor', sa.BigInteger(), nullable=True),
    sa.Column('days_in_transit', sa.Integer(), nullable=True),
    sa.Column('override_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['destination_org_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['origin_org_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['override_id'], ['eligibility_override.id'], ),
    sa.ForeignKeyConstraint(['previous_id'], ['transfer.id'], ),
    sa.ForeignKeyConstraint(['receive_entry_id'], ['journal_entry.id'], ),
    sa.ForeignKeyConstraint(['receive_line_id'], ['statement_line.id'], ),
    sa.ForeignKeyConstraint(['receiver_account_id'], ['account.id'], ),
    sa.ForeignKeyConstraint(['send_entry_id'], ['journal_entry.id'], ),
    sa.ForeignKeyConstraint(['send_line_id'], ['statement_line.id'], ),
    sa.ForeignKeyConstraint(['sender_account_id'], ['account.id'], ),
    sa.ForeignKeyConstraint(['source_org_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['void_entry_id'], ['journal_entry.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference')
    )
    with op.batch_alter_table('transfer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transfer_status'), ['status'], unique=False)
    for table in APPEND_ONLY:
        create_append_only(op, table)


def downgrade() -> None:
    for table in APPEND_ONLY:
        drop_append_only(op, table)
    with op.batch_alter_table('transfer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transfer_status'))

    op.drop_table('transfer')
    with op.batch_alter_table('recon_match_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recon_match_line_line_id'))

    op.drop_table('recon_match_line')
    with op.batch_alter_table('recon_match_posting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recon_match_posting_posting_id'))

    op.drop_table('recon_match_posting')
    with op.batch_alter_table('recon_match', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recon_match_account_id'))

    op.drop_table('recon_match')
    with op.batch_alter_table('eligibility_override', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_eligibility_override_organisation_id'))

    op.drop_table('eligibility_override')
    with op.batch_alter_table('pledge', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pledge_organisation_id'))

    op.drop_table('pledge')
    with op.batch_alter_table('org_fact', schema=None) as batch_op:
        batch_op.drop_index('ix_org_fact_org_fact')

    op.drop_table('org_fact')
    with op.batch_alter_table('eligibility_decision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_eligibility_decision_organisation_id'))

    op.drop_table('eligibility_decision')
    with op.batch_alter_table('reference_rate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reference_rate_rate_date'))

    op.drop_table('reference_rate')
