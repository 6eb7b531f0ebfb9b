"""The core commands through click's CliRunner, good input and bad."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from ledger.cli import main


@pytest.fixture
def ready(run):  # type: ignore[no-untyped-def]
    assert run("init").exit_code == 0
    assert run("org", "add", "Network", "--kind", "network", "--country", "FR",
               "--currency", "EUR").exit_code == 0
    assert run("org", "add", "CSQ", "--kind", "union", "--country", "CA", "--currency", "CAD",
               "--members", "48000", "--period", "2026").exit_code == 0
    assert run("account", "add", "Assets:Bank:Network:EUR", "--type", "asset", "--currency", "EUR",
               "--org", "Network", "--iban", "FR76 3000 6000 0112 3456 7890 189").exit_code == 0
    assert run("account", "add", "Income:Contributions", "--type", "income",
               "--currency", "EUR").exit_code == 0
    assert run("account", "add", "Assets:Bank:CSQ:CAD", "--type", "asset",
               "--currency", "CAD").exit_code == 0
    return run


def test_init_is_safe_to_run_twice(run) -> None:  # type: ignore[no-untyped-def]
    assert run("init").exit_code == 0
    again = run("--json", "init")
    assert again.exit_code == 0 and json.loads(again.output)["revision"]


def test_commands_before_init_say_to_run_init(run) -> None:  # type: ignore[no-untyped-def]
    res = run("balance")
    assert res.exit_code == 1 and "solidarity init" in res.output
    assert "Traceback" not in res.output


def test_post_balance_journal_reverse_verify(ready) -> None:  # type: ignore[no-untyped-def]
    res = ready("post", "--date", "2026-03-02", "-m", "CSQ contribution",
                "Assets:Bank:Network:EUR 48000.00 EUR", "Income:Contributions -48000.00 EUR")
    assert res.exit_code == 0, res.output
    bal = json.loads(ready("--json", "balance", "--account", "Assets").output)
    assert bal["accounts"] == [{"account": "Assets:Bank:Network:EUR", "type": "asset",
                                "balance": {"amount": "48000.00", "currency": "EUR"}}]
    assert bal["totals"] == [{"currency": "EUR", "amount": "48000.00"}]
    assert "48 000,00" in ready("--lang", "fr", "balance").output.replace("\u202f", " ")
    entries = json.loads(ready("--json", "journal").output)["entries"]
    assert entries[0]["postings"][0]["amount"] == "48000.00"
    assert ready("reverse", "1", "--date", "2026-03-03").exit_code == 0
    assert json.loads(ready("--json", "balance").output)["accounts"] == []
    res = ready("--json", "verify")
    assert res.exit_code == 0 and json.loads(res.output)["entries"] == 2


def test_the_same_idempotency_key_twice_posts_once(ready) -> None:  # type: ignore[no-untyped-def]
    args = ["--json", "post", "--date", "2026-03-02", "-m", "x", "--idempotency-key", "k1",
            "Assets:Bank:Network:EUR 1.00 EUR", "Income:Contributions -1.00 EUR"]
    assert json.loads(ready(*args).output)["created"] is True
    assert json.loads(ready(*args).output)["created"] is False


def test_convert_records_the_rate(ready) -> None:  # type: ignore[no-untyped-def]
    res = ready("--json", "convert", "--date", "2026-03-02",
                "--from", "Assets:Bank:CSQ:CAD", "10000.00",
                "--to", "Assets:Bank:Network:EUR", "6734.01")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["rate"] == "0.673401"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["org", "add", "X", "--kind", "club", "--country", "FR", "--currency", "EUR"], "unknown kind"),
        (["org", "add", "X", "--kind", "union", "--country", "ZZ", "--currency", "EUR"], "country"),
        (["org", "add", "X", "--kind", "union", "--country", "FR", "--currency", "EUX"], "currency"),
        (["org", "add", "Network", "--kind", "network", "--country", "FR", "--currency", "EUR"],
         "already exists"),
        (["org", "show", "Nobody"], "unknown organisation"),
        (["account", "add", "Assets:X", "--type", "asset", "--currency", "EUR",
          "--iban", "FR76 0000 0000 0000"], "IBAN"),
        (["account", "add", "Assets::X", "--type", "asset", "--currency", "EUR"], "account code"),
        (["account", "add", "Assets:X", "--type", "cash", "--currency", "EUR"], "account type"),
        (["account", "add", "Assets:X", "--type", "asset", "--currency", "EUR", "--org", "Nobody"],
         "unknown organisation"),
        (["post", "--date", "2026-03-02", "-m", "x", "Assets:Bank:Network:EUR 1.00 EUR",
          "Income:Contributions -0.99 EUR"], "do not sum to zero"),
        (["post", "--date", "2026-03-02", "-m", "x", "Assets:Bank:Network:EUR 1.001 EUR",
          "Income:Contributions -1.001 EUR"], "decimal"),
        (["post", "--date", "2026-03-02", "-m", "x", "Assets:Nope 1.00 EUR",
          "Income:Contributions -1.00 EUR"], "unknown account"),
        (["post", "--date", "2026-03-02", "-m", "x", "Assets:Bank:CSQ:CAD 1.00 EUR",
          "Income:Contributions -1.00 EUR"], "holds CAD"),
        (["post", "--date", "2026-03-02", "-m", "x", "just-text"], "ACCOUNT AMOUNT CURRENCY"),
        (["post", "--date", "2026-02-30", "-m", "x", "A 1 EUR", "B -1 EUR"], "not a date"),
        (["reverse", "99"], "no journal entry #99"),
        (["balance", "--at", "yesterday"], "not a date"),
        (["convert", "--date", "2026-03-02", "--from", "Assets:Bank:CSQ:CAD", "10",
          "--to", "Assets:Bank:CSQ:CAD", "10"], "two different currencies"),
    ],
)
def test_bad_input_gets_one_clear_line_and_a_non_zero_exit(ready, args, message) -> None:  # type: ignore[no-untyped-def]
    res = ready(*args)
    assert res.exit_code != 0
    assert message in res.output
    assert "Traceback" not in res.output


def test_period_close_refuses_later_posts_into_it(ready) -> None:  # type: ignore[no-untyped-def]
    assert ready("period", "close", "2026-03-31").exit_code == 0
    res = ready("post", "--date", "2026-03-02", "-m", "late", "Assets:Bank:Network:EUR 1.00 EUR",
                "Income:Contributions -1.00 EUR")
    assert res.exit_code == 1 and "closed period" in res.output


def test_json_errors_are_one_json_document(ready) -> None:  # type: ignore[no-untyped-def]
    res = ready("--json", "reverse", "42")
    doc = json.loads(res.stdout)
    assert doc == {"ok": False, "error": "no journal entry #42"}


def test_verify_exits_non_zero_on_a_row_changed_by_raw_sql(ready, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ready("post", "--date", "2026-03-02", "-m", "genuine", "Assets:Bank:Network:EUR 5.00 EUR",
          "Income:Contributions -5.00 EUR")
    con = sqlite3.connect(tmp_path / "cli.db")
    con.execute("DROP TRIGGER journal_entry_no_update")
    con.execute("UPDATE journal_entry SET description = 'forged' WHERE id = 1")
    con.commit()
    con.close()
    res = ready("verify")
    assert res.exit_code == 3 and "entry #1" in res.output


def test_unsupported_database_url_is_a_clear_error(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["--db", "mysql://x/y", "init"])
    assert res.exit_code == 1 and "unsupported database" in res.output


def test_demo_builds_a_verified_fund(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["--json", "demo", "--dir", str(tmp_path / "demo")],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["verify"]["ok"] is True and doc["entries"] > 50
    codes = {b["account"] for b in doc["balances"]}
    assert "Assets:Bank:Network:EUR" in codes and "Equity:Trading:CAD" in codes
