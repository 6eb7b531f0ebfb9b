"""Reconciliation through the CLI: run, manual work, write-off, the report (golden JSON)."""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ledger.bankfiles import BankLineSpec, write_csv_generic_en
from ledger.cli import main
from ledger.db import make_engine, unit_of_work
from ledger.money import Money

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "reports"
BANK = "Assets:Bank:EUR"


@pytest.fixture
def cli(tmp_path: Path):  # type: ignore[no-untyped-def]
    db = tmp_path / "r.db"
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(main, ["--db", str(db), "--actor", "treasurer", *args],
                             catch_exceptions=False)

    run("init")
    run("account", "add", BANK, "--type", "asset", "--currency", "EUR")
    run("account", "add", "Income:Contributions", "--type", "income", "--currency", "EUR")
    run("account", "add", "Expenses:Bank fees", "--type", "expense", "--currency", "EUR")
    for day, amt, ref in ((3, "4800.00", "CSQ-0303"), (10, "250.00", "AEU-0310"),
                          (28, "600.00", "FSU-0328")):
        run("post", "--date", f"2026-03-{day:02d}", "-m", f"Contribution {ref}", "--reference", ref,
            f"{BANK} {amt} EUR", f"Income:Contributions -{amt} EUR")
    stmt = tmp_path / "march.csv"
    write_csv_generic_en(stmt, [
        BankLineSpec(date(2026, 3, 3), Money.of("4800.00", "EUR"), "CSQ", reference="CSQ-0303",
                     transaction_id="B1"),
        BankLineSpec(date(2026, 3, 12), Money.of("250.00", "EUR"), "AEU", reference="AEU-0310",
                     transaction_id="B2"),
        BankLineSpec(date(2026, 3, 31), Money.of("-7.90", "EUR"), "Bank",
                     remittance="Account fee", transaction_id="B3"),
    ])
    assert run("import", str(stmt), "--account", BANK).exit_code == 0
    run.db = db  # type: ignore[attr-defined]
    run.tmp = tmp_path  # type: ignore[attr-defined]
    return run


def test_reconcile_then_rerun_adds_nothing(cli) -> None:  # type: ignore[no-untyped-def]
    first = json.loads(cli("--json", "reconcile", "--account", BANK).output)
    assert first["matched"] == 2 and first["unmatched_lines"] == 1
    again = json.loads(cli("--json", "reconcile", "--account", BANK).output)
    assert again["matched"] == 0 and again["unmatched_postings"] == 1


def test_writeoff_and_status(cli) -> None:  # type: ignore[no-untyped-def]
    cli("reconcile", "--account", BANK)
    status = json.loads(cli("--json", "reconcile", "status", "--account", BANK,
                            "--period", "2026-03").output)
    assert status["bank_charges_not_recorded"] == "-7.90"
    assert status["deposits_in_transit"] == "600.00" and status["difference"] == "0.00"
    res = cli("reconcile", "writeoff", "--account", BANK, "--line", "3", "--to",
              "Expenses:Bank fees", "--tolerance", "5.00")
    assert res.exit_code == 1 and "above the write-off tolerance" in res.output
    res = cli("--json", "reconcile", "writeoff", "--account", BANK, "--line", "3", "--to",
              "Expenses:Bank fees", "--tolerance", "10.00")
    assert res.exit_code == 0, res.output
    status = json.loads(cli("--json", "reconcile", "status", "--account", BANK,
                            "--period", "2026-03").output)
    assert status["bank_charges_not_recorded"] == "0.00" and status["writeoffs"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["reconcile"], "--account is required"),
        (["reconcile", "--account", "Assets:Nope"], "unknown account"),
        (["reconcile", "match", "--account", BANK, "--line", "99", "--posting", "1"],
         "bank line 99"),
        (["reconcile", "match", "--account", BANK, "--line", "1", "--posting", "3"],
         "difference"),
        (["reconcile", "unmatch", "42"], "no match #42"),
        (["report", "reconciliation", "--account", BANK, "--period", "March"], "--period"),
        (["report", "reconciliation", "--account", BANK, "--period", "2026-03",
          "--format", "xlsx"], "-o FILE"),
    ],
)
def test_bad_input_is_one_clear_line(cli, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    res = cli(*args)
    assert res.exit_code != 0 and message in res.output and "Traceback" not in res.output


def test_bad_posting_rules_file_lists_file_and_line(cli) -> None:  # type: ignore[no-untyped-def]
    rules = cli.tmp / "rules.toml"
    rules.write_text('[[rule]]\nid = "x"\ncounter_account = "Expenses:Bank fees"\n'
                     'amount_min = 1.5\n', encoding="utf-8")
    res = cli("reconcile", "--account", BANK, "--rules", str(rules))
    assert res.exit_code == 1 and f"{rules}:" in res.output


def test_report_files_in_every_format_and_language(cli) -> None:  # type: ignore[no-untyped-def]
    cli("reconcile", "--account", BANK)
    for fmt in ("xlsx", "html", "csv", "json"):
        for lang in ("en", "fr", "es"):
            out = cli.tmp / f"rec.{lang}.{fmt}"
            res = cli("--lang", lang, "report", "reconciliation", "--account", BANK,
                      "--period", "2026-03", "--format", fmt, "-o", str(out))
            assert res.exit_code == 0, res.output
            assert out.stat().st_size > 0
    assert "Rapprochement bancaire" in (cli.tmp / "rec.fr.html").read_text(encoding="utf-8")
    assert "Conciliación bancaria" in (cli.tmp / "rec.es.html").read_text(encoding="utf-8")


def test_the_json_report_matches_its_golden_file(cli) -> None:  # type: ignore[no-untyped-def]
    from ledger import reconcile as rec
    from reports.reconciliation import build_reconciliation_report
    from reports.render.json import report_to_dict

    cli("reconcile", "--account", BANK)
    eng = make_engine(str(cli.db))
    with unit_of_work(eng) as conn:
        data = rec.reconciliation_data(conn, BANK, "2026-03")
        amounts = rec.line_amounts(conn, [i for m in data.matched for i in m["lines"]])
    eng.dispose()
    for m in data.matched:
        m["at"] = datetime(2026, 4, 1, 9, 0)
    report = build_reconciliation_report(data, amounts, "Treasurer",
                                         generated_at=datetime(2026, 4, 1, 9, 0))
    got = report_to_dict(report, "fr")
    path = GOLDEN / "reconciliation_march.fr.json"
    if os.environ.get("SOLIDARITY_UPDATE_GOLDEN"):
        path.write_text(json.dumps(got, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert got == json.loads(path.read_text(encoding="utf-8"))
