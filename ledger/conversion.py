"""Currency conversion entries balanced through trading accounts.

Converting 10,000.00 CAD into 6,734.01 EUR is one entry with four postings:
the CAD leaves one account into ``Equity:Trading:CAD`` and the EUR comes out
of ``Equity:Trading:EUR`` into the other, so each currency sums to zero on its
own and the rate used is recorded on the entry as an exact Decimal.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Connection

from ledger.domain import EntryDraft, PostingDraft
from ledger.errors import InvalidInputError
from ledger.money import Money
from ledger.orgs import ensure_account

TRADING_ROOT = "Equity:Trading"


def trading_account(currency: str) -> str:
    """The trading account of a currency (``Equity:Trading:CAD``)."""
    return f"{TRADING_ROOT}:{currency}"


def conversion_rate(source: Money, target: Money) -> Decimal:
    """Units of target currency per unit of source, exact to 12 significant places."""
    if source.minor == 0:
        raise InvalidInputError("cannot convert a zero amount")
    return (target.amount / source.amount).normalize()


def conversion_postings(
    source_account: str, source: Money, target_account: str, target: Money
) -> tuple[PostingDraft, ...]:
    """The four postings moving ``source`` out of one account and ``target`` into another."""
    if source.currency == target.currency:
        raise InvalidInputError("a conversion needs two different currencies")
    if source.minor <= 0 or target.minor <= 0:
        raise InvalidInputError("conversion amounts must be positive")
    return (
        PostingDraft(source_account, -source),
        PostingDraft(trading_account(source.currency), source),
        PostingDraft(trading_account(target.currency), -target),
        PostingDraft(target_account, target),
    )


def ensure_trading_accounts(conn: Connection, *currencies: str) -> None:
    """Open the trading accounts of ``currencies`` if they do not exist yet."""
    for cur in currencies:
        ensure_account(conn, trading_account(cur), "equity", cur)


def conversion_draft(
    conn: Connection,
    on: date,
    source_account: str,
    source: Money,
    target_account: str,
    target: Money,
    description: str,
    reference: str | None = None,
    idempotency_key: str | None = None,
) -> EntryDraft:
    """A balanced conversion entry (trading accounts opened as needed), rate recorded."""
    ensure_trading_accounts(conn, source.currency, target.currency)
    return EntryDraft(
        entry_date=on,
        description=description,
        postings=conversion_postings(source_account, source, target_account, target),
        reference=reference,
        idempotency_key=idempotency_key,
        kind="conversion",
        rate=conversion_rate(source, target),
    )
