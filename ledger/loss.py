"""What one transfer hop lost on the way, measured against reference rates, and
the postings that record it.

This module owns the arithmetic of the "no loss in transfer" promise: given the
facts of a hop (what left the sender's bank, the fees, what arrived and when),
it computes in EUR at the reference rates the value sent, the value received,
the loss, and its split into **fees** (explicit charges on either side and
intermediary deductions) and **exchange** (the rest: the bank's conversion margin
and any move of the reference rate while the money was in transit).  It also
builds the send, settlement and void postings so every currency balances on its
own through ``Equity:Trading:<currency>`` accounts.

Pure: no database, no I/O.  Must not import ``imports``, ``rules`` or ``reports``.

Where rounding happens (the only place): every *input* amount is converted to
EUR once, at the reference rate of the date it belongs to, rounded half-even to
cents (:meth:`ledger.rates.RateTable.to_eur`); the expected amount in the
receiving currency is converted once, rounded half-even to that currency's
digits.  Every other figure is a sum or difference of those, in exact integer
minor units.  Hence ``fees_eur + exchange_eur == loss_eur`` and
``value_sent_eur - loss_eur == value_received_eur`` hold exactly, and each EUR
figure can be recomputed from one bank amount and one rate.  ``exchange_eur``,
being the remainder, also carries the rounding of the separate conversions
(at most a cent per converted amount).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from ledger.domain import PostingDraft
from ledger.errors import InvalidInputError, LedgerError
from ledger.money import Money, check_currency
from ledger.rates import DEFAULT_MAX_AGE_DAYS, EUR, Rate, RateTable

__all__ = [
    "CHARGE_BEARERS",
    "DEFAULT_ACCOUNTS",
    "RATIO_QUANTUM",
    "TransferAccounts",
    "TransferFacts",
    "TransferFactsError",
    "TransferLoss",
    "TransferLossError",
    "TransferPendingError",
    "accounts_to_open",
    "compute_loss",
    "loss_account",
    "send_postings",
    "settlement_postings",
    "sums_by_currency",
    "void_postings",
]

#: Who pays the charges (SWIFT field 71A): OUR the sender, BEN the beneficiary,
#: SHA each side its own bank.
CHARGE_BEARERS = ("OUR", "SHA", "BEN")

#: Ratios are kept to a millionth (0.0001 %), rounded half-even.
RATIO_QUANTUM = Decimal("0.000001")


class TransferLossError(LedgerError):
    """A transfer whose loss cannot be measured or recorded as asked."""


class TransferFactsError(TransferLossError, InvalidInputError):
    """Transfer facts that contradict each other (currencies, dates, signs)."""


class TransferPendingError(TransferLossError):
    """A transfer still in transit: nothing has arrived to measure yet."""


# -- account names -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TransferAccounts:
    """Prefixes of the accounts a transfer posts to; the currency code is the last part.

    Accounts hold one currency each, so every kind of account exists once per
    currency: ``Expenses:Transfer loss:Fees:XOF``, ``Assets:In transit:CAD``.
    """

    transit: str = "Assets:In transit"
    trading: str = "Equity:Trading"
    fees: str = "Expenses:Transfer loss:Fees"
    exchange: str = "Expenses:Transfer loss:Exchange"

    def transit_account(self, currency: str) -> str:
        """``Assets:In transit:<currency>``: money that left a bank and has not arrived."""
        return f"{self.transit}:{check_currency(currency)}"

    def trading_account(self, currency: str) -> str:
        """``Equity:Trading:<currency>``: the currency side of a conversion."""
        return f"{self.trading}:{check_currency(currency)}"

    def loss_account(self, kind: str, currency: str) -> str:
        """``Expenses:Transfer loss:Fees:<currency>`` (``kind`` "fees") or
        ``...:Exchange:<currency>`` (``kind`` "exchange")."""
        if kind == "fees":
            prefix = self.fees
        elif kind == "exchange":
            prefix = self.exchange
        else:
            raise ValueError(f"loss kind must be 'fees' or 'exchange', not {kind!r}")
        return f"{prefix}:{check_currency(currency)}"


DEFAULT_ACCOUNTS = TransferAccounts()


def loss_account(kind: str, currency: str, accounts: TransferAccounts = DEFAULT_ACCOUNTS) -> str:
    """The loss account of ``kind`` ("fees" or "exchange") in ``currency``:
    ``Expenses:Transfer loss:Fees:XOF``, ``Expenses:Transfer loss:Exchange:EUR``."""
    return accounts.loss_account(kind, currency)


# -- facts and results -----------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferFacts:
    """What is known of one hop of a transfer.

    ``sent`` is what left the sender's account *for the transfer* (fees
    excluded, currency A); ``sender_fees`` what the sender's bank charged on top
    (any currency; none = zero).  ``received`` is what arrived (currency B),
    ``None`` while the transfer is in transit.  ``receiver_fees`` (charges stated
    by the receiving bank) and ``intermediary_deductions`` (known correspondent
    deductions) are each in A or in B: in A they were taken before the
    conversion, in B after it.
    """

    sent: Money
    send_date: date
    sender_fees: Money | None = None
    received: Money | None = None
    receive_date: date | None = None
    receiver_fees: Money | None = None
    intermediary_deductions: Money | None = None
    charge_bearer: str = "SHA"

    def __post_init__(self) -> None:
        bearer = self.charge_bearer.strip().upper() if isinstance(self.charge_bearer, str) else ""
        if bearer not in CHARGE_BEARERS:
            raise TransferFactsError(
                f"charge bearer must be OUR, SHA or BEN, not {self.charge_bearer!r}"
            )
        object.__setattr__(self, "charge_bearer", bearer)
        if self.sent.minor <= 0:
            raise TransferFactsError(f"the amount sent must be positive, not {self.sent}")
        for label, value in (
            ("sender fees", self.sender_fees),
            ("amount received", self.received),
            ("receiver fees", self.receiver_fees),
            ("intermediary deductions", self.intermediary_deductions),
        ):
            if value is not None and value.minor < 0:
                raise TransferFactsError(f"{label} cannot be negative: {value}")
        if (self.received is None) != (self.receive_date is None):
            raise TransferFactsError("an amount received needs its date, and a date its amount")
        if self.receive_date is not None and self.receive_date < self.send_date:
            raise TransferFactsError(
                f"received on {self.receive_date.isoformat()}, before it was sent "
                f"on {self.send_date.isoformat()}"
            )
        if self.received is not None:
            allowed = {self.sent.currency, self.received.currency}
            for label, value in (
                ("receiver fees", self.receiver_fees),
                ("intermediary deductions", self.intermediary_deductions),
            ):
                if value is not None and value.currency not in allowed:
                    raise TransferFactsError(
                        f"{label} must be in {self.sent.currency} or "
                        f"{self.received.currency}, not {value.currency}"
                    )

    @property
    def is_pending(self) -> bool:
        """True while nothing has arrived."""
        return self.received is None

    @property
    def sender_fees_or_zero(self) -> Money:
        """The sender's fees, zero in the sent currency when none were given."""
        return self.sender_fees if self.sender_fees is not None else Money.zero(self.sent.currency)


@dataclass(frozen=True, slots=True)
class TransferLoss:
    """The measured loss of one hop (see the module docstring for the rounding).

    EUR figures: ``value_sent_eur`` (sent + sender fees at the send date's
    rates), ``value_received_eur`` (received at the receive date's rate),
    ``loss_eur`` = sent − received value, ``fees_eur`` = ``sender_fees_eur`` +
    ``receiver_fees_eur`` + ``intermediary_eur`` + ``unexplained_eur``,
    ``exchange_eur`` = ``loss_eur`` − ``fees_eur``.

    Receiving-currency figures: ``expected_received`` is the sent amount, less
    deductions taken in the sent currency, converted at the send date's
    reference rates (EUR → XOF at exactly 655.957); ``exchange_margin`` =
    expected − received − deductions in the receiving currency.  For a
    same-currency hop there is no conversion, so there is no margin: what
    vanished beyond the stated charges is ``unexplained`` and counted as
    (intermediary) fees, and ``exchange_eur`` is only the move of the reference
    rate between the two dates (zero for EUR and fixed parities).
    """

    sent_currency: str
    received_currency: str
    value_sent_eur: Money
    value_received_eur: Money
    loss_eur: Money
    fees_eur: Money
    exchange_eur: Money
    sender_fees_eur: Money
    receiver_fees_eur: Money
    intermediary_eur: Money
    unexplained_eur: Money
    deducted_before_conversion: Money  # sent currency: fees/deductions stated in A
    deducted_after_conversion: Money  # received currency: fees/deductions stated in B
    expected_received: Money
    exchange_margin: Money  # received currency; negative = better than the reference
    unexplained: Money  # received currency; same-currency hops only
    fee_ratio: Decimal | None  # fees_eur / value_sent_eur; None if the value sent is 0.00
    exchange_ratio: Decimal | None  # exchange_eur / value_sent_eur
    days_in_transit: int
    rates_used: tuple[Rate, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())

    @property
    def same_currency(self) -> bool:
        """True when no conversion took place."""
        return self.sent_currency == self.received_currency

    @property
    def loss_ratio(self) -> Decimal | None:
        """``loss_eur / value_sent_eur``, to a millionth; None if the value sent is 0.00."""
        return _ratio(self.loss_eur, self.value_sent_eur)


def _ratio(part: Money, whole: Money) -> Decimal | None:
    if whole.minor == 0:
        return None
    return (Decimal(part.minor) / Decimal(whole.minor)).quantize(RATIO_QUANTUM, ROUND_HALF_EVEN)


class _Valuer:
    """Converts to EUR through a rate table and remembers which rates it used."""

    def __init__(self, rates: RateTable, max_age_days: int | None) -> None:
        self.rates = rates
        self.max_age_days = max_age_days
        self.used: dict[tuple[str, date], Rate] = {}

    def _note(self, currency: str, on: date) -> Rate:
        """Look the rate up (raising if missing or stale) and remember it."""
        rate = self.rates.lookup(currency, on, self.max_age_days)
        if rate.currency != EUR:  # 1 EUR = 1 EUR traces nothing
            self.used.setdefault((rate.currency, rate.date), rate)
        return rate

    def eur(self, money: Money, on: date) -> Money:
        if not money:
            return Money.zero(EUR)  # nothing to value: no rate needed, none refused
        self._note(money.currency, on)
        return self.rates.to_eur(money, on, self.max_age_days)

    def convert(self, money: Money, to_currency: str, on: date) -> Money:
        self._note(money.currency, on)
        self._note(to_currency, on)
        return self.rates.convert(money, to_currency, on, self.max_age_days)


def _split(value: Money | None, a: str, b: str) -> tuple[Money, Money]:
    """``value`` as (part in A, part in B); zero where it is not."""
    zero_a, zero_b = Money.zero(a), Money.zero(b)
    if value is None:
        return zero_a, zero_b
    if value.currency == a:
        return value, zero_b
    return zero_a, value


def compute_loss(
    facts: TransferFacts,
    rates: RateTable,
    *,
    max_age_days: int | None = DEFAULT_MAX_AGE_DAYS,
) -> TransferLoss:
    """Measure what a received hop lost, in EUR at the reference rates.

    Amounts in the sent currency (and the sender's fees) are valued at the send
    date, amounts in the received currency at the receive date.  Raises
    :class:`TransferPendingError` if nothing has arrived yet, and
    :class:`ledger.rates.RateError` when a rate is missing or older than
    ``max_age_days`` — never a guess.
    """
    if facts.received is None or facts.receive_date is None:
        raise TransferPendingError(
            f"the transfer of {facts.sent} sent on {facts.send_date.isoformat()} "
            "has not been received yet"
        )
    sent, received = facts.sent, facts.received
    a, b = sent.currency, received.currency
    sent_on, received_on = facts.send_date, facts.receive_date
    value = _Valuer(rates, max_age_days)

    sender_fees = facts.sender_fees_or_zero
    rf_a, rf_b = _split(facts.receiver_fees, a, b)
    im_a, im_b = _split(facts.intermediary_deductions, a, b)

    sent_eur = value.eur(sent, sent_on)
    sender_fees_eur = value.eur(sender_fees, sent_on)
    value_sent_eur = sent_eur + sender_fees_eur
    value_received_eur = value.eur(received, received_on)
    loss_eur = value_sent_eur - value_received_eur

    if a == b:
        # No conversion: the stated charges are all "after"; what else is missing
        # is an unexplained deduction, i.e. a fee, never exchange margin.
        before = Money.zero(a)
        after = rf_a + rf_b + im_a + im_b
        expected = sent
        margin = Money.zero(b)
        unexplained = sent - after - received
        receiver_fees_eur = value.eur(rf_a + rf_b, received_on)
        intermediary_eur = value.eur(im_a + im_b, received_on)
        unexplained_eur = value.eur(unexplained, received_on)
    else:
        before = rf_a + im_a
        after = rf_b + im_b
        if before > sent:
            raise TransferFactsError(f"deductions of {before} are larger than the {sent} sent")
        expected = value.convert(sent - before, b, sent_on)
        margin = expected - after - received
        unexplained = Money.zero(b)
        receiver_fees_eur = value.eur(rf_a, sent_on) + value.eur(rf_b, received_on)
        intermediary_eur = value.eur(im_a, sent_on) + value.eur(im_b, received_on)
        unexplained_eur = Money.zero(EUR)

    fees_eur = sender_fees_eur + receiver_fees_eur + intermediary_eur + unexplained_eur
    exchange_eur = loss_eur - fees_eur

    notes: list[str] = []
    if facts.charge_bearer == "OUR" and (before or after):
        notes.append(
            "charge bearer OUR: the sender pays every charge, yet charges were deducted on the way"
        )
    if facts.charge_bearer == "BEN" and sender_fees:
        notes.append(
            f"charge bearer BEN: the beneficiary pays every charge, "
            f"yet the sender paid {sender_fees}"
        )

    return TransferLoss(
        sent_currency=a,
        received_currency=b,
        value_sent_eur=value_sent_eur,
        value_received_eur=value_received_eur,
        loss_eur=loss_eur,
        fees_eur=fees_eur,
        exchange_eur=exchange_eur,
        sender_fees_eur=sender_fees_eur,
        receiver_fees_eur=receiver_fees_eur,
        intermediary_eur=intermediary_eur,
        unexplained_eur=unexplained_eur,
        deducted_before_conversion=before,
        deducted_after_conversion=after,
        expected_received=expected,
        exchange_margin=margin,
        unexplained=unexplained,
        fee_ratio=_ratio(fees_eur, value_sent_eur),
        exchange_ratio=_ratio(exchange_eur, value_sent_eur),
        days_in_transit=(received_on - sent_on).days,
        rates_used=tuple(sorted(value.used.values(), key=lambda r: (r.currency, r.date))),
        notes=tuple(notes),
    )


# -- postings ------------------------------------------------------------------


def _keep(postings: Iterable[PostingDraft]) -> tuple[PostingDraft, ...]:
    """Drop zero legs: a zero fee or margin is not worth a line in the journal."""
    return tuple(p for p in postings if p.amount.minor != 0)


def send_postings(
    facts: TransferFacts,
    sender_account: str,
    *,
    fees_paid_from: str | None = None,
    accounts: TransferAccounts = DEFAULT_ACCOUNTS,
) -> tuple[PostingDraft, ...]:
    """Postings of the send entry (debit > 0): the money leaves the sender's bank
    for ``Assets:In transit:<A>`` and the sender's fees are a loss at once.

    ``Dr In transit:A (sent)``, ``Dr Transfer loss:Fees:<fee currency> (fees)``,
    ``Cr sender_account (sent + fees)``.  Fees debited from another account, or
    in another currency, need ``fees_paid_from`` (the account they left).
    """
    a = facts.sent.currency
    fees = facts.sender_fees_or_zero
    legs = [
        PostingDraft(accounts.transit_account(a), facts.sent),
        PostingDraft(accounts.loss_account("fees", fees.currency), fees),
    ]
    if fees_paid_from is None or not fees:
        if fees and fees.currency != a:
            raise TransferFactsError(
                f"the sender's fees are in {fees.currency} and the transfer in {a}: "
                "say which account the fees were paid from"
            )
        total = facts.sent + fees if fees else facts.sent
        legs.append(PostingDraft(sender_account, -total))
    else:
        legs.append(PostingDraft(sender_account, -facts.sent))
        legs.append(PostingDraft(fees_paid_from, -fees))
    return _keep(legs)


def settlement_postings(
    facts: TransferFacts,
    loss: TransferLoss,
    receiver_account: str,
    *,
    accounts: TransferAccounts = DEFAULT_ACCOUNTS,
) -> tuple[PostingDraft, ...]:
    """Postings of the receive entry (debit > 0), balanced in each currency.

    Across currencies (A → B), through the trading accounts::

        A: Cr In transit:A (sent)     Dr Transfer loss:Fees:A (deductions in A)
           Dr Trading:A (sent − deductions in A)
        B: Dr receiver_account (received)   Dr Transfer loss:Fees:B (deductions in B)
           Dr Transfer loss:Exchange:B (margin; negative = a gain, i.e. a credit)
           Cr Trading:B (expected received)

    Same currency: ``Cr In transit:A (sent)``, ``Dr receiver_account
    (received)``, ``Dr Transfer loss:Fees:A (sent − received)``.
    ``loss`` must come from :func:`compute_loss` on these ``facts``.
    """
    if facts.received is None:
        raise TransferPendingError("nothing has been received to settle")
    a, b = facts.sent.currency, facts.received.currency
    if (loss.sent_currency, loss.received_currency) != (a, b):
        raise TransferFactsError(
            f"this loss was measured for {loss.sent_currency} → {loss.received_currency}, "
            f"not for {a} → {b}"
        )
    transit = PostingDraft(accounts.transit_account(a), -facts.sent)
    arrived = PostingDraft(receiver_account, facts.received)
    if a == b:
        return _keep(
            [
                transit,
                arrived,
                PostingDraft(accounts.loss_account("fees", a), facts.sent - facts.received),
            ]
        )
    before = loss.deducted_before_conversion
    return _keep(
        [
            transit,
            PostingDraft(accounts.loss_account("fees", a), before),
            PostingDraft(accounts.trading_account(a), facts.sent - before),
            arrived,
            PostingDraft(accounts.loss_account("fees", b), loss.deducted_after_conversion),
            PostingDraft(accounts.loss_account("exchange", b), loss.exchange_margin),
            PostingDraft(accounts.trading_account(b), -loss.expected_received),
        ]
    )


def void_postings(
    facts: TransferFacts,
    sender_account: str,
    *,
    accounts: TransferAccounts = DEFAULT_ACCOUNTS,
) -> tuple[PostingDraft, ...]:
    """Postings of a void (the money came back): ``Dr sender_account (sent)``,
    ``Cr In transit:A (sent)``.

    The sender's fees are not reversed: the bank kept them, so they stay a loss.
    If the bank returns less than was sent, record the return as a settlement
    back into the sender's account instead, so the difference is measured.
    """
    return (
        PostingDraft(sender_account, facts.sent),
        PostingDraft(accounts.transit_account(facts.sent.currency), -facts.sent),
    )


def accounts_to_open(
    postings: Iterable[PostingDraft], accounts: TransferAccounts = DEFAULT_ACCOUNTS
) -> list[tuple[str, str, str]]:
    """``(code, type, currency)`` of the transit, trading and loss accounts among
    ``postings`` (types as :class:`ledger.domain.AccountType` values: "asset",
    "equity", "expense"), in first-use order; bank accounts are the caller's."""
    kinds = (
        (accounts.transit, "asset"),
        (accounts.trading, "equity"),
        (accounts.fees, "expense"),
        (accounts.exchange, "expense"),
    )
    out: dict[str, tuple[str, str, str]] = {}
    for p in postings:
        prefix, _, currency = p.account.rpartition(":")
        for root, kind in kinds:
            if prefix == root and currency == p.amount.currency and p.account not in out:
                out[p.account] = (p.account, kind, currency)
    return list(out.values())


def sums_by_currency(postings: Iterable[PostingDraft]) -> dict[str, Money]:
    """Total of ``postings`` per currency (all zero for a balanced entry)."""
    totals: dict[str, Money] = {}
    for p in postings:
        cur = p.amount.currency
        totals[cur] = totals[cur] + p.amount if cur in totals else p.amount
    return totals
