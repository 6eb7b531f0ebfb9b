"""Transfers, rates, pledges and earmarking against the database (SQLite and PostgreSQL).

The worked example is the one of tests/unit/test_loss.py: CSQ sends CAD 10,000.00
to the Network, which forwards EUR 6,700.00 to the Burkina mutual in XOF.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, insert, select

from ledger import journal, orgs
from ledger.db import unit_of_work
from ledger.domain import EntryDraft, PostingDraft
from ledger.errors import AlreadyExistsError, InvalidInputError, LedgerError
from ledger.flows import OTHER_FUNDS, apportion, compute_contributions, compute_flows
from ledger.gate import GateVerdict, IneligibleError, allow_all
from ledger.money import Money
from ledger.pledges import add_pledge, list_pledges
from ledger.rates import RateStaleError
from ledger.rates_store import RatesRefused, import_rate_files, list_rates, rate_on
from ledger.tables import (
    BankImport,
    BankStatement,
    EligibilityOverride,
    StatementLine,
    Transfer,
)
from ledger.transfers import (
    get_transfer,
    list_transfers,
    receive_transfer,
    send_transfer,
    void_transfer,
)

CSQ_BANK = "Assets:Bank:CSQ:CAD"
NETWORK_BANK = "Assets:Bank:Network:EUR"
MUTEB_BANK = "Assets:Bank:MUTEB:XOF"


def m(amount: str, cur: str) -> Money:
    return Money.of(amount, cur)


def chart(conn: Connection) -> None:
    """CSQ (CAD), two euro unions, the Network and the Burkina mutual."""
    orgs.add_org(conn, "CSQ", "union", "CA", "CAD", 48_000, "2026")
    orgs.add_org(conn, "SNES", "union", "FR", "EUR", 1_000, "2026")
    orgs.add_org(conn, "FNEC", "union", "FR", "EUR", 2_000, "2026")
    orgs.add_org(conn, "Network", "network", "FR", "EUR")
    orgs.add_org(conn, "MUTEB", "mutual", "BF", "XOF", 9_500, "2026")
    for name, cur in (("CSQ", "CAD"), ("SNES", "EUR"), ("FNEC", "EUR"), ("Network", "EUR"),
                      ("MUTEB", "XOF")):
        orgs.add_account(conn, f"Assets:Bank:{name}:{cur}", "asset", cur, org=name)
    for name, cur in (("CSQ", "CAD"), ("SNES", "EUR"), ("FNEC", "EUR")):
        orgs.add_account(conn, f"Income:Contributions:{name}", "income", cur, org=name)


def contribute(conn: Connection, union: str, cur: str, on: date, amount: str) -> None:
    money = m(amount, cur)
    journal.post(conn, EntryDraft(on, f"{union} contribution", (
        PostingDraft(f"Assets:Bank:{union}:{cur}", money),
        PostingDraft(f"Income:Contributions:{union}", -money))))


@pytest.fixture
def fund(engine: Engine, tmp_path: Path) -> Engine:
    rates = tmp_path / "rates.csv"
    rates.write_text("date,currency,rate_per_eur\n2026-02-27,CAD,1.4800\n"
                     "2026-03-02,CAD,1.4850\n2026-03-04,CAD,1.4870\n", encoding="utf-8")
    with unit_of_work(engine) as conn:
        chart(conn)
        import_rate_files(conn, [rates])
    return engine


def send(conn: Connection, **kw: object):  # type: ignore[no-untyped-def]
    kw.setdefault("gate", allow_all)
    return send_transfer(conn, **kw)  # type: ignore[arg-type]


def hop1(conn: Connection) -> None:
    send(conn, reference="T-1", from_org="CSQ", to_org="Network", from_account=CSQ_BANK,
         amount="10000.00", fee="25.00", bearer="OUR", on=date(2026, 3, 2))
    receive_transfer(conn, "T-1", account=NETWORK_BANK, amount="6702.18", on=date(2026, 3, 4))


def hop2(conn: Connection) -> None:
    send(conn, reference="T-2", from_org="Network", to_org="MUTEB", from_account=NETWORK_BANK,
         amount="6700.00", fee="15.00", bearer="SHA", on=date(2026, 3, 5), previous="T-1")
    receive_transfer(conn, "T-2", account=MUTEB_BANK, amount="4370000", on=date(2026, 3, 9),
                     receiver_fee="5000", intermediary="20.00", intermediary_currency="EUR")


def legs(conn: Connection, entry_id: int) -> list[tuple[str, Money]]:
    return [(p.account, p.amount) for p in journal.get_entry(conn, entry_id).postings]


# -- rates ------------------------------------------------------------------------------

def test_importing_the_same_rates_twice_adds_nothing(fund: Engine, tmp_path: Path) -> None:
    again = tmp_path / "again.csv"
    again.write_text("date,currency,rate_per_eur\n2026-03-02,CAD,1.485\n2026-03-05,CAD,1.49\n")
    with unit_of_work(fund) as conn:
        [out] = import_rate_files(conn, [again])
    assert (out.new, out.known) == (1, 1)
    with unit_of_work(fund) as conn:
        cad = next(r for r in list_rates(conn) if r.currency == "CAD")
        assert (cad.count, cad.last, cad.latest_per_eur) == (4, date(2026, 3, 5), Decimal("1.49"))
        assert rate_on(conn, "CAD", date(2026, 3, 3)).per_eur == Decimal("1.4850")
        assert rate_on(conn, "XOF", date(2026, 3, 3)).per_eur == Decimal("655.957")


def test_a_different_rate_for_a_known_day_is_refused_with_file_and_line(
    fund: Engine, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("date,currency,rate_per_eur\n2026-03-06,CAD,1.50\n2026-03-02,CAD,1.4900\n")
    with pytest.raises(RatesRefused) as err, unit_of_work(fund) as conn:
        import_rate_files(conn, [bad])
    assert err.value.problems == [
        (f"{bad}:3: CAD on 2026-03-02 is 1.4900 here but 1.4850 is already stored; "
        "a reference rate is never rewritten")]
    with unit_of_work(fund) as conn:  # nothing stored, not even the good line
        assert next(r for r in list_rates(conn) if r.currency == "CAD").count == 3


def test_a_stale_rate_is_refused_and_nothing_is_written(engine: Engine, tmp_path: Path) -> None:
    old = tmp_path / "old.csv"
    old.write_text("date,currency,rate_per_eur\n2026-02-01,CAD,1.4700\n")
    with unit_of_work(engine) as conn:
        chart(conn)
        import_rate_files(conn, [old])
    with pytest.raises(RateStaleError, match="CAD before 2026-03-02 is from 2026-02-01"), \
            unit_of_work(engine) as conn:
        send(conn, reference="T-1", from_org="CSQ", to_org="Network", from_account=CSQ_BANK,
             amount="10000.00", on=date(2026, 3, 2))
    with unit_of_work(engine) as conn:
        assert list_transfers(conn) == []
        assert journal.balances(conn) == []


# -- the worked example -------------------------------------------------------------------

def test_hop_one_is_pending_with_the_money_in_transit(fund: Engine) -> None:
    with unit_of_work(fund) as conn:
        t = send(conn, reference="T-1", from_org="CSQ", to_org="Network",
                 from_account=CSQ_BANK, amount="10000.00", fee="25.00", bearer="OUR",
                 on=date(2026, 3, 2))
        assert t.status == "pending"
        assert t.value_sent_eur == m("6750.85", "EUR") and t.fees_eur == m("16.84", "EUR")
        assert legs(conn, t.send_entry_id) == [
            ("Assets:In transit:CAD", m("10000.00", "CAD")),
            ("Expenses:Transfer loss:Fees:CAD", m("25.00", "CAD")),
            (CSQ_BANK, m("-10025.00", "CAD")),
        ]
        assert t.days_pending(date(2026, 3, 20)) == 18
        assert t.overdue(date(2026, 3, 20), 10) and not t.overdue(date(2026, 3, 5), 10)


def test_the_worked_example_cad_to_eur_to_xof_is_measured_and_posted_to_the_franc(
    fund: Engine,
) -> None:
    with unit_of_work(fund) as conn:
        hop1(conn)
        hop2(conn)
    with unit_of_work(fund) as conn:
        t1, t2 = get_transfer(conn, "T-1"), get_transfer(conn, "T-2")
        assert (t1.status, t1.loss_eur, t1.fees_eur, t1.exchange_eur, t1.days_in_transit) == (
            "settled", m("48.67", "EUR"), m("16.84", "EUR"), m("31.83", "EUR"), 2)
        assert (t2.value_sent_eur, t2.value_received_eur) == (m("6715.00", "EUR"),
                                                              m("6662.02", "EUR"))
        assert (t2.loss_eur, t2.fees_eur, t2.exchange_eur, t2.days_in_transit) == (
            m("52.98", "EUR"), m("42.62", "EUR"), m("10.36", "EUR"), 4)
        assert t2.previous == "T-1" and t2.intermediary == m("20.00", "EUR")
        assert legs(conn, t2.receive_entry_id) == [
            ("Assets:In transit:EUR", m("-6700.00", "EUR")),
            ("Expenses:Transfer loss:Fees:EUR", m("20.00", "EUR")),
            ("Equity:Trading:EUR", m("6680.00", "EUR")),
            (MUTEB_BANK, m("4370000", "XOF")),
            ("Expenses:Transfer loss:Fees:XOF", m("5000", "XOF")),
            ("Expenses:Transfer loss:Exchange:XOF", m("6793", "XOF")),
            ("Equity:Trading:XOF", m("-4381793", "XOF")),
        ]
        bal = {b.code: b.balance for b in journal.balances(conn)}
        assert bal[MUTEB_BANK] == m("4370000", "XOF")
        assert bal["Assets:Bank:Network:EUR"] == m("-12.82", "EUR")  # 6,702.18 − 6,715.00
        assert bal["Expenses:Transfer loss:Fees:EUR"] == m("35.00", "EUR")
        assert bal["Expenses:Transfer loss:Exchange:EUR"] == m("31.83", "EUR")
        assert "Assets:In transit:CAD" not in bal and "Assets:In transit:EUR" not in bal
        assert journal.verify(conn).ok


def test_a_transfer_at_parity_without_fees_loses_nothing(fund: Engine) -> None:
    with unit_of_work(fund) as conn:
        send(conn, reference="P-1", from_org="Network", to_org="MUTEB",
             from_account=NETWORK_BANK, amount="1000.00", on=date(2026, 3, 5))
        t = receive_transfer(conn, "P-1", account=MUTEB_BANK, amount="655957",
                             on=date(2026, 3, 6))
        assert (t.loss_eur, t.fees_eur, t.exchange_eur) == (m("0", "EUR"),) * 3
        assert not [a for a, _ in legs(conn, t.receive_entry_id) if a.startswith("Expenses")]


def test_a_voided_transfer_returns_the_money_but_not_the_fees(fund: Engine) -> None:
    with unit_of_work(fund) as conn:
        send(conn, reference="V-1", from_org="Network", to_org="MUTEB",
             from_account=NETWORK_BANK, amount="500.00", fee="5.00", on=date(2026, 3, 5))
        t = void_transfer(conn, "V-1", date(2026, 3, 20))
        assert (t.status, t.void_date, t.loss_eur, t.fees_eur) == (
            "void", date(2026, 3, 20), m("5.00", "EUR"), m("5.00", "EUR"))
        bal = {b.code: b.balance for b in journal.balances(conn)}
        assert bal[NETWORK_BANK] == m("-5.00", "EUR")
        assert "Assets:In transit:EUR" not in bal
        with pytest.raises(InvalidInputError, match="is void, not pending"):
            receive_transfer(conn, "V-1", account=MUTEB_BANK, amount="1", on=date(2026, 3, 21))


def test_a_reference_is_used_once(fund: Engine) -> None:
    with unit_of_work(fund) as conn:
        send(conn, reference="R-1", from_org="Network", to_org="MUTEB",
             from_account=NETWORK_BANK, amount="1.00", on=date(2026, 3, 5))
        with pytest.raises(AlreadyExistsError, match="R-1 already exists"):
            send(conn, reference="R-1", from_org="Network", to_org="MUTEB",
                 from_account=NETWORK_BANK, amount="1.00", on=date(2026, 3, 5))


@pytest.mark.parametrize(("changes", "message"), [
    ({"from_account": MUTEB_BANK}, "does not belong to Network"),
    ({"from_account": "Income:Contributions:SNES"}, "not a bank"),
    ({"to_org": "Network"}, "from one organisation to another"),
    ({"amount": "1.001"}, "more than 2 decimal"),
    ({"amount": "0"}, "must be positive"),
    ({"bearer": "ALL"}, "OUR, SHA or BEN"),
    ({"previous": "NOPE"}, "no transfer 'NOPE'"),
])
def test_a_send_that_makes_no_sense_is_refused(fund: Engine, changes: dict, message: str) -> None:
    args = {"reference": "X-1", "from_org": "Network", "to_org": "MUTEB",
            "from_account": NETWORK_BANK, "amount": "100.00", "on": date(2026, 3, 5)}
    args.update(changes)
    with pytest.raises(LedgerError, match=message), unit_of_work(fund) as conn:
        send(conn, **args)


# -- eligibility ----------------------------------------------------------------------------

def refuse(_conn: Connection, _org: int, _on: date) -> GateVerdict:
    return GateVerdict(False, "not_eligible", ("accounts_audited", "registered"))


def test_an_ineligible_mutual_is_refused_and_nothing_is_posted(fund: Engine) -> None:
    with pytest.raises(IneligibleError, match="MUTEB is not eligible on 2026-03-05"), \
            unit_of_work(fund) as conn:
        send(conn, reference="E-1", from_org="Network", to_org="MUTEB",
             from_account=NETWORK_BANK, amount="100.00", on=date(2026, 3, 5), gate=refuse)
    with unit_of_work(fund) as conn:
        assert list_transfers(conn) == [] and journal.balances(conn) == []


def test_an_override_with_a_reason_is_recorded_and_linked(fund: Engine) -> None:
    with unit_of_work(fund) as conn:
        t = send(conn, reference="E-1", from_org="Network", to_org="MUTEB",
                 from_account=NETWORK_BANK, amount="100.00", on=date(2026, 3, 5), gate=refuse,
                 override_reason="Board decision 2026-03-01: emergency aid", actor="treasurer")
        row = conn.execute(select(EligibilityOverride)).mappings().one()
        assert (row["action"], row["failed_rules"], row["reason"], row["actor"]) == (
            "transfer E-1", "accounts_audited, registered",
            "Board decision 2026-03-01: emergency aid", "treasurer")
        assert t.override_id == row["id"] and t.override_reason.startswith("Board decision")


def test_hops_inside_the_fund_do_not_ask_the_gate(fund: Engine) -> None:
    with unit_of_work(fund) as conn:
        t = send(conn, reference="N-1", from_org="SNES", to_org="Network",
                 from_account="Assets:Bank:SNES:EUR", amount="10.00", on=date(2026, 3, 5),
                 gate=refuse)
        assert t.override_id is None


# -- bank lines ------------------------------------------------------------------------------

def bank_line(conn: Connection, account: str, amount: Money, on: date) -> int:
    acc = next(a for a in orgs.list_accounts(conn) if a.code == account)
    now = datetime.now(UTC)
    imp = conn.execute(insert(BankImport).values(
        account_id=acc.id, file_name="x.csv", sha256="0" * 64, format="csv", actor="t",
        imported_at=now, statements=1, lines=1, new_lines=1, known_lines=0,
    ).returning(BankImport.id)).scalar_one()
    st = conn.execute(insert(BankStatement).values(
        account_id=acc.id, statement_key=f"k{imp}", currency=amount.currency, format="csv",
        import_id=imp).returning(BankStatement.id)).scalar_one()
    return int(conn.execute(insert(StatementLine).values(
        account_id=acc.id, statement_id=st, import_id=imp, line_key=f"l{imp}", match_key="m",
        booking_date=on, amount_minor=amount.minor, currency=amount.currency,
        source_file="x.csv", raw="").returning(StatementLine.id)).scalar_one())


def test_bank_lines_are_linked_when_account_and_amount_match(fund: Engine) -> None:
    with unit_of_work(fund) as conn:
        out = bank_line(conn, NETWORK_BANK, m("-1015.00", "EUR"), date(2026, 3, 5))
        wrong = bank_line(conn, NETWORK_BANK, m("-1000.00", "EUR"), date(2026, 3, 5))
        into = bank_line(conn, MUTEB_BANK, m("655957", "XOF"), date(2026, 3, 6))
    args = {"reference": "B-1", "from_org": "Network", "to_org": "MUTEB",
            "from_account": NETWORK_BANK, "amount": "1000.00", "fee": "15.00",
            "on": date(2026, 3, 5)}
    with pytest.raises(InvalidInputError, match="shows -1000.00 EUR but the amount sent with "
                       "fees is -1015.00 EUR"), unit_of_work(fund) as conn:
        send(conn, **args, bank_line=wrong)
    with pytest.raises(InvalidInputError, match="is not on account"), unit_of_work(fund) as conn:
        send(conn, **args, bank_line=into)
    with unit_of_work(fund) as conn:
        send(conn, **args, bank_line=out)
        t = receive_transfer(conn, "B-1", account=MUTEB_BANK, amount="655957",
                             on=date(2026, 3, 6), bank_line=into)
        assert (t.send_line_id, t.receive_line_id) == (out, into)
        with pytest.raises(InvalidInputError, match="already linked to transfer B-1"):
            send(conn, **{**args, "reference": "B-2"}, bank_line=out)


# -- pledges and contributions ------------------------------------------------------------------

def test_a_pledge_defaults_to_one_euro_per_declared_member_per_year(fund: Engine) -> None:
    with unit_of_work(fund) as conn:
        p = add_pledge(conn, "SNES", date(2026, 1, 1), date(2026, 12, 31))
        assert (p.members, p.rate, p.frequency, p.expected) == (
            1000, m("1.00", "EUR"), "year", m("1000.00", "EUR"))
        half = add_pledge(conn, "FNEC", date(2026, 7, 1), date(2026, 12, 31), rate="0.10",
                          per="month", members=300)
        assert (half.months, half.expected) == (6, m("180.00", "EUR"))
        q = add_pledge(conn, "CSQ", date(2026, 4, 1), date(2026, 6, 30), rate="1.50",
                       currency="CAD")
        assert q.expected == m("18000.00", "CAD")  # 48,000 × 1.50 × 3 / 12
        with pytest.raises(InvalidInputError, match="overlapping"):
            add_pledge(conn, "SNES", date(2026, 6, 1), date(2027, 5, 31))
        with pytest.raises(InvalidInputError, match="no member count declared for 2027"):
            add_pledge(conn, "SNES", date(2027, 1, 1), date(2027, 12, 31))
        assert [x.organisation for x in list_pledges(conn, year=2026)] == ["CSQ", "FNEC", "SNES"]


def test_contributions_are_compared_with_the_pledge_in_its_currency_and_in_euros(
    fund: Engine,
) -> None:
    with unit_of_work(fund) as conn:
        add_pledge(conn, "SNES", date(2026, 1, 1), date(2026, 12, 31))
        add_pledge(conn, "CSQ", date(2026, 1, 1), date(2026, 12, 31), rate="1.00",
                   currency="CAD", members=1000)
        contribute(conn, "SNES", "EUR", date(2026, 3, 2), "600.00")
        contribute(conn, "CSQ", "CAD", date(2026, 3, 2), "1485.00")
        contribute(conn, "FNEC", "EUR", date(2026, 3, 2), "50.00")
        res = compute_contributions(conn, date(2026, 1, 1), date(2026, 12, 31),
                                    max_rate_age=None)
    rows = {r.union: r for r in res.rows}
    snes, csq, fnec = rows["SNES"], rows["CSQ"], rows["FNEC"]
    assert (snes.expected, snes.received, snes.difference) == (100000, 60000, -40000)
    assert (csq.expected, csq.received, csq.difference) == (100000, 148500, 48500)
    # 1,485.00 CAD at 1.4850 = 1,000.00 EUR; expected 1,000.00 CAD at 1.4870 (last rate) = 672.49
    assert (csq.received_eur, csq.expected_eur, csq.difference_eur) == (100000, 67249, 32751)
    assert (fnec.pledge_id, fnec.expected, fnec.received_eur) == (None, None, 5000)
    assert res.monthly_eur["SNES"][2] == 60000


# -- earmarking ----------------------------------------------------------------------------------

def euro_hop(conn: Connection, ref: str, frm: str, to: str, amount: str, fee: str | None,
             sent: date, received: str | None, arrived: date | None, **kw: object) -> None:
    send(conn, reference=ref, from_org=frm, to_org=to,
         from_account=f"Assets:Bank:{frm}:EUR", amount=amount, fee=fee, on=sent, **kw)
    if received is not None:
        cur = "XOF" if to == "MUTEB" else "EUR"
        receive_transfer(conn, ref, account=f"Assets:Bank:{to}:{cur}", amount=received,
                         on=arrived)  # type: ignore[arg-type]


def two_unions(conn: Connection) -> None:
    contribute(conn, "SNES", "EUR", date(2026, 1, 5), "1000.00")
    contribute(conn, "FNEC", "EUR", date(2026, 1, 6), "2000.00")
    euro_hop(conn, "U-1", "SNES", "Network", "1000.00", None, date(2026, 1, 10), "1000.00",
             date(2026, 1, 11))
    euro_hop(conn, "U-2", "FNEC", "Network", "2000.00", None, date(2026, 1, 12), "2000.00",
             date(2026, 1, 13))


def test_fifo_earmarking_spends_the_oldest_union_money_first(fund: Engine) -> None:
    """The Network sends 1,500.00 + 15.00 fee = 1,515.00 at parity (983,936 XOF is
    1,500.00 EUR): SNES's 1,000.00 arrived first and goes first, FNEC gives 515.00.
    The 15.00 fee splits pro rata: ⌊1,500 × 1,000 / 1,515⌋ = 990 cents to SNES, 510 to FNEC."""
    with unit_of_work(fund) as conn:
        two_unions(conn)
        euro_hop(conn, "S-1", "Network", "MUTEB", "1500.00", "15.00", date(2026, 1, 20),
                 "983936", date(2026, 1, 22))
        res = compute_flows(conn, date(2026, 1, 1), date(2026, 12, 31))
    u = {r.union: r for r in res.unions}
    assert (u["SNES"].contributed, u["SNES"].arrived, u["SNES"].lost_fees, u["SNES"].held) == (
        100000, 99010, 990, 0)
    assert (u["FNEC"].contributed, u["FNEC"].arrived, u["FNEC"].lost_fees, u["FNEC"].held) == (
        200000, 50990, 510, 148500)
    assert u["FNEC"].held_by_others == 148500 and u["SNES"].sent_south == 100000
    assert u["SNES"].arrived_local == {"XOF": 649_463} and u["FNEC"].arrived_local == {
        "XOF": 334_473}
    assert u["SNES"].pass_through == Decimal("0.9901")
    assert res.other_funds is None
    [south] = res.south
    assert (south.organisation, south.received_eur, south.from_unions) == (
        "MUTEB", 150000, {"SNES": 99010, "FNEC": 50990})
    corridors = {c.corridor: c for c in res.corridors}
    assert corridors["EUR→XOF"].worst_reference == "S-1"
    assert corridors["EUR→EUR"].transfers == 2


def test_a_transfer_that_names_its_source_spends_that_union_first(fund: Engine) -> None:
    with unit_of_work(fund) as conn:
        two_unions(conn)
        euro_hop(conn, "S-1", "Network", "MUTEB", "1000.00", None, date(2026, 1, 20), None,
                 None, source_org="FNEC")
        res = compute_flows(conn, date(2026, 1, 1), date(2026, 12, 31))
    u = {r.union: r for r in res.unions}
    assert (u["FNEC"].in_transit, u["FNEC"].held, u["SNES"].held) == (100000, 100000, 100000)
    assert res.hops[-1].unions == {"FNEC": 100000}


def test_a_forwarding_hop_inherits_the_union_of_the_money_it_forwards(fund: Engine) -> None:
    with unit_of_work(fund) as conn:
        contribute(conn, "CSQ", "CAD", date(2026, 3, 2), "10025.00")
        two_unions(conn)
        hop1(conn)
        hop2(conn)
        res = compute_flows(conn, date(2026, 1, 1), date(2026, 12, 31))
    u = {r.union: r for r in res.unions}
    csq = u["CSQ"]
    # 10,025.00 CAD at 1.4850 = 6,750.84 EUR contributed; the hop is valued 6,750.85
    # (sent and fees rounded separately), so one cent comes from the Network's other money
    # — the oldest there, SNES's.
    assert csq.contributed == 675084
    assert csq.contributed == csq.arrived + csq.lost + csq.in_transit + csq.held
    assert csq.sent_south > 0 and csq.arrived_local["XOF"] > 4_300_000
    assert {c.corridor for c in res.corridors} >= {"CAD→EUR→XOF", "EUR→EUR"}
    chain = next(c for c in res.corridors if c.corridor == "CAD→EUR→XOF")
    assert (chain.transfers, chain.settled, chain.lost_eur) == (1, 1, 4867 + 5298)


def test_void_and_pending_transfers_are_traced_as_lost_fees_held_and_in_transit(
    fund: Engine,
) -> None:
    with unit_of_work(fund) as conn:
        two_unions(conn)
        euro_hop(conn, "V-1", "Network", "MUTEB", "500.00", "5.00", date(2026, 1, 20), None,
                 None)
        void_transfer(conn, "V-1", date(2026, 2, 1))
        euro_hop(conn, "P-1", "Network", "MUTEB", "300.00", "3.00", date(2026, 2, 2), None,
                 None)
        res = compute_flows(conn, date(2026, 1, 1), date(2026, 12, 31))
    u = {r.union: r for r in res.unions}
    total = res.totals()
    assert total["contributed"] == 300000
    assert total["lost_fees"] == 800 and total["in_transit"] == 30000
    assert total["arrived"] + total["lost_fees"] + total["lost_exchange"] + \
        total["in_transit"] + total["held"] == total["contributed"]
    # V-1 took 505.00 of SNES's lot; 500.00 came back at the end of the Network's queue
    # and the 5.00 fee is lost.  P-1 spends what is left of SNES's first lot.
    assert res.hops[-1].unions == {"SNES": 30300}
    assert (u["SNES"].held, u["SNES"].lost_fees, u["SNES"].in_transit) == (69200, 800, 30000)


def test_money_sent_beyond_the_contributions_is_other_funds(fund: Engine) -> None:
    with unit_of_work(fund) as conn:
        euro_hop(conn, "O-1", "Network", "MUTEB", "100.00", None, date(2026, 1, 20), "65596",
                 date(2026, 1, 21))
        res = compute_flows(conn, date(2026, 1, 1), date(2026, 12, 31))
    assert res.unions == []
    assert res.other_funds is not None and res.other_funds.union == OTHER_FUNDS
    assert (res.other_funds.contributed, res.other_funds.arrived) == (10000, 10000)


def test_apportion_keeps_every_cent() -> None:
    assert apportion([100000, 51500], 1500) == [990, 510]
    assert sum(apportion([3, 3, 3], 10)) == 10
    assert apportion([5, 5], -3) == [-2, -1]
    assert apportion([0, 0], 7) == [7, 0]


def test_transfer_rows_keep_the_measured_figures(fund: Engine) -> None:
    with unit_of_work(fund) as conn:
        hop1(conn)
        row = conn.execute(select(Transfer).where(Transfer.reference == "T-1")).mappings().one()
    assert (row["value_sent_eur_minor"], row["value_received_eur_minor"], row["loss_eur_minor"],
            row["fees_eur_minor"], row["exchange_eur_minor"]) == (675085, 670218, 4867, 1684, 3183)
