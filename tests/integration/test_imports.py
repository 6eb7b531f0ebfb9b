"""Storing imported statements on SQLite and PostgreSQL: idempotent, atomic, continuous."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from imports.detect import read_file
from ledger import orgs, statements
from ledger.bankfiles import BankLineSpec, write_camt053, write_csv_generic_en
from ledger.db import unit_of_work
from ledger.money import Money

IBAN = "FR7630006000011234567890189"
ACCOUNT = "Assets:Bank:Network:EUR"


def lines_between(start: date, end: date) -> list[BankLineSpec]:
    """One contribution a day, with a bank id, from start to end inclusive."""
    out, d, n = [], start, 0
    while d <= end:
        n += 1
        out.append(BankLineSpec(d, Money(10_000 + d.toordinal() % 97, "EUR"), "CSQ",
                                "CA0012345", f"E2E-{d:%Y%m%d}", f"Contribution {d}",
                                f"TX{d:%Y%m%d}"))
        d += timedelta(days=1)
    return out


@pytest.fixture
def net(engine: Engine) -> Engine:
    with unit_of_work(engine) as conn:
        orgs.add_account(conn, ACCOUNT, "asset", "EUR", iban=IBAN)
    return engine


def store(engine: Engine, path: Path, allow_gap: bool = False) -> statements.FileOutcome:
    res = read_file(path, currency_hint="EUR")
    assert res.ok, [str(d) for d in res.errors]
    with unit_of_work(engine) as conn:
        return statements.store_file(conn, ACCOUNT, str(path), "sha", "test", res.statements,
                                     allow_gap=allow_gap)


def camt(tmp: Path, name: str, start: date, end: date, opening: Money) -> Path:
    p = tmp / name
    write_camt053(p, IBAN, "EUR", opening, start, lines_between(start, end), end, name)
    return p


def total(start: date, end: date) -> Money:
    return Money(sum(ln.amount.minor for ln in lines_between(start, end)), "EUR")


def test_reimporting_the_same_file_adds_nothing(net: Engine, tmp_path: Path) -> None:
    p = camt(tmp_path, "feb.xml", date(2026, 2, 1), date(2026, 2, 28), Money(0, "EUR"))
    first = store(net, p)
    again = store(net, p)
    assert (first.new, first.already_known) == (28, 0)
    assert (again.new, again.already_known) == (0, 28)
    with unit_of_work(net) as conn:
        assert statements.count_lines(conn, ACCOUNT) == 28


def test_an_overlapping_export_adds_only_the_new_days(net: Engine, tmp_path: Path) -> None:
    mar_apr = camt(tmp_path, "mar-apr.xml", date(2026, 3, 1), date(2026, 4, 30), Money(0, "EUR"))
    store(net, mar_apr)
    feb_mar = camt(tmp_path, "feb-mar.xml", date(2026, 2, 1), date(2026, 3, 31),
                   Money(0, "EUR"))
    out = store(net, feb_mar, allow_gap=True)
    assert (out.new, out.already_known) == (28, 31)


def test_the_same_period_in_another_format_adds_nothing(net: Engine, tmp_path: Path) -> None:
    start, end = date(2026, 3, 1), date(2026, 3, 31)
    store(net, camt(tmp_path, "mar.xml", start, end, Money(0, "EUR")))
    csv_path = tmp_path / "mar.csv"
    # The CSV export has no bank ids: only the format-neutral key can recognise its lines.
    write_csv_generic_en(csv_path, [BankLineSpec(ln.booking_date, ln.amount, ln.counterparty.upper(),
                                                 "", "", ln.remittance)
                                    for ln in lines_between(start, end)])
    out = store(net, csv_path)
    assert (out.new, out.already_known) == (0, 31)


def test_identical_lines_on_one_day_are_kept_apart_by_their_occurrence(net: Engine, tmp_path: Path) -> None:
    p = tmp_path / "same.csv"
    same = BankLineSpec(date(2026, 3, 2), Money(100, "EUR"), "Member", remittance="1 EUR")
    write_csv_generic_en(p, [same, same, same])
    assert store(net, p).new == 3
    assert store(net, p).already_known == 3


def test_consecutive_statements_must_chain_their_balances(net: Engine, tmp_path: Path) -> None:
    feb = camt(tmp_path, "feb.xml", date(2026, 2, 1), date(2026, 2, 28), Money(50_000, "EUR"))
    store(net, feb)
    closing = Money(50_000, "EUR") + total(date(2026, 2, 1), date(2026, 2, 28))
    wrong = camt(tmp_path, "mar.xml", date(2026, 3, 1), date(2026, 3, 31), closing + Money(1, "EUR"))
    with pytest.raises(statements.ImportRefused) as exc:
        store(net, wrong)
    assert "does not equal the previous closing balance" in exc.value.problems[0]
    right = camt(tmp_path, "mar2.xml", date(2026, 3, 1), date(2026, 3, 31), closing)
    assert store(net, right).new == 31


def test_a_gap_between_statements_is_reported_with_its_dates(net: Engine, tmp_path: Path) -> None:
    store(net, camt(tmp_path, "jan.xml", date(2026, 1, 1), date(2026, 1, 31), Money(0, "EUR")))
    closing = total(date(2026, 1, 1), date(2026, 1, 31))
    with pytest.raises(statements.ImportRefused) as exc:
        store(net, camt(tmp_path, "mar.xml", date(2026, 3, 1), date(2026, 3, 31), closing))
    assert "2026-01-31" in exc.value.problems[0] and "2026-03-01" in exc.value.problems[0]


def test_a_line_in_another_currency_is_refused(net: Engine, tmp_path: Path) -> None:
    p = tmp_path / "cad.csv"
    write_csv_generic_en(p, [BankLineSpec(date(2026, 3, 2), Money(100, "CAD"), "CSQ")])
    res = read_file(p)
    with pytest.raises(statements.ImportRefused, match="line in CAD but the account holds EUR"), unit_of_work(net) as conn:
        statements.store_file(conn, ACCOUNT, str(p), "sha", "csv", res.statements)


def test_a_statement_for_another_iban_is_refused(net: Engine, tmp_path: Path) -> None:
    p = tmp_path / "other.xml"
    write_camt053(p, "DE89370400440532013000", "EUR", Money(0, "EUR"), date(2026, 3, 1),
                  lines_between(date(2026, 3, 1), date(2026, 3, 2)), date(2026, 3, 2), "x")
    with pytest.raises(statements.ImportRefused, match="DE89370400440532013000"):
        store(net, p)


def test_a_statement_naming_its_account_by_a_name_is_not_compared_with_the_iban(
    net: Engine, tmp_path: Path
) -> None:
    p = tmp_path / "quicken.qif"
    p.write_text("!Account\nNChecking\nTBank\n^\n!Type:Bank\nD3/2/26\nT-12.50\nPBank fee\n^\n")
    out = store(net, p)
    assert (out.new, out.already_known) == (1, 0)


@pytest.mark.parametrize("kind", ["csv", "camt"])
def test_a_file_read_by_two_processes_stores_what_one_process_stores(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """The whole import path, with the split readers on a small file, against one process."""
    from sqlalchemy import select

    from imports import camt as camt_reader
    from imports import forked, tabular
    from ledger.cli_imports import run_import
    from ledger.tables import StatementLine as LineRow

    monkeypatch.setattr(tabular, "SPLIT_BYTES", 1)
    monkeypatch.setattr(camt_reader, "SPLIT_ENTRIES", 2)
    start, end = date(2026, 1, 1), date(2026, 2, 14)
    if kind == "csv":
        path = tmp_path / "jan.csv"
        write_csv_generic_en(path, lines_between(start, end))
    else:
        path = camt(tmp_path, "jan.xml", start, end, Money(0, "EUR"))
    accounts = {"split": ACCOUNT, "whole": ACCOUNT.replace("EUR", "EUR2")}
    with unit_of_work(engine) as conn:
        orgs.add_account(conn, accounts["split"], "asset", "EUR", iban=IBAN)
        orgs.add_account(conn, accounts["whole"], "asset", "EUR", iban=IBAN)
    run_import(engine, [path], accounts["split"], currency="EUR")
    with monkeypatch.context() as m:
        m.setenv(forked.WORKERS_ENV, "1")
        run_import(engine, [path], accounts["whole"], currency="EUR")
    c = LineRow.__table__.c
    kept = [col for col in c if col.name not in ("id", "account_id", "statement_id", "import_id",
                                                 "match_key")]
    with engine.connect() as conn:
        rows = {name: [tuple(r) for r in conn.execute(
            select(*kept).join_from(LineRow.__table__, orgs.Account.__table__,
                                    orgs.Account.__table__.c.id == c.account_id)
            .where(orgs.Account.__table__.c.code == code).order_by(c.id))]
            for name, code in accounts.items()}
    assert len(rows["split"]) == 45
    assert rows["split"] == rows["whole"]


def test_texts_longer_than_their_column_are_stored_cut_to_it(net: Engine, tmp_path: Path) -> None:
    # PostgreSQL refuses a VARCHAR(500) value of 700 characters; SQLite would keep it all.
    specs = lines_between(date(2026, 5, 1), date(2026, 5, 3))
    specs[1] = dataclasses.replace(specs[1], counterparty="N" * 700, reference="R" * 600)
    p = tmp_path / "long.csv"
    write_csv_generic_en(p, specs)
    assert store(net, p, allow_gap=True).new == 3
    with unit_of_work(net) as conn:
        stored = statements.iter_lines(conn, ACCOUNT)
    names = [ln["counterparty_name"] for ln in stored]
    refs = [ln["reference"] for ln in stored]
    assert sorted(map(len, names)) == [3, 3, 500] and max(map(len, refs)) == 500
