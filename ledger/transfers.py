"""Two-phase transfers: send (money in transit), receive (settled, loss measured) or void.

A transfer is one *hop*: union → Network, Network → mutual.  ``send`` books the
money out of the sender's bank into ``Assets:In transit:<currency>`` (the
sender's fees are a loss at once); ``receive`` settles it with what actually
arrived and measures the loss with :func:`ledger.loss.compute_loss` against the
stored reference rates, recording fees and exchange margin as postings; ``void``
returns the money to the sender (its fees stay lost).  The ``transfer`` row is the
workflow record tying the three journal entries to bank lines, the measured
figures and any eligibility override; money moves only through the journal.

Eligibility: a hop whose destination redistributes (kind ``mutual`` or
``other``) asks the :data:`ledger.gate.Gate` first.  Hops between unions and the
Network move money inside the fund and are not gated.  A refusal raises
:class:`ledger.gate.IneligibleError` unless an override reason is given; the
override is then stored (append-only) and linked on the transfer.

EUR figures stored on the row: ``value_sent_eur`` (sent + sender fees at the
send date's rate) and ``fees_eur`` (the sender's fees) from the send; the rest
(value received, loss, fees, exchange, days in transit) from the receive.  A
void stores the sender's fees as its whole loss.

Must not import ``imports``, ``rules`` or ``reports``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update
from sqlalchemy.orm import aliased

from ledger.domain import EntryDraft
from ledger.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from ledger.gate import Gate, IneligibleError
from ledger.journal import current_actor, post
from ledger.loss import (
    TransferFacts,
    accounts_to_open,
    compute_loss,
    send_postings,
    settlement_postings,
    void_postings,
)
from ledger.money import Money, MoneyError, check_currency
from ledger.orgs import ensure_account, org_id
from ledger.rates import DEFAULT_MAX_AGE_DAYS, EUR
from ledger.rates_store import load_rate_table
from ledger.tables import (
    Account,
    EligibilityOverride,
    Organisation,
    StatementLine,
    Transfer,
)

__all__ = [
    "GATED_KINDS",
    "STATUSES",
    "TransferView",
    "get_transfer",
    "list_transfers",
    "receive_transfer",
    "send_transfer",
    "void_transfer",
]

STATUSES = ("pending", "settled", "void")
#: Organisation kinds that redistribute money and must be eligible to receive it.
GATED_KINDS = frozenset({"mutual", "other"})
# How far back a rate is looked for when no maximum age applies.
_ANY_AGE_LOOKBACK = 3660


@dataclass(frozen=True, slots=True)
class TransferView:
    """A transfer hop as stored, with names instead of ids."""

    id: int
    reference: str
    status: str
    origin: str
    destination: str
    source: str | None
    previous: str | None
    charge_bearer: str
    send_date: date
    sender_account: str
    sent: Money
    sender_fee: Money
    send_entry_id: int
    send_line_id: int | None
    receive_date: date | None
    receiver_account: str | None
    received: Money | None
    receiver_fee: Money | None
    intermediary: Money | None
    receive_entry_id: int | None
    receive_line_id: int | None
    void_date: date | None
    void_entry_id: int | None
    value_sent_eur: Money | None
    value_received_eur: Money | None
    loss_eur: Money | None
    fees_eur: Money | None
    exchange_eur: Money | None
    days_in_transit: int | None
    override_id: int | None
    override_reason: str | None
    created_by: str

    def days_pending(self, as_of: date) -> int | None:
        """Days since the send for a transfer still in transit, else None."""
        return (as_of - self.send_date).days if self.status == "pending" else None

    def overdue(self, as_of: date, days: int) -> bool:
        """True when still in transit more than ``days`` days after it was sent."""
        pending = self.days_pending(as_of)
        return pending is not None and pending > days


# -- reading -------------------------------------------------------------------

def _select():  # type: ignore[no-untyped-def]
    o, d, s = aliased(Organisation), aliased(Organisation), aliased(Organisation)
    sa, ra = aliased(Account), aliased(Account)
    prev = aliased(Transfer)
    return (
        select(Transfer, o.name.label("origin"), d.name.label("destination"),
               s.name.label("source"), prev.reference.label("previous"),
               sa.code.label("sender_code"), ra.code.label("receiver_code"),
               EligibilityOverride.reason.label("override_reason"))
        .join(o, o.id == Transfer.origin_org_id)
        .join(d, d.id == Transfer.destination_org_id)
        .outerjoin(s, s.id == Transfer.source_org_id)
        .outerjoin(prev, prev.id == Transfer.previous_id)
        .join(sa, sa.id == Transfer.sender_account_id)
        .outerjoin(ra, ra.id == Transfer.receiver_account_id)
        .outerjoin(EligibilityOverride, EligibilityOverride.id == Transfer.override_id)
    )


def _m(minor: int | None, currency: str | None) -> Money | None:
    return None if minor is None or currency is None else Money(int(minor), currency)


def _view(r: Any) -> TransferView:
    t = r._mapping
    cur_r = t["received_currency"]
    return TransferView(
        id=t["id"], reference=t["reference"], status=t["status"], origin=t["origin"],
        destination=t["destination"], source=t["source"], previous=t["previous"],
        charge_bearer=t["charge_bearer"], send_date=t["send_date"],
        sender_account=t["sender_code"], sent=Money(int(t["sent_minor"]), t["sent_currency"]),
        sender_fee=Money(int(t["sender_fee_minor"]), t["sender_fee_currency"]),
        send_entry_id=t["send_entry_id"], send_line_id=t["send_line_id"],
        receive_date=t["receive_date"], receiver_account=t["receiver_code"],
        received=_m(t["received_minor"], cur_r), receiver_fee=_m(t["receiver_fee_minor"], cur_r),
        intermediary=_m(t["intermediary_minor"], t["intermediary_currency"]),
        receive_entry_id=t["receive_entry_id"], receive_line_id=t["receive_line_id"],
        void_date=t["void_date"], void_entry_id=t["void_entry_id"],
        value_sent_eur=_m(t["value_sent_eur_minor"], EUR),
        value_received_eur=_m(t["value_received_eur_minor"], EUR),
        loss_eur=_m(t["loss_eur_minor"], EUR), fees_eur=_m(t["fees_eur_minor"], EUR),
        exchange_eur=_m(t["exchange_eur_minor"], EUR), days_in_transit=t["days_in_transit"],
        override_id=t["override_id"], override_reason=t["override_reason"],
        created_by=t["created_by"],
    )


def get_transfer(conn: Connection, reference: str) -> TransferView:
    """One transfer by its reference."""
    row = conn.execute(_select().where(Transfer.reference == reference.strip())).first()
    if row is None:
        raise NotFoundError(f"no transfer {reference!r} (see `solidarity transfer list`)")
    return _view(row)


def list_transfers(
    conn: Connection, status: str | None = None, year: int | None = None
) -> list[TransferView]:
    """Transfers by send date then id; optionally one status or those sent in ``year``."""
    q = _select().order_by(Transfer.send_date, Transfer.id)
    if status is not None:
        if status not in STATUSES:
            raise InvalidInputError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        q = q.where(Transfer.status == status)
    if year is not None:
        q = q.where(Transfer.send_date >= date(year, 1, 1), Transfer.send_date <= date(year, 12, 31))
    return [_view(r) for r in conn.execute(q)]


# -- checks --------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Acc:
    id: int
    code: str
    type: str
    currency: str
    organisation_id: int | None


def _account(conn: Connection, code: str, owner_id: int, owner: str, role: str) -> _Acc:
    row = conn.execute(
        select(Account.id, Account.code, Account.type, Account.currency, Account.organisation_id)
        .where(Account.code == code.strip())
    ).first()
    if row is None:
        raise NotFoundError(f"unknown account {code!r} (see `solidarity account list`)")
    acc = _Acc(int(row[0]), row[1], row[2], row[3], row[4])
    if acc.type != "asset":
        raise InvalidInputError(f"{role} account {acc.code!r} is a {acc.type} account, "
                                "not a bank (asset) account")
    if acc.organisation_id is not None and acc.organisation_id != owner_id:
        raise InvalidInputError(f"{role} account {acc.code!r} does not belong to {owner}")
    return acc


def _money(value: Decimal | str | int | None, currency: str, what: str) -> Money:
    try:
        return Money.of(value if value is not None else 0, currency)
    except MoneyError as exc:
        raise InvalidInputError(f"{what}: {exc}") from None


def _check_line(conn: Connection, line_id: int, acc: _Acc, expected: Money, side: str,
                transfer_id: int | None = None) -> None:
    """A bank line linked to a transfer must be on the right account, for the right amount,
    and not linked to another transfer already."""
    row = conn.execute(
        select(StatementLine.account_id, StatementLine.amount_minor, StatementLine.currency,
               StatementLine.booking_date).where(StatementLine.id == line_id)
    ).first()
    if row is None:
        raise NotFoundError(f"no bank line #{line_id}")
    if int(row[0]) != acc.id:
        raise InvalidInputError(f"bank line #{line_id} is not on account {acc.code}")
    found = Money(int(row[1]), row[2])
    if found != expected:
        raise InvalidInputError(
            f"bank line #{line_id} shows {found} but the {side} is {expected}")
    q = select(Transfer.reference).where(
        or_(Transfer.send_line_id == line_id, Transfer.receive_line_id == line_id))
    if transfer_id is not None:
        q = q.where(Transfer.id != transfer_id)
    other = conn.execute(q).first()
    if other is not None:
        raise InvalidInputError(f"bank line #{line_id} is already linked to transfer {other[0]}")


def _open_accounts(conn: Connection, postings: Any) -> None:
    for code, type_, cur in accounts_to_open(postings):
        ensure_account(conn, code, type_, cur)


def _row(conn: Connection, reference: str) -> Any:
    row = conn.execute(select(Transfer).where(Transfer.reference == reference.strip())).mappings().first()
    if row is None:
        raise NotFoundError(f"no transfer {reference!r} (see `solidarity transfer list`)")
    return row


def _org_name_kind(conn: Connection, oid: int) -> tuple[str, str]:
    r = conn.execute(select(Organisation.name, Organisation.kind).where(Organisation.id == oid)).one()
    return r[0], r[1]


# -- writing -------------------------------------------------------------------

def send_transfer(
    conn: Connection,
    *,
    reference: str,
    from_org: str,
    to_org: str,
    from_account: str,
    amount: Decimal | str,
    on: date,
    gate: Gate,
    fee: Decimal | str | None = None,
    bearer: str = "SHA",
    source_org: str | None = None,
    previous: str | None = None,
    bank_line: int | None = None,
    override_reason: str | None = None,
    actor: str | None = None,
    max_rate_age: int | None = DEFAULT_MAX_AGE_DAYS,
) -> TransferView:
    """Send a hop: post ``Dr In transit / Dr fees / Cr bank`` and record it as pending.

    ``amount`` and ``fee`` are in the sender account's currency.  The value sent
    is measured in EUR at the send date's reference rate (refused if missing or
    older than ``max_rate_age`` days).  A destination that redistributes must
    pass ``gate`` or carry an ``override_reason``.
    """
    ref = reference.strip()
    if not ref or len(ref) > 100:
        raise InvalidInputError("a transfer needs a reference of 1 to 100 characters")
    known = conn.execute(select(Transfer.status).where(Transfer.reference == ref)).first()
    if known is not None:
        raise AlreadyExistsError(f"transfer {ref} already exists ({known[0]})")
    origin_id, dest_id = org_id(conn, from_org), org_id(conn, to_org)
    if origin_id == dest_id:
        raise InvalidInputError("a transfer goes from one organisation to another")
    dest_name, dest_kind = _org_name_kind(conn, dest_id)
    acc = _account(conn, from_account, origin_id, from_org, "sender")
    sent = _money(amount, acc.currency, "amount")
    fee_m = _money(fee, acc.currency, "fee")
    facts = TransferFacts(sent=sent, sender_fees=fee_m, send_date=on, charge_bearer=bearer)
    source_id = org_id(conn, source_org) if source_org else None
    previous_id = None
    if previous:
        prev = _row(conn, previous)
        if prev["status"] == "void":
            raise InvalidInputError(f"transfer {previous} was voided: nothing to forward")
        if prev["destination_org_id"] != origin_id:
            raise InvalidInputError(
                f"transfer {previous} went to another organisation than {from_org}: "
                "a hop forwards money its sender received")
        previous_id = int(prev["id"])

    override_id = None
    if dest_kind in GATED_KINDS:
        verdict = gate(conn, dest_id, on)
        if not verdict.allowed:
            reason = (override_reason or "").strip()
            if not reason:
                raise IneligibleError(dest_name, on, verdict)
            override_id = conn.execute(insert(EligibilityOverride).values(
                organisation_id=dest_id, decision_id=verdict.decision_id,
                action=f"transfer {ref}"[:200],
                failed_rules=(", ".join(verdict.failed_rules) or verdict.outcome)[:2000],
                reason=reason[:2000], actor=current_actor(actor), created_at=datetime.now(UTC),
            ).returning(EligibilityOverride.id)).scalar_one()

    rates = load_rate_table(conn, on, on, [sent.currency],
                            _ANY_AGE_LOOKBACK if max_rate_age is None else max_rate_age)
    sent_eur = rates.to_eur(sent, on, max_rate_age)
    fee_eur = rates.to_eur(fee_m, on, max_rate_age) if fee_m else Money.zero(EUR)

    postings = send_postings(facts, acc.code)
    _open_accounts(conn, postings)
    if bank_line is not None:
        _check_line(conn, bank_line, acc, -(sent + fee_m), "amount sent with fees")
    entry_id, _ = post(conn, EntryDraft(
        entry_date=on, description=f"Transfer {ref}: {from_org} → {dest_name} (sent)",
        postings=postings, reference=ref, idempotency_key=f"transfer:{ref}:send",
        kind="transfer"), actor)
    conn.execute(insert(Transfer).values(
        reference=ref, status="pending", origin_org_id=origin_id, destination_org_id=dest_id,
        source_org_id=source_id, previous_id=previous_id, charge_bearer=facts.charge_bearer,
        send_date=on, sender_account_id=acc.id, sent_minor=sent.minor,
        sent_currency=sent.currency, sender_fee_minor=fee_m.minor,
        sender_fee_currency=fee_m.currency, send_entry_id=entry_id, send_line_id=bank_line,
        value_sent_eur_minor=(sent_eur + fee_eur).minor, fees_eur_minor=fee_eur.minor,
        override_id=override_id, created_by=current_actor(actor), created_at=datetime.now(UTC),
    ))
    return get_transfer(conn, ref)


def _facts(row: Any, **received: Any) -> TransferFacts:
    return TransferFacts(
        sent=Money(int(row["sent_minor"]), row["sent_currency"]),
        sender_fees=Money(int(row["sender_fee_minor"]), row["sender_fee_currency"]),
        send_date=row["send_date"], charge_bearer=row["charge_bearer"], **received)


def receive_transfer(
    conn: Connection,
    reference: str,
    *,
    account: str,
    amount: Decimal | str,
    on: date,
    receiver_fee: Decimal | str | None = None,
    intermediary: Decimal | str | None = None,
    intermediary_currency: str | None = None,
    bank_line: int | None = None,
    actor: str | None = None,
    max_rate_age: int | None = DEFAULT_MAX_AGE_DAYS,
) -> TransferView:
    """Settle a pending hop with what arrived on ``account`` (in its currency).

    ``receiver_fee`` is the receiving bank's stated charge (account currency);
    ``intermediary`` a known correspondent deduction in ``intermediary_currency``
    (default: the sent currency, i.e. taken before the conversion).  The loss is
    measured in EUR at the reference rates and posted as fees and exchange.
    """
    row = _row(conn, reference)
    ref = row["reference"]
    if row["status"] != "pending":
        raise InvalidInputError(f"transfer {ref} is {row['status']}, not pending")
    dest_name, _ = _org_name_kind(conn, row["destination_org_id"])
    acc = _account(conn, account, row["destination_org_id"], dest_name, "receiving")
    received = _money(amount, acc.currency, "amount")
    rfee = _money(receiver_fee, acc.currency, "receiver fee") if receiver_fee is not None else None
    inter = None
    if intermediary is not None:
        try:
            icur = check_currency(intermediary_currency or row["sent_currency"])
        except MoneyError as exc:
            raise InvalidInputError(f"intermediary currency: {exc}") from None
        inter = _money(intermediary, icur, "intermediary deduction")
    elif intermediary_currency is not None:
        raise InvalidInputError("--intermediary-currency needs --intermediary")
    facts = _facts(row, received=received, receive_date=on, receiver_fees=rfee,
                   intermediary_deductions=inter)
    currencies = {facts.sent.currency, received.currency, facts.sender_fees_or_zero.currency}
    rates = load_rate_table(conn, row["send_date"], on, currencies,
                            _ANY_AGE_LOOKBACK if max_rate_age is None else max_rate_age)
    loss = compute_loss(facts, rates, max_age_days=max_rate_age)
    postings = settlement_postings(facts, loss, acc.code)
    _open_accounts(conn, postings)
    if bank_line is not None:
        _check_line(conn, bank_line, acc, received, "amount received", int(row["id"]))
    entry_id, _ = post(conn, EntryDraft(
        entry_date=on, description=f"Transfer {ref}: received by {dest_name}",
        postings=postings, reference=ref, idempotency_key=f"transfer:{ref}:receive",
        kind="transfer"), actor)
    conn.execute(update(Transfer).where(Transfer.id == row["id"]).values(
        status="settled", receive_date=on, receiver_account_id=acc.id,
        received_minor=received.minor, received_currency=received.currency,
        receiver_fee_minor=None if rfee is None else rfee.minor,
        intermediary_minor=None if inter is None else inter.minor,
        intermediary_currency=None if inter is None else inter.currency,
        receive_entry_id=entry_id, receive_line_id=bank_line,
        value_sent_eur_minor=loss.value_sent_eur.minor,
        value_received_eur_minor=loss.value_received_eur.minor,
        loss_eur_minor=loss.loss_eur.minor, fees_eur_minor=loss.fees_eur.minor,
        exchange_eur_minor=loss.exchange_eur.minor, days_in_transit=loss.days_in_transit,
    ))
    return get_transfer(conn, ref)


def void_transfer(
    conn: Connection, reference: str, on: date, actor: str | None = None
) -> TransferView:
    """Cancel a hop that never arrived: the money returns to the sender's account on
    ``on``; the sender's fees stay a loss (the bank kept them)."""
    row = _row(conn, reference)
    ref = row["reference"]
    if row["status"] != "pending":
        raise InvalidInputError(f"transfer {ref} is {row['status']}, not pending")
    if on < row["send_date"]:
        raise InvalidInputError(f"a transfer cannot be voided before it was sent ({row['send_date']})")
    sender = conn.execute(select(Account.code).where(Account.id == row["sender_account_id"])).scalar_one()
    postings = void_postings(_facts(row), sender)
    entry_id, _ = post(conn, EntryDraft(
        entry_date=on, description=f"Transfer {ref}: voided, money back to the sender",
        postings=postings, reference=ref, idempotency_key=f"transfer:{ref}:void",
        kind="transfer"), actor)
    fees = int(row["fees_eur_minor"] or 0)
    conn.execute(update(Transfer).where(Transfer.id == row["id"]).values(
        status="void", void_date=on, void_entry_id=entry_id,
        loss_eur_minor=fees, fees_eur_minor=fees, exchange_eur_minor=0,
    ))
    return get_transfer(conn, ref)
