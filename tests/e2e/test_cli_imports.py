"""Every shared bank sample through ``solidarity import``: imports once, re-imports
as already known, or — when malformed on purpose — is refused with ``file:line:``
diagnostics and leaves the database unchanged."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from imports.detect import read_file
from ledger.cli import main
from tests.conftest import SHARED_DATA

MALFORMED = {
    "mt940/self-provided_invalid_statement.sta",
    "mt940/betterplace_sepa_snippet_broken.sta",
    "camt/genkgo_camt053.v2.wrong.xml",
    "camt/oca_test-camt053-wrong-amount.xml",
    "ofx/oca_test_ofx_wrong.ofx",
}
FORMATS = ("camt", "mt940", "ofx", "csv")


def samples() -> list[str]:
    if not SHARED_DATA.is_dir():
        return []
    return sorted(str(p.relative_to(SHARED_DATA)) for fmt in FORMATS
                  for p in (SHARED_DATA / fmt).iterdir() if p.is_file())


def _bytes(db: Path) -> list[bytes]:
    """The database file and its write-ahead log, as bytes (for byte-for-byte checks)."""
    return [p.read_bytes() for p in (db, db.with_name(db.name + "-wal")) if p.exists()]


def _dump(db: Path) -> list[str]:
    con = sqlite3.connect(db)
    try:
        return list(con.iterdump())
    finally:
        con.close()


@pytest.fixture
def cli(tmp_path: Path):  # type: ignore[no-untyped-def]
    db = tmp_path / "imp.db"
    runner = CliRunner()

    def run(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(main, ["--db", str(db), *args], catch_exceptions=False)

    assert run("init").exit_code == 0
    run.db = db  # type: ignore[attr-defined]
    return run


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"shared samples not found at {SHARED_DATA}")
@pytest.mark.parametrize("sample", samples())
def test_every_shared_sample_imports_once_or_is_refused_cleanly(cli, sample: str) -> None:  # type: ignore[no-untyped-def]
    path = SHARED_DATA / sample
    if sample in MALFORMED:
        assert cli("account", "add", "Assets:Bank:X", "--type", "asset",
                   "--currency", "EUR").exit_code == 0
        before, raw = _dump(cli.db), _bytes(cli.db)
        res = cli("import", str(path), "--account", "Assets:Bank:X")
        assert res.exit_code == 1
        assert f"{path}:" in res.output and "nothing was stored" in res.output
        assert "Traceback" not in res.output
        assert _dump(cli.db) == before and _bytes(cli.db) == raw
        return
    # QIF states no currency: the import takes the account's, as read_file takes the hint.
    read = read_file(path, currency_hint="USD" if sample.endswith(".qif") else None)
    assert read.ok, [str(d) for d in read.errors]
    currencies = Counter(ln.amount.currency for st in read.statements for ln in st.lines)
    currencies.update(st.currency for st in read.statements if st.currency)
    for cur in sorted(currencies):
        assert cli("account", "add", f"Assets:Bank:{cur}", "--type", "asset",
                   "--currency", cur).exit_code == 0
    if len({ln.amount.currency for st in read.statements for ln in st.lines}) > 1:
        # Several currencies in one file: each statement line must go to its own account.
        res = cli("import", str(path), "--account", f"Assets:Bank:{currencies.most_common(1)[0][0]}",
                  "--allow-gap")
        assert res.exit_code == 1 and "but the account holds" in res.output
        return
    cur = currencies.most_common(1)[0][0]
    first = cli("--json", "import", str(path), "--account", f"Assets:Bank:{cur}", "--allow-gap")
    assert first.exit_code == 0, first.output
    doc = json.loads(first.stdout)
    assert doc["lines"] == read.line_count and doc["new"] + doc["already_known"] == doc["lines"]
    again = json.loads(cli("--json", "import", str(path), "--account", f"Assets:Bank:{cur}",
                           "--allow-gap").stdout)
    assert again["new"] == 0 and again["already_known"] == read.line_count


def test_dry_run_counts_but_stores_nothing(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    from ledger.bankfiles import BankLineSpec, write_csv_generic_en
    from ledger.money import Money

    p = tmp_path / "s.csv"
    write_csv_generic_en(p, [BankLineSpec(date(2026, 3, d), Money(100 * d, "EUR"), "CSQ")
                             for d in range(1, 11)])
    cli("account", "add", "Assets:Bank:EUR", "--type", "asset", "--currency", "EUR")
    dry = json.loads(cli("--json", "import", str(p), "--account", "Assets:Bank:EUR",
                         "--dry-run").stdout)
    assert dry["new"] == 10 and dry["dry_run"] is True
    real = json.loads(cli("--json", "import", str(p), "--account", "Assets:Bank:EUR").stdout)
    assert real["new"] == 10
    log = json.loads(cli("--json", "imports").stdout)["imports"]
    assert len(log) == 1 and log[0]["new"] == 10 and len(log[0]["sha256"]) == 64


def test_an_error_on_the_last_line_stores_nothing_and_lists_every_problem(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "bad.csv"
    good = "2026-03-0{d},2026-03-0{d},Contribution,R{d},CSQ,,10.00,EUR,T{d}\n"
    p.write_text("Date,Value date,Description,Reference,Counterparty,Counterparty account,"
                 "Amount,Currency,Transaction id\n" + "".join(good.format(d=d) for d in range(1, 8))
                 + "2026-03-08,2026-03-08,x,R8,CSQ,,12.3x,EUR,T8\n"
                 + "2026-02-30,2026-03-09,x,R9,CSQ,,1.00,EUR,T9\n", encoding="utf-8")
    cli("account", "add", "Assets:Bank:EUR", "--type", "asset", "--currency", "EUR")
    before, raw = _dump(cli.db), _bytes(cli.db)
    res = cli("import", str(p), "--account", "Assets:Bank:EUR")
    assert res.exit_code == 1
    assert f"{p}:9:" in res.output and f"{p}:10:" in res.output
    assert _dump(cli.db) == before and _bytes(cli.db) == raw


def test_unknown_account_and_unknown_format_are_clear_errors(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "mystery.txt"
    p.write_text("hello world\nnothing to see\n", encoding="utf-8")
    cli("account", "add", "Assets:Bank:EUR", "--type", "asset", "--currency", "EUR")
    res = cli("import", str(p), "--account", "Assets:Bank:EUR")
    assert res.exit_code == 1 and "cannot tell the format" in res.output
    res = cli("import", str(p), "--account", "Assets:Nope")
    assert res.exit_code == 1 and "Traceback" not in res.output


def test_a_refusal_found_while_storing_the_second_file_stores_nothing(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    from ledger.bankfiles import BankLineSpec, write_csv_generic_en
    from ledger.money import Money

    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    write_csv_generic_en(good, [BankLineSpec(date(2026, 3, d), Money(100, "EUR"), "CSQ",
                                             transaction_id=f"G{d}") for d in range(1, 6)])
    write_csv_generic_en(bad, [BankLineSpec(date(2026, 3, 9), Money(100, "CAD"), "CSQ")])
    cli("account", "add", "Assets:Bank:EUR", "--type", "asset", "--currency", "EUR")
    before, raw = _dump(cli.db), _bytes(cli.db)
    res = cli("import", str(good), str(bad), "--account", "Assets:Bank:EUR")
    assert res.exit_code == 1 and "line in CAD but the account holds EUR" in res.output
    assert _dump(cli.db) == before and _bytes(cli.db) == raw
