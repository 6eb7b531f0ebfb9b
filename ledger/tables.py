"""Database tables (SQLModel).  Every table of the project lives in this module.

Amounts are BIGINT minor units, rates are text holding an exact Decimal (SQLite
has no exact decimal type, and a float would round).  Journal rows are
append-only: triggers created by the migrations refuse UPDATE and DELETE.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


def _big(**kw: object) -> Column:  # type: ignore[type-arg]
    return Column(BigInteger, **kw)  # type: ignore[arg-type]


class Organisation(SQLModel, table=True):
    """A union, the Network, a mutual or another body that holds or sends money."""

    __tablename__ = "organisation"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=200)
    kind: str = Field(max_length=20)
    country: str = Field(max_length=2)
    currency: str = Field(max_length=3)
    created_at: datetime


class MemberCount(SQLModel, table=True):
    """Members an organisation declares for a period ("2026" or "2026-03")."""

    __tablename__ = "member_count"
    __table_args__ = (UniqueConstraint("organisation_id", "period"),)
    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id")
    period: str = Field(max_length=7)
    members: int = Field(sa_column=_big(nullable=False))
    recorded_at: datetime


class Account(SQLModel, table=True):
    """A ledger account; ``balance_minor`` is maintained on posting (debit positive)."""

    __tablename__ = "account"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True, max_length=200)
    type: str = Field(max_length=10)
    currency: str = Field(max_length=3)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id")
    iban: str | None = Field(default=None, max_length=34)
    opened_on: date
    closed_on: date | None = None
    debits_minor: int = Field(default=0, sa_column=_big(nullable=False, default=0))
    credits_minor: int = Field(default=0, sa_column=_big(nullable=False, default=0))
    balance_minor: int = Field(default=0, sa_column=_big(nullable=False, default=0))


class JournalEntry(SQLModel, table=True):
    """A posted journal entry.  ``id`` is its position in the hash chain (1, 2, 3...)."""

    __tablename__ = "journal_entry"
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    entry_date: date = Field(index=True)
    description: str = Field(max_length=500)
    reference: str | None = Field(default=None, max_length=200)
    kind: str = Field(default="standard", max_length=20)
    idempotency_key: str | None = Field(default=None, unique=True, max_length=200)
    reverses_id: int | None = Field(default=None, foreign_key="journal_entry.id")
    rate: str | None = Field(default=None, max_length=60)  # exact Decimal as text
    created_at: datetime
    created_by: str = Field(max_length=100)
    content_hash: str = Field(max_length=64)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class Posting(SQLModel, table=True):
    """One leg of a journal entry: a signed amount (debit positive) on one account."""

    __tablename__ = "posting"
    __table_args__ = (Index("ix_posting_account_entry", "account_id", "entry_id"),)
    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="journal_entry.id", index=True)
    line_no: int
    account_id: int = Field(foreign_key="account.id")
    amount_minor: int = Field(sa_column=_big(nullable=False))
    currency: str = Field(max_length=3)
    memo: str | None = Field(default=None, max_length=500)
    bank_ref: str | None = Field(default=None, max_length=200)


class ChainHead(SQLModel, table=True):
    """The single row every writer locks: last entry id and hash of the chain."""

    __tablename__ = "chain_head"
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last_id: int = Field(sa_column=_big(nullable=False, default=0))
    last_hash: str = Field(max_length=64)


class ClosedPeriod(SQLModel, table=True):
    """A period closed for posting: no entry dated on or before ``closed_through``."""

    __tablename__ = "closed_period"
    id: int | None = Field(default=None, primary_key=True)
    closed_through: date
    closed_at: datetime
    closed_by: str = Field(max_length=100)


# -- bank statements (imports) ------------------------------------------------

class BankImport(SQLModel, table=True):
    """One run of ``solidarity import`` for one file: what, who, when, counts."""

    __tablename__ = "bank_import"
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id")
    file_name: str = Field(max_length=500)
    sha256: str = Field(max_length=64, index=True)
    format: str = Field(max_length=40)
    profile: str | None = Field(default=None, max_length=100)
    actor: str = Field(max_length=100)
    imported_at: datetime
    statements: int
    lines: int
    new_lines: int
    known_lines: int


class BankStatement(SQLModel, table=True):
    """A statement as stated by the bank: period and opening/closing balances."""

    __tablename__ = "bank_statement"
    __table_args__ = (UniqueConstraint("account_id", "statement_key"),)
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id")
    statement_key: str = Field(max_length=64)
    bank_statement_id: str | None = Field(default=None, max_length=200)
    currency: str = Field(max_length=3)
    period_start: date | None = None
    period_end: date | None = None
    opening_date: date | None = None
    opening_minor: int | None = Field(default=None, sa_column=_big(nullable=True))
    closing_date: date | None = None
    closing_minor: int | None = Field(default=None, sa_column=_big(nullable=True))
    format: str = Field(max_length=40)
    import_id: int = Field(foreign_key="bank_import.id")


class StatementLine(SQLModel, table=True):
    """One bank line, kept with its raw content and where it came from.  Append-only."""

    __tablename__ = "statement_line"
    __table_args__ = (
        UniqueConstraint("account_id", "line_key"),
        Index("ix_statement_line_account_date", "account_id", "booking_date"),
    )
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id")
    statement_id: int = Field(foreign_key="bank_statement.id")
    import_id: int = Field(foreign_key="bank_import.id")
    line_key: str = Field(max_length=80)
    match_key: str = Field(max_length=64)
    booking_date: date
    value_date: date | None = None
    amount_minor: int = Field(sa_column=_big(nullable=False))
    currency: str = Field(max_length=3)
    counterparty_name: str = Field(default="", max_length=500)
    counterparty_account: str = Field(default="", max_length=100)
    reference: str = Field(default="", max_length=500)
    remittance: str = Field(default="", max_length=2000)
    bank_transaction_id: str = Field(default="", max_length=200)
    bank_code: str = Field(default="", max_length=100)
    charges_minor: int | None = Field(default=None, sa_column=_big(nullable=True))
    charges_currency: str | None = Field(default=None, max_length=3)
    instructed_minor: int | None = Field(default=None, sa_column=_big(nullable=True))
    instructed_currency: str | None = Field(default=None, max_length=3)
    exchange_rate: str | None = Field(default=None, max_length=60)
    reversal: bool = False
    source_file: str = Field(max_length=500)
    source_line: int | None = None
    source_location: str | None = Field(default=None, max_length=300)
    raw: str = Field(default="", max_length=20000)


# -- reconciliation ------------------------------------------------------------

class ReconMatch(SQLModel, table=True):
    """A stored match between bank lines and postings of one account.

    Undoing a match stamps ``undone_at``; the row stays as the audit trail.
    """

    __tablename__ = "recon_match"
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    stage: int  # 1 exact key, 2 amount+date+text, 3 one-to-many, 4 posting rule, 0 manual
    method: str = Field(max_length=10)  # auto | manual | rule | writeoff
    score: str | None = Field(default=None, max_length=20)  # exact Decimal as text
    reason: str | None = Field(default=None, max_length=500)
    created_by: str = Field(max_length=100)
    created_at: datetime
    undone_at: datetime | None = None
    undone_by: str | None = Field(default=None, max_length=100)


class ReconMatchLine(SQLModel, table=True):
    """A bank line belonging to a match."""

    __tablename__ = "recon_match_line"
    match_id: int = Field(foreign_key="recon_match.id", primary_key=True)
    line_id: int = Field(foreign_key="statement_line.id", primary_key=True, index=True)


class ReconMatchPosting(SQLModel, table=True):
    """A ledger posting belonging to a match."""

    __tablename__ = "recon_match_posting"
    match_id: int = Field(foreign_key="recon_match.id", primary_key=True)
    posting_id: int = Field(foreign_key="posting.id", primary_key=True, index=True)


# -- reference rates, pledges, transfers --------------------------------------

class ReferenceRate(SQLModel, table=True):
    """A reference rate: units of ``currency`` per euro on ``rate_date`` (exact text)."""

    __tablename__ = "reference_rate"
    __table_args__ = (UniqueConstraint("rate_date", "currency"),)
    id: int | None = Field(default=None, primary_key=True)
    rate_date: date = Field(index=True)
    currency: str = Field(max_length=3)
    per_eur: str = Field(max_length=40)
    source: str = Field(max_length=100)
    imported_at: datetime


class Pledge(SQLModel, table=True):
    """A union's pledge: ``rate_minor`` per member per ``frequency`` over a period."""

    __tablename__ = "pledge"
    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    period_start: date
    period_end: date
    rate_minor: int = Field(sa_column=_big(nullable=False))
    currency: str = Field(max_length=3)
    frequency: str = Field(max_length=10)  # year | month
    members: int = Field(sa_column=_big(nullable=False))
    note: str | None = Field(default=None, max_length=500)
    created_by: str = Field(max_length=100)
    created_at: datetime


class Transfer(SQLModel, table=True):
    """A two-phase transfer hop: pending (in transit) → settled or void.

    The money moves only through journal entries (send, receive, void); this
    row is the workflow record that ties them to bank lines and measured loss.
    """

    __tablename__ = "transfer"
    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=100, unique=True)
    status: str = Field(max_length=10, index=True)  # pending | settled | void
    origin_org_id: int = Field(foreign_key="organisation.id")
    destination_org_id: int = Field(foreign_key="organisation.id")
    source_org_id: int | None = Field(default=None, foreign_key="organisation.id")
    previous_id: int | None = Field(default=None, foreign_key="transfer.id")
    charge_bearer: str = Field(max_length=3)
    send_date: date
    sender_account_id: int = Field(foreign_key="account.id")
    sent_minor: int = Field(sa_column=_big(nullable=False))
    sent_currency: str = Field(max_length=3)
    sender_fee_minor: int = Field(default=0, sa_column=_big(nullable=False, default=0))
    sender_fee_currency: str = Field(max_length=3)
    send_entry_id: int = Field(foreign_key="journal_entry.id")
    send_line_id: int | None = Field(default=None, foreign_key="statement_line.id")
    receive_date: date | None = None
    receiver_account_id: int | None = Field(default=None, foreign_key="account.id")
    received_minor: int | None = Field(default=None, sa_column=_big(nullable=True))
    received_currency: str | None = Field(default=None, max_length=3)
    receiver_fee_minor: int | None = Field(default=None, sa_column=_big(nullable=True))
    intermediary_minor: int | None = Field(default=None, sa_column=_big(nullable=True))
    intermediary_currency: str | None = Field(default=None, max_length=3)
    receive_entry_id: int | None = Field(default=None, foreign_key="journal_entry.id")
    receive_line_id: int | None = Field(default=None, foreign_key="statement_line.id")
    void_date: date | None = None
    void_entry_id: int | None = Field(default=None, foreign_key="journal_entry.id")
    value_sent_eur_minor: int | None = Field(default=None, sa_column=_big(nullable=True))
    value_received_eur_minor: int | None = Field(default=None, sa_column=_big(nullable=True))
    loss_eur_minor: int | None = Field(default=None, sa_column=_big(nullable=True))
    fees_eur_minor: int | None = Field(default=None, sa_column=_big(nullable=True))
    exchange_eur_minor: int | None = Field(default=None, sa_column=_big(nullable=True))
    days_in_transit: int | None = None
    override_id: int | None = Field(default=None, foreign_key="eligibility_override.id")
    created_by: str = Field(max_length=100)
    created_at: datetime


# -- eligibility --------------------------------------------------------------

class OrgFact(SQLModel, table=True):
    """A fact about an organisation, holding from ``as_of``, with its evidence.  Append-only:
    a correction is a newer row for the same fact and date."""

    __tablename__ = "org_fact"
    __table_args__ = (Index("ix_org_fact_org_fact", "organisation_id", "fact", "as_of"),)
    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id")
    fact: str = Field(max_length=100)
    value: str = Field(max_length=2000)  # JSON-encoded typed value
    as_of: date
    evidence: str = Field(default="", max_length=1000)
    recorded_by: str = Field(max_length=100)
    recorded_at: datetime


class EligibilityDecision(SQLModel, table=True):
    """A stored eligibility decision with the rule set it used.  Append-only."""

    __tablename__ = "eligibility_decision"
    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    as_of: date
    outcome: str = Field(max_length=30)
    ruleset_name: str = Field(max_length=200)
    ruleset_version: str = Field(max_length=50)
    ruleset_hash: str = Field(max_length=64)
    detail: str  # JSON of the per-rule results
    decided_by: str = Field(max_length=100)
    decided_at: datetime


class EligibilityOverride(SQLModel, table=True):
    """The Network proceeding despite a refusal: who, why, over which rules.  Append-only."""

    __tablename__ = "eligibility_override"
    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    decision_id: int | None = Field(default=None, foreign_key="eligibility_decision.id")
    action: str = Field(max_length=200)  # e.g. "transfer T-2026-004"
    failed_rules: str = Field(max_length=2000)
    reason: str = Field(max_length=2000)
    actor: str = Field(max_length=100)
    created_at: datetime
