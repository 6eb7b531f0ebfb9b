"""Properties of transfer loss and reference-rate look-up, for any transfer."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ledger.loss import (
    TransferFacts,
    compute_loss,
    send_postings,
    settlement_postings,
    sums_by_currency,
    void_postings,
)
from ledger.money import Money
from ledger.rates import RateMissingError, RateStaleError, RateTable

CURRENCIES = ["EUR", "CAD", "USD", "JPY", "XOF", "MAD", "KWD", "SEK"]
FLOATING = [c for c in CURRENCIES if c not in {"EUR", "XOF"}]
SEND_DAY = date(2026, 3, 2)

rates_st = st.decimals(
    min_value=Decimal("0.001"), max_value=Decimal(20000), places=4, allow_nan=False
).filter(lambda d: d > 0)


@st.composite
def rate_tables(draw: st.DrawFn) -> RateTable:
    """Each floating currency quoted on the send date and five days later, so every
    receive date up to ten days on finds a rate at most five days old."""
    rows = []
    for code in FLOATING:
        for offset in (0, 5):
            rows.append((SEND_DAY + timedelta(days=offset), code, draw(rates_st)))
    return RateTable.from_rows(rows)


def money(currency: str, max_major: int = 10**7) -> st.SearchStrategy[Money]:
    digits = {"JPY": 0, "XOF": 0, "KWD": 3}.get(currency, 2)
    return st.integers(min_value=0, max_value=max_major * 10**digits).map(
        lambda minor: Money(minor, currency)
    )


@st.composite
def transfers(draw: st.DrawFn) -> TransferFacts:
    a = draw(st.sampled_from(CURRENCIES))
    b = draw(st.sampled_from(CURRENCIES))
    sent = draw(money(a).filter(lambda x: x.minor > 0))
    fee_currency = draw(st.sampled_from([a, "EUR"]))
    sender_fees = draw(st.none() | money(fee_currency, 1000))
    received = draw(money(b))
    receiver_fees = draw(st.none() | money(draw(st.sampled_from([a, b])), 1000))
    intermediary = draw(st.none() | money(draw(st.sampled_from([a, b])), 1000))
    deducted_in_a = sum(
        x.minor for x in (receiver_fees, intermediary) if x is not None and x.currency == a
    )
    assume(a == b or deducted_in_a <= sent.minor)
    return TransferFacts(
        sent=sent,
        sender_fees=sender_fees,
        send_date=SEND_DAY,
        received=received,
        receive_date=SEND_DAY + timedelta(days=draw(st.integers(0, 10))),
        receiver_fees=receiver_fees,
        intermediary_deductions=intermediary,
        charge_bearer=draw(st.sampled_from(["OUR", "SHA", "BEN"])),
    )


def balanced(postings: tuple) -> bool:
    return all(total.minor == 0 for total in sums_by_currency(postings).values())


@settings(max_examples=200, deadline=None)
@given(facts=transfers(), rates=rate_tables())
def test_fees_and_exchange_add_up_to_the_loss_exactly(
    facts: TransferFacts, rates: RateTable
) -> None:
    loss = compute_loss(facts, rates)
    assert loss.fees_eur + loss.exchange_eur == loss.loss_eur
    assert loss.value_sent_eur - loss.loss_eur == loss.value_received_eur
    assert loss.fees_eur == (
        loss.sender_fees_eur + loss.receiver_fees_eur + loss.intermediary_eur + loss.unexplained_eur
    )
    assert {m.currency for m in (loss.loss_eur, loss.fees_eur, loss.exchange_eur)} == {"EUR"}


@settings(max_examples=200, deadline=None)
@given(facts=transfers(), rates=rate_tables())
def test_every_entry_of_a_transfer_balances_in_every_currency(
    facts: TransferFacts, rates: RateTable
) -> None:
    loss = compute_loss(facts, rates)
    fees = facts.sender_fees_or_zero
    paid_from = None if fees.currency == facts.sent.currency else "Assets:Bank:Fees:EUR"
    assert balanced(send_postings(facts, "Assets:Bank:Sender", fees_paid_from=paid_from))
    settlement = settlement_postings(facts, loss, "Assets:Bank:Receiver")
    assert balanced(settlement)
    assert len(settlement) >= 2
    assert balanced(void_postings(facts, "Assets:Bank:Sender"))


@settings(max_examples=200, deadline=None)
@given(facts=transfers(), rates=rate_tables())
def test_the_receiving_side_accounts_for_every_unit_expected(
    facts: TransferFacts, rates: RateTable
) -> None:
    loss = compute_loss(facts, rates)
    assert facts.received is not None
    assert (
        facts.received + loss.deducted_after_conversion + loss.exchange_margin + loss.unexplained
        == loss.expected_received
    )
    if loss.same_currency:
        assert loss.exchange_margin.minor == 0
    else:
        assert loss.unexplained.minor == 0


@settings(max_examples=200, deadline=None)
@given(minor=st.integers(min_value=1, max_value=10**13), days=st.integers(0, 30))
def test_euros_sent_to_a_cfa_franc_account_at_parity_lose_nothing(minor: int, days: int) -> None:
    rates = RateTable()
    sent = Money(minor, "EUR")
    at_parity = rates.convert(sent, "XOF", SEND_DAY)
    facts = TransferFacts(
        sent=sent,
        send_date=SEND_DAY,
        received=at_parity,
        receive_date=SEND_DAY + timedelta(days=days),
    )
    loss = compute_loss(facts, rates)
    assert loss.loss_eur.minor == 0
    assert loss.exchange_margin.minor == 0
    assert rates.to_eur(at_parity, SEND_DAY) == sent


@settings(max_examples=200, deadline=None)
@given(
    sent=st.integers(1, 10**10),
    lost=st.integers(0, 10**6),
    stated=st.integers(0, 10**6),
    days=st.integers(0, 10),
)
def test_a_euro_to_euro_transfer_never_shows_exchange(
    sent: int, lost: int, stated: int, days: int
) -> None:
    facts = TransferFacts(
        sent=Money(sent, "EUR"),
        send_date=SEND_DAY,
        receiver_fees=Money(stated, "EUR"),
        received=Money(max(sent - lost - stated, 0), "EUR"),
        receive_date=SEND_DAY + timedelta(days=days),
    )
    loss = compute_loss(facts, RateTable())
    assert loss.exchange_eur.minor == 0
    assert loss.fees_eur == loss.loss_eur


@settings(max_examples=200, deadline=None)
@given(
    quoted=st.lists(st.tuples(st.integers(0, 60), rates_st), min_size=0, max_size=20),
    asked=st.integers(-5, 70),
    max_age=st.integers(0, 20),
)
def test_a_lookup_is_the_latest_rate_on_or_before_the_date_within_its_age(
    quoted: list[tuple[int, Decimal]], asked: int, max_age: int
) -> None:
    start = date(2026, 1, 1)
    rows = [(start + timedelta(days=d), "CAD", r) for d, r in quoted]
    table = RateTable.from_rows(rows)
    on = start + timedelta(days=asked)
    latest: dict[int, Decimal] = {}
    for d, r in quoted:
        latest[d] = r  # a later row for the same day wins
    candidates = [d for d in latest if d <= asked]
    if not candidates:
        try:
            table.per_eur("CAD", on, max_age)
        except RateMissingError:
            return
        raise AssertionError("a rate was found where none exists")
    best = max(candidates)
    if asked - best > max_age:
        try:
            table.per_eur("CAD", on, max_age)
        except RateStaleError as err:
            assert err.age_days == asked - best
            return
        raise AssertionError("a stale rate was accepted")
    assert table.per_eur("CAD", on, max_age) == latest[best]
