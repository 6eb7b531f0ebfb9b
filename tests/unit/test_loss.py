"""Transfer loss: the worked example CSQ (CAD) → Network (EUR) → Burkina mutual (XOF),
checked to the cent and to the franc, and the postings that record it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ledger.domain import PostingDraft
from ledger.errors import InvalidInputError
from ledger.loss import (
    TransferAccounts,
    TransferFacts,
    TransferFactsError,
    TransferPendingError,
    accounts_to_open,
    compute_loss,
    loss_account,
    send_postings,
    settlement_postings,
    sums_by_currency,
    void_postings,
)
from ledger.money import Money
from ledger.rates import RateStaleError, RateTable


def m(amount: str, currency: str) -> Money:
    return Money.of(amount, currency)


def P(account: str, amount: str, currency: str) -> PostingDraft:
    return PostingDraft(account, m(amount, currency))


# Made-up but plausible reference rates (units per EUR).
RATES = RateTable.from_rows(
    [
        (date(2026, 3, 2), "CAD", Decimal("1.4850")),
        (date(2026, 3, 4), "CAD", Decimal("1.4870")),
        (date(2026, 3, 2), "MAD", Decimal("10.8000")),
        (date(2026, 3, 6), "MAD", Decimal("10.9000")),
    ]
)

CSQ_BANK = "Assets:Bank:CSQ:CAD"
NETWORK_BANK = "Assets:Bank:Network:EUR"
MUTUAL_BANK = "Assets:Bank:MUTEB:XOF"


# -- hop 1: CSQ, CAD → Network, EUR --------------------------------------------------

HOP1 = TransferFacts(
    sent=m("10000.00", "CAD"),
    sender_fees=m("25.00", "CAD"),
    send_date=date(2026, 3, 2),
    received=m("6702.18", "EUR"),
    receive_date=date(2026, 3, 4),
    charge_bearer="OUR",
)


def test_hop_one_cad_to_eur_loss_and_split_to_the_cent() -> None:
    """CSQ sends CAD 10,000.00 on 2026-03-02 (1.4850 CAD per EUR); its bank charges
    CAD 25.00 and converts; the Network receives EUR 6,702.18 on 2026-03-04.

    Each amount is converted once, half-even to the cent:
      sent          10,000.00 / 1.4850 = 6,734.006734… → 6,734.01 EUR
      sender fees       25.00 / 1.4850 =    16.835016… →    16.84 EUR
      value sent    6,734.01 + 16.84                   = 6,750.85 EUR
      value received (already EUR)                     = 6,702.18 EUR
      loss          6,750.85 − 6,702.18                =    48.67 EUR
      fees          the sender's 16.84                 =    16.84 EUR
      exchange      48.67 − 16.84                      =    31.83 EUR
    In the receiving currency: expected = 10,000.00 CAD at the send date's rate
    = 6,734.01 EUR; margin = 6,734.01 − 6,702.18 = 31.83 EUR, the same figure.
    The receive date's CAD rate (1.4870) plays no part: nothing in CAD is valued
    on that date.  Ratios: 1,684 / 675,085 = 0.0024945… → 0.002495;
    3,183 / 675,085 = 0.0047149… → 0.004715.
    """
    loss = compute_loss(HOP1, RATES)
    assert loss.value_sent_eur == m("6750.85", "EUR")
    assert loss.value_received_eur == m("6702.18", "EUR")
    assert loss.loss_eur == m("48.67", "EUR")
    assert loss.fees_eur == m("16.84", "EUR")
    assert loss.sender_fees_eur == m("16.84", "EUR")
    assert loss.receiver_fees_eur == m("0.00", "EUR")
    assert loss.intermediary_eur == m("0.00", "EUR")
    assert loss.exchange_eur == m("31.83", "EUR")
    assert loss.expected_received == m("6734.01", "EUR")
    assert loss.exchange_margin == m("31.83", "EUR")
    assert loss.deducted_before_conversion == m("0", "CAD")
    assert loss.deducted_after_conversion == m("0", "EUR")
    assert loss.fee_ratio == Decimal("0.002495")
    assert loss.exchange_ratio == Decimal("0.004715")
    assert loss.loss_ratio == Decimal("0.007209")  # 4,867 / 675,085 = 0.0072094…
    assert loss.days_in_transit == 2
    assert loss.notes == ()
    assert [(r.currency, r.date, r.per_eur) for r in loss.rates_used] == [
        ("CAD", date(2026, 3, 2), Decimal("1.4850")),
    ]


def test_hop_one_postings_balance_cad_and_eur_through_the_trading_accounts() -> None:
    loss = compute_loss(HOP1, RATES)
    send = send_postings(HOP1, CSQ_BANK)
    assert send == (
        P("Assets:In transit:CAD", "10000.00", "CAD"),
        P("Expenses:Transfer loss:Fees:CAD", "25.00", "CAD"),
        P(CSQ_BANK, "-10025.00", "CAD"),
    )
    receive = settlement_postings(HOP1, loss, NETWORK_BANK)
    assert receive == (
        P("Assets:In transit:CAD", "-10000.00", "CAD"),
        P("Equity:Trading:CAD", "10000.00", "CAD"),
        P(NETWORK_BANK, "6702.18", "EUR"),
        P("Expenses:Transfer loss:Exchange:EUR", "31.83", "EUR"),
        P("Equity:Trading:EUR", "-6734.01", "EUR"),
    )
    assert sums_by_currency(send) == {"CAD": m("0", "CAD")}
    assert sums_by_currency(receive) == {"CAD": m("0", "CAD"), "EUR": m("0", "EUR")}


# -- hop 2: Network, EUR → Burkina mutual, XOF ----------------------------------------

HOP2 = TransferFacts(
    sent=m("6700.00", "EUR"),
    sender_fees=m("15.00", "EUR"),
    send_date=date(2026, 3, 5),
    intermediary_deductions=m("20.00", "EUR"),
    receiver_fees=m("5000", "XOF"),
    received=m("4370000", "XOF"),
    receive_date=date(2026, 3, 9),
    charge_bearer="SHA",
)


def test_hop_two_eur_to_xof_loss_and_split_to_the_franc() -> None:
    """The Network sends EUR 6,700.00 SHA on 2026-03-05 and pays EUR 15.00; a
    correspondent bank keeps EUR 20.00; the mutual's bank states a XOF 5,000 fee
    and credits XOF 4,370,000 on 2026-03-09.  XOF is at the fixed parity 655.957.

    In XOF:
      expected   (6,700.00 − 20.00) × 655.957 = 4,381,792.76 → 4,381,793 XOF
      margin     4,381,793 − 5,000 − 4,370,000              =     6,793 XOF
    In EUR:
      value sent      6,700.00 + 15.00                       = 6,715.00
      value received  4,370,000 / 655.957 = 6,662.022053…    → 6,662.02
      loss            6,715.00 − 6,662.02                    =    52.98
      fees            15.00 + 20.00 + 5,000 / 655.957 (7.6224… → 7.62) = 42.62
      exchange        52.98 − 42.62                          =    10.36
    (6,793 XOF / 655.957 = 10.3558… → 10.36: the margin and the EUR figure agree.)
    Every franc of the margin is bank margin: the parity leaves no room for a
    market move.  Ratios: 4,262 / 671,500 → 0.006347; 1,036 / 671,500 → 0.001543.
    """
    loss = compute_loss(HOP2, RATES)
    assert loss.expected_received == m("4381793", "XOF")
    assert loss.exchange_margin == m("6793", "XOF")
    assert loss.deducted_before_conversion == m("20.00", "EUR")
    assert loss.deducted_after_conversion == m("5000", "XOF")
    assert loss.value_sent_eur == m("6715.00", "EUR")
    assert loss.value_received_eur == m("6662.02", "EUR")
    assert loss.loss_eur == m("52.98", "EUR")
    assert loss.sender_fees_eur == m("15.00", "EUR")
    assert loss.intermediary_eur == m("20.00", "EUR")
    assert loss.receiver_fees_eur == m("7.62", "EUR")
    assert loss.fees_eur == m("42.62", "EUR")
    assert loss.exchange_eur == m("10.36", "EUR")
    assert loss.fee_ratio == Decimal("0.006347")
    assert loss.exchange_ratio == Decimal("0.001543")
    assert loss.days_in_transit == 4
    assert loss.unexplained == m("0", "XOF")


def test_hop_two_postings_record_fees_in_each_currency_and_the_margin_in_francs() -> None:
    loss = compute_loss(HOP2, RATES)
    send = send_postings(HOP2, NETWORK_BANK)
    assert send == (
        P("Assets:In transit:EUR", "6700.00", "EUR"),
        P("Expenses:Transfer loss:Fees:EUR", "15.00", "EUR"),
        P(NETWORK_BANK, "-6715.00", "EUR"),
    )
    receive = settlement_postings(HOP2, loss, MUTUAL_BANK)
    assert receive == (
        P("Assets:In transit:EUR", "-6700.00", "EUR"),
        P("Expenses:Transfer loss:Fees:EUR", "20.00", "EUR"),
        P("Equity:Trading:EUR", "6680.00", "EUR"),
        P(MUTUAL_BANK, "4370000", "XOF"),
        P("Expenses:Transfer loss:Fees:XOF", "5000", "XOF"),
        P("Expenses:Transfer loss:Exchange:XOF", "6793", "XOF"),
        P("Equity:Trading:XOF", "-4381793", "XOF"),
    )
    assert sums_by_currency(receive) == {"EUR": m("0", "EUR"), "XOF": m("0", "XOF")}


def test_the_whole_chain_costs_the_sum_of_its_hops() -> None:
    hops = [compute_loss(HOP1, RATES), compute_loss(HOP2, RATES)]
    total = sum((h.loss_eur for h in hops), m("0", "EUR"))
    assert total == m("101.65", "EUR")  # 48.67 + 52.98
    assert sum((h.fees_eur for h in hops), m("0", "EUR")) == m("59.46", "EUR")
    assert sum((h.exchange_eur for h in hops), m("0", "EUR")) == m("42.19", "EUR")


# -- zero loss and gains ----------------------------------------------------------------


def test_a_transfer_at_parity_without_fees_loses_nothing() -> None:
    """EUR 1,000.00 × 655.957 = XOF 655,957 exactly; 655,957 / 655.957 = 1,000.00."""
    facts = TransferFacts(
        sent=m("1000.00", "EUR"),
        send_date=date(2026, 3, 5),
        received=m("655957", "XOF"),
        receive_date=date(2026, 3, 6),
    )
    loss = compute_loss(facts, RATES)
    assert loss.expected_received == m("655957", "XOF")
    assert loss.exchange_margin == m("0", "XOF")
    assert (loss.loss_eur, loss.fees_eur, loss.exchange_eur) == (
        m("0", "EUR"),
        m("0", "EUR"),
        m("0", "EUR"),
    )
    assert loss.fee_ratio == Decimal(0) and loss.exchange_ratio == Decimal(0)
    assert settlement_postings(facts, loss, MUTUAL_BANK) == (
        P("Assets:In transit:EUR", "-1000.00", "EUR"),
        P("Equity:Trading:EUR", "1000.00", "EUR"),
        P(MUTUAL_BANK, "655957", "XOF"),
        P("Equity:Trading:XOF", "-655957", "XOF"),
    )


def test_more_francs_than_the_parity_is_a_gain_credited_to_exchange() -> None:
    facts = TransferFacts(
        sent=m("1000.00", "EUR"),
        send_date=date(2026, 3, 5),
        received=m("656000", "XOF"),
        receive_date=date(2026, 3, 6),
    )
    loss = compute_loss(facts, RATES)
    assert loss.exchange_margin == m("-43", "XOF")
    assert loss.loss_eur == m("-0.07", "EUR")  # 656,000 / 655.957 = 1,000.0656 → 1,000.07
    assert loss.exchange_eur == m("-0.07", "EUR")
    postings = settlement_postings(facts, loss, MUTUAL_BANK)
    assert P("Expenses:Transfer loss:Exchange:XOF", "-43", "XOF") in postings


# -- same currency -----------------------------------------------------------------------


def test_a_same_currency_difference_nobody_explained_is_a_fee_not_exchange() -> None:
    facts = TransferFacts(
        sent=m("5000.00", "EUR"),
        sender_fees=m("3.50", "EUR"),
        send_date=date(2026, 3, 2),
        receiver_fees=m("2.00", "EUR"),
        received=m("4985.00", "EUR"),
        receive_date=date(2026, 3, 3),
    )
    loss = compute_loss(facts, RATES)
    assert loss.unexplained == m("13.00", "EUR")  # 5,000 − 2 − 4,985
    assert loss.unexplained_eur == m("13.00", "EUR")
    assert loss.loss_eur == m("18.50", "EUR")
    assert loss.fees_eur == m("18.50", "EUR")
    assert loss.exchange_eur == m("0.00", "EUR")
    assert loss.exchange_margin == m("0.00", "EUR")
    assert settlement_postings(facts, loss, NETWORK_BANK) == (
        P("Assets:In transit:EUR", "-5000.00", "EUR"),
        P(NETWORK_BANK, "4985.00", "EUR"),
        P("Expenses:Transfer loss:Fees:EUR", "15.00", "EUR"),
    )


def test_a_same_currency_transfer_measures_the_rate_move_in_transit_as_exchange() -> None:
    """MAD 10,800.00 sent at 10.80 (1,000.00 EUR) arrives whole when MAD is at
    10.90: 10,800 / 10.90 = 990.83 EUR.  Nothing was taken, so no fee: the
    9.17 EUR is the reference rate's move while the money travelled."""
    facts = TransferFacts(
        sent=m("10800.00", "MAD"),
        send_date=date(2026, 3, 2),
        received=m("10800.00", "MAD"),
        receive_date=date(2026, 3, 6),
    )
    loss = compute_loss(facts, RATES)
    assert loss.loss_eur == m("9.17", "EUR")
    assert loss.fees_eur == m("0.00", "EUR")
    assert loss.exchange_eur == m("9.17", "EUR")
    postings = settlement_postings(facts, loss, "Assets:Bank:MGPAP:MAD")
    assert postings == (
        P("Assets:In transit:MAD", "-10800.00", "MAD"),
        P("Assets:Bank:MGPAP:MAD", "10800.00", "MAD"),
    )


# -- refusals -----------------------------------------------------------------------------


def test_a_stale_rate_is_refused_rather_than_guessed() -> None:
    rates = RateTable.from_rows([(date(2026, 2, 1), "CAD", Decimal("1.4700"))])
    with pytest.raises(RateStaleError) as err:
        compute_loss(HOP1, rates)
    assert str(err.value) == (
        "the latest reference rate for CAD before 2026-03-02 is from 2026-02-01 "
        "(29 days old, the maximum is 7)"
    )
    assert compute_loss(HOP1, rates, max_age_days=30).value_sent_eur == m("6819.73", "EUR")


def test_a_transfer_still_in_transit_has_no_loss_yet() -> None:
    pending = TransferFacts(sent=m("100.00", "EUR"), send_date=date(2026, 3, 2))
    assert pending.is_pending
    with pytest.raises(TransferPendingError):
        compute_loss(pending, RATES)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sent": Money.of("0", "EUR")}, "amount sent must be positive"),
        ({"sender_fees": Money.of("-1", "EUR")}, "sender fees cannot be negative"),
        ({"charge_bearer": "ALL"}, "charge bearer must be OUR, SHA or BEN"),
        ({"receive_date": None}, "needs its date"),
        ({"receive_date": date(2026, 3, 1)}, "before it was sent"),
        ({"receiver_fees": Money.of("1", "USD")}, "receiver fees must be in EUR or XOF"),
    ],
)
def test_facts_that_contradict_each_other_are_refused(changes: dict, message: str) -> None:
    fields = {
        "sent": m("100.00", "EUR"),
        "send_date": date(2026, 3, 2),
        "received": m("65000", "XOF"),
        "receive_date": date(2026, 3, 3),
    }
    fields.update(changes)
    with pytest.raises(TransferFactsError, match=message) as err:
        TransferFacts(**fields)
    assert isinstance(err.value, InvalidInputError)


def test_deductions_larger_than_the_amount_sent_are_refused() -> None:
    facts = TransferFacts(
        sent=m("10.00", "EUR"),
        send_date=date(2026, 3, 2),
        intermediary_deductions=m("12.00", "EUR"),
        received=m("0", "XOF"),
        receive_date=date(2026, 3, 3),
    )
    with pytest.raises(TransferFactsError, match="larger than"):
        compute_loss(facts, RATES)


def test_the_charge_bearer_is_normalised() -> None:
    facts = TransferFacts(sent=m("1", "EUR"), send_date=date(2026, 3, 2), charge_bearer=" our ")
    assert facts.charge_bearer == "OUR"


# -- charge bearer notes ------------------------------------------------------------------


def test_charges_deducted_on_the_way_under_our_are_noted() -> None:
    facts = TransferFacts(
        sent=m("1000.00", "EUR"),
        send_date=date(2026, 3, 5),
        intermediary_deductions=m("10.00", "EUR"),
        received=m("649397", "XOF"),
        receive_date=date(2026, 3, 6),
        charge_bearer="OUR",
    )
    loss = compute_loss(facts, RATES)
    assert loss.exchange_margin == m("0", "XOF")  # 990.00 × 655.957 = 649,397.43 → 649,397
    assert loss.notes == (
        "charge bearer OUR: the sender pays every charge, yet charges were deducted on the way",
    )


def test_sender_fees_under_ben_are_noted() -> None:
    facts = TransferFacts(
        sent=m("1000.00", "EUR"),
        sender_fees=m("5.00", "EUR"),
        send_date=date(2026, 3, 5),
        received=m("655957", "XOF"),
        receive_date=date(2026, 3, 5),
        charge_bearer="BEN",
    )
    loss = compute_loss(facts, RATES)
    assert loss.days_in_transit == 0
    assert loss.notes == (
        "charge bearer BEN: the beneficiary pays every charge, yet the sender paid 5.00 EUR",
    )


# -- send, void and account names ------------------------------------------------------------


def test_fees_in_another_currency_need_the_account_they_were_paid_from() -> None:
    facts = TransferFacts(
        sent=m("10000.00", "CAD"), sender_fees=m("12.00", "EUR"), send_date=date(2026, 3, 2)
    )
    with pytest.raises(TransferFactsError, match="which account the fees were paid from"):
        send_postings(facts, CSQ_BANK)
    postings = send_postings(facts, CSQ_BANK, fees_paid_from="Assets:Bank:CSQ:EUR")
    assert postings == (
        P("Assets:In transit:CAD", "10000.00", "CAD"),
        P("Expenses:Transfer loss:Fees:EUR", "12.00", "EUR"),
        P(CSQ_BANK, "-10000.00", "CAD"),
        P("Assets:Bank:CSQ:EUR", "-12.00", "EUR"),
    )
    assert all(total.minor == 0 for total in sums_by_currency(postings).values())


def test_a_send_without_fees_has_two_legs() -> None:
    facts = TransferFacts(sent=m("100.00", "EUR"), send_date=date(2026, 3, 2))
    assert send_postings(facts, NETWORK_BANK) == (
        P("Assets:In transit:EUR", "100.00", "EUR"),
        P(NETWORK_BANK, "-100.00", "EUR"),
    )


def test_a_void_returns_the_amount_sent_and_leaves_the_fees_as_a_loss() -> None:
    assert void_postings(HOP1, CSQ_BANK) == (
        P(CSQ_BANK, "10000.00", "CAD"),
        P("Assets:In transit:CAD", "-10000.00", "CAD"),
    )


def test_loss_accounts_are_named_per_kind_and_currency() -> None:
    assert loss_account("fees", "xof") == "Expenses:Transfer loss:Fees:XOF"
    assert loss_account("exchange", "EUR") == "Expenses:Transfer loss:Exchange:EUR"
    with pytest.raises(ValueError):
        loss_account("tax", "EUR")


def test_account_names_are_parameters() -> None:
    names = TransferAccounts(
        transit="Actif:En transit",
        trading="Capitaux:Change",
        fees="Charges:Pertes:Frais",
        exchange="Charges:Pertes:Change",
    )
    loss = compute_loss(HOP2, RATES)
    postings = settlement_postings(HOP2, loss, MUTUAL_BANK, accounts=names)
    assert [p.account for p in postings] == [
        "Actif:En transit:EUR",
        "Charges:Pertes:Frais:EUR",
        "Capitaux:Change:EUR",
        MUTUAL_BANK,
        "Charges:Pertes:Frais:XOF",
        "Charges:Pertes:Change:XOF",
        "Capitaux:Change:XOF",
    ]


def test_a_loss_measured_for_other_facts_cannot_settle_these() -> None:
    with pytest.raises(TransferFactsError, match="measured for EUR → XOF"):
        settlement_postings(HOP1, compute_loss(HOP2, RATES), NETWORK_BANK)


def test_a_zero_fee_in_an_unquoted_currency_needs_no_rate() -> None:
    facts = TransferFacts(
        sent=m("1000.00", "EUR"),
        sender_fees=m("0", "USD"),
        send_date=date(2026, 3, 5),
        received=m("655957", "XOF"),
        receive_date=date(2026, 3, 6),
    )
    assert compute_loss(facts, RateTable()).loss_eur == m("0.00", "EUR")


def test_the_accounts_a_settlement_needs_are_listed_with_their_type_and_currency() -> None:
    postings = settlement_postings(HOP2, compute_loss(HOP2, RATES), MUTUAL_BANK)
    assert accounts_to_open(postings) == [
        ("Assets:In transit:EUR", "asset", "EUR"),
        ("Expenses:Transfer loss:Fees:EUR", "expense", "EUR"),
        ("Equity:Trading:EUR", "equity", "EUR"),
        ("Expenses:Transfer loss:Fees:XOF", "expense", "XOF"),
        ("Expenses:Transfer loss:Exchange:XOF", "expense", "XOF"),
        ("Equity:Trading:XOF", "equity", "XOF"),
    ]
