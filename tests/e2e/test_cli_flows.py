"""rates, pledge, transfer and the flows/contributions reports through the CLI, good
input and bad."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result


@pytest.fixture
def ready(run, tmp_path: Path):  # type: ignore[no-untyped-def]
    assert run("init").exit_code == 0
    for args in (
        ["CSQ", "--kind", "union", "--country", "CA", "--currency", "CAD", "--members", "48000",
         "--period", "2026"],
        ["Network", "--kind", "network", "--country", "FR", "--currency", "EUR"],
        ["MUTEB", "--kind", "mutual", "--country", "BF", "--currency", "XOF"],
    ):
        assert run("org", "add", *args).exit_code == 0
    for code, cur, org in (("Assets:Bank:CSQ:CAD", "CAD", "CSQ"),
                           ("Assets:Bank:Network:EUR", "EUR", "Network"),
                           ("Assets:Bank:MUTEB:XOF", "XOF", "MUTEB")):
        assert run("account", "add", code, "--type", "asset", "--currency", cur,
                   "--org", org).exit_code == 0
    assert run("account", "add", "Income:Contributions:CSQ", "--type", "income", "--currency",
               "CAD", "--org", "CSQ").exit_code == 0
    rates = tmp_path / "rates.csv"
    rates.write_text("date,currency,rate_per_eur\n2026-03-02,CAD,1.4850\n"
                     "2026-03-04,CAD,1.4870\n")
    res = run("rates", "import", str(rates))
    assert res.exit_code == 0, res.output
    res = run("post", "--date", "2026-03-02", "-m", "CSQ contribution",
              "Assets:Bank:CSQ:CAD 10025.00 CAD", "Income:Contributions:CSQ -10025.00 CAD")
    assert res.exit_code == 0, res.output
    return run


def ok(res: Result) -> dict:  # type: ignore[type-arg]
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def fails(res: Result, text: str) -> None:
    assert res.exit_code != 0, res.output
    assert text in res.output, res.output
    assert "Traceback" not in res.output


SEND1 = ["transfer", "send", "--from-org", "CSQ", "--to-org", "Network", "--from-account",
         "Assets:Bank:CSQ:CAD", "--amount", "10000.00", "--fee", "25.00", "--bearer", "OUR",
         "--date", "2026-03-02", "--reference", "T-1"]
SEND2 = ["transfer", "send", "--from-org", "Network", "--to-org", "MUTEB", "--from-account",
         "Assets:Bank:Network:EUR", "--amount", "6700.00", "--fee", "15.00",
         "--date", "2026-03-05", "--reference", "T-2", "--previous", "T-1",
         "--override", "--reason", "Board decision: facts to be filed"]


def test_rates_import_is_idempotent_and_rates_show_looks_up_as_of_a_date(ready, tmp_path):  # type: ignore[no-untyped-def]
    again = tmp_path / "again.csv"
    again.write_text("date,currency,rate_per_eur\n2026-03-02,CAD,1.4850\n")
    doc = ok(ready("--json", "rates", "import", str(again)))
    assert (doc["files"][0]["new"], doc["files"][0]["known"]) == (0, 1)
    shown = ok(ready("--json", "rates", "show", "CAD", "--on", "2026-03-03"))
    assert (shown["per_eur"], shown["rate_date"]) == ("1.4850", "2026-03-02")
    listed = ok(ready("--json", "rates", "list"))
    assert {c["currency"] for c in listed["currencies"]} >= {"CAD", "EUR", "XOF"}
    assert "XOF on 2026-03-03: 655.957" in ready("rates", "show", "XOF", "--on",
                                                 "2026-03-03").output


def test_bad_rate_input_is_refused_with_a_clear_line(ready, tmp_path):  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.csv"
    bad.write_text("date,currency,rate_per_eur\n2026-03-02,CAD,1.50\nnot-a-date,CAD,1\n")
    res = ready("rates", "import", str(bad))
    fails(res, f"{bad}:3: not a date")
    fails(res, "nothing was stored")
    fails(ready("rates", "show", "CAD", "--on", "2026-04-01"), "days old, the maximum is 7")
    fails(ready("rates", "show", "ZZZ"), "unknown currency")
    fails(ready("rates", "import", str(tmp_path / "missing.csv")), "does not exist")


def test_pledges_are_added_and_listed(ready):  # type: ignore[no-untyped-def]
    doc = ok(ready("--json", "pledge", "add", "CSQ", "--from", "2026-01-01", "--to",
                   "2026-12-31"))
    assert doc["expected"] == {"amount": "48000.00", "currency": "EUR"}
    ok(ready("--json", "pledge", "add", "Network", "--rate", "0.10", "--per", "month",
             "--members", "10", "--from", "2026-01-01", "--to", "2026-06-30"))
    listed = ok(ready("--json", "pledge", "list", "--year", "2026"))
    assert [p["organisation"] for p in listed["pledges"]] == ["CSQ", "Network"]
    fails(ready("pledge", "add", "CSQ", "--from", "2026-06-01", "--to", "2026-07-01"),
          "overlapping")
    fails(ready("pledge", "add", "MUTEB", "--from", "2026-01-01", "--to", "2026-12-31"),
          "no member count declared")
    fails(ready("pledge", "add", "CSQ", "--rate", "abc", "--from", "2027-01-01", "--to",
                "2027-12-31", "--members", "1"), "pledge rate")
    fails(ready("pledge", "add", "Nobody", "--from", "2026-01-01", "--to", "2026-12-31"),
          "unknown organisation")
    fails(ready("pledge", "add", "CSQ", "--from", "2026-13-01", "--to", "2026-12-31"),
          "is not a date")


def test_the_worked_example_through_the_cli(ready):  # type: ignore[no-untyped-def]
    sent = ok(ready("--json", *SEND1))
    assert sent["status"] == "pending" and sent["value_sent_eur"]["amount"] == "6750.85"
    got = ok(ready("--json", "transfer", "receive", "T-1", "--account",
                   "Assets:Bank:Network:EUR", "--amount", "6702.18", "--date", "2026-03-04"))
    assert got["loss_eur"]["amount"] == "48.67" and got["exchange_eur"]["amount"] == "31.83"
    assert "loss_within_tolerance" in {f["rule"] for f in got["flags"]}
    forwarded = ok(ready("--json", *SEND2))
    assert forwarded["override_reason"] == "Board decision: facts to be filed"
    got = ok(ready("--json", "transfer", "receive", "T-2", "--account", "Assets:Bank:MUTEB:XOF",
                   "--amount", "4370000", "--date", "2026-03-09", "--receiver-fee", "5000",
                   "--intermediary", "20.00", "--intermediary-currency", "EUR"))
    assert (got["loss_eur"]["amount"], got["fees_eur"]["amount"],
            got["exchange_eur"]["amount"]) == ("52.98", "42.62", "10.36")
    shown = ready("transfer", "show", "T-2")
    assert "loss 52.98 EUR = fees 42.62 EUR + exchange 10.36 EUR; 4 day(s)" in shown.output
    listed = ok(ready("--json", "transfer", "list", "--status", "settled"))
    assert [t["reference"] for t in listed["transfers"]] == ["T-1", "T-2"]
    assert ok(ready("--json", "verify"))["ok"]


def test_pending_transfers_are_flagged_and_can_be_voided(ready):  # type: ignore[no-untyped-def]
    ok(ready("--json", *SEND1))
    listed = ok(ready("--json", "transfer", "list", "--flag-older-than", "10", "--as-of",
                      "2026-03-20"))
    assert listed["transfers"][0]["overdue"] is True
    text = ready("transfer", "list", "--flag-older-than", "10", "--as-of", "2026-03-20")
    assert "PENDING>10d" in text.output and "days_pending" in text.output
    voided = ok(ready("--json", "transfer", "void", "T-1", "--date", "2026-03-21"))
    assert voided["status"] == "void" and voided["loss_eur"]["amount"] == "16.84"
    fails(ready("transfer", "void", "T-1", "--date", "2026-03-22"), "is void, not pending")


def test_bad_transfer_input_is_refused_without_a_traceback(ready):  # type: ignore[no-untyped-def]
    fails(ready(*SEND1[:-2], "--reference", "T-9", "--override"), "--override needs --reason")
    fails(ready(*[a if a != "10000.00" else "ten" for a in SEND1]), "--amount")
    fails(ready(*[a if a != "OUR" else "XYZ" for a in SEND1]), "Invalid value for '--bearer'")
    fails(ready(*[a if a != "Network" else "Nobody" for a in SEND1]), "unknown organisation")
    fails(ready(*[a if a != "2026-03-02" else "2026-06-02" for a in SEND1]),
          "days old, the maximum is 7")
    fails(ready(*SEND1, "--bank-line", "999"), "no bank line #999")
    fails(ready("transfer", "receive", "NOPE", "--account", "Assets:Bank:MUTEB:XOF",
                "--amount", "1", "--date", "2026-03-09"), "no transfer 'NOPE'")
    ok(ready("--json", *SEND1))
    fails(ready(*SEND1), "T-1 already exists")
    # No facts recorded for the mutual: the eligibility gate refuses, nothing is posted.
    fails(ready(*SEND2[:-3]), "MUTEB is incomplete on 2026-03-05")
    fails(ready(*SEND2[:-3], "--reason", "x"), "--reason goes with --override")

    fails(ready("transfer", "receive", "T-1", "--account", "Assets:Bank:MUTEB:XOF",
                "--amount", "1", "--date", "2026-03-04"), "does not belong to Network")
    fails(ready("transfer", "receive", "T-1", "--account", "Assets:Bank:Network:EUR",
                "--amount", "1", "--date", "2026-03-01"), "before it was sent")
    fails(ready("transfer", "show", "NOPE"), "no transfer")
    fails(ready("transfer", "list", "--status", "lost"), "Invalid value for '--status'")


def test_reports_are_written_in_every_format(ready, tmp_path):  # type: ignore[no-untyped-def]
    ok(ready("--json", "pledge", "add", "CSQ", "--from", "2026-01-01", "--to", "2026-12-31",
             "--rate", "1.00", "--currency", "CAD"))
    ok(ready("--json", *SEND1))
    ok(ready("--json", "transfer", "receive", "T-1", "--account", "Assets:Bank:Network:EUR",
             "--amount", "6702.18", "--date", "2026-03-04"))
    for kind in ("flows", "contributions"):
        for fmt in ("xlsx", "html", "csv", "json"):
            out = tmp_path / f"{kind}.{fmt}"
            res = ready("--json", "report", kind, "--year", "2026", "--format", fmt,
                        "--lang", "fr", "-o", str(out))
            assert res.exit_code == 0, res.output
            assert out.stat().st_size > 0
    doc = json.loads((tmp_path / "flows.json").read_text())
    assert "CSQ" in json.dumps(doc, ensure_ascii=False)
    html = (tmp_path / "flows.html").read_text()
    assert "<svg" in html
    fails(ready("report", "flows", "--year", "99999", "--format", "json"), "not a plausible year")
    fails(ready("report", "flows", "--format", "xlsx", "--year", "2026"), "-o FILE is needed")
