"""Report benchmark: a 100,000-row table rendered to XLSX.

Target (issue: reports, 2-core machine): ≤ 5 s for 100,000 rows × 7 columns
(date, reference, description, amount, currency-keyed amount, member count,
status), including a totals row.
Run: pytest tests/benchmarks/test_bench_xlsx.py --benchmark-only
"""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest

from ledger.money import Money
from reports import labels as L
from reports.model import Column, Report, Section, Table
from reports.render import render

N_ROWS = 100_000
BUDGET_SECONDS = 5.0


@pytest.fixture(scope="module")
def big_report() -> Report:
    start = date(2024, 1, 1)
    currencies = ("EUR", "XOF", "CAD", "SEK")
    rows = [
        {
            "date": start + timedelta(days=i % 366),
            "ref": f"TX{i:08d}",
            "text": f"Cotisation syndicat {i % 97} — adhérent {i}",
            "amount": Money((i * 7919) % 1_000_000 - 300_000, "EUR"),
            "local": (i * 104_729) % 10_000_000,
            "cur": currencies[i % 4],
            "members": i % 5000,
            "status": "ok" if i % 3 else "=SUM(A1:A9)",
            "_style": "error" if i % 1000 == 0 else None,
        }
        for i in range(N_ROWS)
    ]
    table = Table(
        columns=[
            Column("date", L.VALUE_DATE, "date"),
            Column("ref", L.REFERENCE),
            Column("text", L.DESCRIPTION),
            Column("amount", L.AMOUNT, "money"),
            Column("local", L.RECEIVED, "money", currency_key="cur"),
            Column("members", L.MEMBERS, "int"),
            Column("status", L.STATUS),
        ],
        rows=rows,
        totals={"amount": sum((r["amount"] for r in rows), Money.zero("EUR"))},
    )
    return Report(L.CONTRIBUTION_REPORT, sections=[Section(L.RECEIVED, [table])])


def test_a_100k_row_table_renders_to_xlsx_within_budget(benchmark, big_report: Report) -> None:  # type: ignore[no-untyped-def]
    def run() -> int:
        buf = io.BytesIO()
        render(big_report, "xlsx", "fr", buf)
        return buf.tell()

    size = benchmark.pedantic(run, rounds=3, iterations=1)
    assert size > 0
    assert benchmark.stats.stats.mean <= BUDGET_SECONDS
