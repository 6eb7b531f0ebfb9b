"""The JSON of a sample report matches its golden file, byte for byte.

Regenerate after an intended change with
``SOLIDARITY_UPDATE_GOLDEN=1 .venv/bin/pytest tests/golden/test_golden_report_json.py``
and review the diff.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from ledger.money import Money
from reports import labels as L
from reports.model import (
    BarChart,
    Column,
    FlowDiagram,
    FlowLink,
    FlowNode,
    KeyValues,
    Msg,
    Note,
    Report,
    Section,
    Series,
    SignOff,
    SignOffLine,
    SummaryLine,
    SummaryLines,
    Table,
    Verbatim,
)
from reports.render.json import render_json

GOLDEN = Path(__file__).parent / "reports"


def eur(text: str) -> Money:
    return Money.of(text, "EUR")


def sample_report() -> Report:
    """A small reconciliation + flows report touching every block kind."""
    summary = SummaryLines([
        SummaryLine(L.BALANCE_PER_BANK, eur("10000.00"), emphasis=True),
        SummaryLine(L.DEPOSITS_IN_TRANSIT, eur("50.00"), "+", indent=1),
        SummaryLine(L.OUTSTANDING_PAYMENTS, eur("20.00"), "-", indent=1),
        SummaryLine(L.ADJUSTED_BANK_BALANCE, eur("10030.00"), "=", emphasis=True),
        SummaryLine(L.BALANCE_PER_BOOKS, eur("10029.90"), emphasis=True),
        SummaryLine(L.DIFFERENCE, eur("0.10"), flag=True, emphasis=True,
                    note=Msg(L.BALANCES_DIFFER, amount=eur("0.10"))),
    ])
    unmatched = Table(
        columns=[Column("date", L.VALUE_DATE, "date"), Column("ref", L.REFERENCE),
                 Column("text", L.DESCRIPTION), Column("amount", L.AMOUNT, "money"),
                 Column("score", L.SCORE, "decimal", digits=2)],
        rows=[
            {"date": date(2024, 1, 30), "ref": "B-17", "text": '=HYPERLINK("http://x","y")',
             "amount": eur("50.00"), "score": Decimal("0.42"), "_style": "warning"},
            {"date": date(2024, 1, 31), "ref": "B-18", "text": "Frais SWIFT",
             "amount": eur("-15.25"), "score": None, "_style": "error"},
        ],
        totals={"amount": eur("34.75")},
    )
    corridor = Table(
        columns=[Column("org", L.ORGANISATION),
                 Column("sent", L.SENT, "money", currency_key="cur"),
                 Column("cur", L.CURRENCY),
                 Column("members", L.MEMBERS, "int"),
                 Column("ratio", L.PASS_THROUGH_RATIO, "percent")],
        rows=[{"org": "MUTEB", "sent": 655_957, "cur": "XOF", "members": 1200,
               "ratio": Decimal("0.985")},
              {"org": "KTA", "sent": 1_234_567, "cur": "KWD", "members": 10,
               "ratio": Decimal(1)}],
        title=L.CORRIDOR,
    )
    chart = BarChart(
        L.PASS_THROUGH_PER_UNION_PER_MONTH, [date(2024, 1, 1), date(2024, 2, 1)],
        [Series(Verbatim("SNES"), [eur("1000.00"), eur("1200.00")]),
         Series(Verbatim("CSQ"), [eur("800.00"), None])],
    )
    flow = FlowDiagram(
        L.NORTH_SOUTH_FLOWS,
        [FlowNode("snes", Verbatim("SNES"), 0), FlowNode("muteb", Verbatim("MUTEB"), 1),
         FlowNode("fees", L.FEES, 1)],
        [FlowLink("snes", "muteb", eur("990.00")), FlowLink("snes", "fees", eur("10.00"), "loss")],
    )
    return Report(
        title=L.BANK_RECONCILIATION,
        subtitle=Msg(L.FROM_TO, start=date(2024, 1, 1), end=date(2024, 1, 31)),
        generated_at=datetime(2024, 2, 1, 9, 30, tzinfo=UTC),
        meta=[(L.BANK_ACCOUNT, Verbatim("FR76 3000 6000 0112 3456 7890 189")),
              (L.PERIOD, "2024-01")],
        sections=[
            Section(L.BANK_RECONCILIATION, [
                summary,
                KeyValues([(L.MATCHED_PAIRS, 128), (L.WRITE_OFFS, eur("0.00"))]),
                SignOff([SignOffLine(L.PREPARED_BY, "A. Trésorière", date(2024, 2, 1)),
                         SignOffLine(L.REVIEWED_BY)]),
            ]),
            Section(L.UNMATCHED_BANK_LINES, [unmatched, Note(L.NOT_RECONCILED)]),
            Section(L.FLOWS_REPORT, [corridor, chart, flow]),
        ],
    )


@pytest.mark.parametrize("lang", ["en", "fr", "es"])
def test_sample_report_json_matches_its_golden_file(lang: str) -> None:
    golden = GOLDEN / f"sample_report.{lang}.json"
    actual = render_json(sample_report(), lang)
    if os.environ.get("SOLIDARITY_UPDATE_GOLDEN"):
        golden.write_text(actual, encoding="utf-8")
    assert actual == golden.read_text(encoding="utf-8")
