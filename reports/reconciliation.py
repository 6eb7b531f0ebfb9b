"""The auditor's bank reconciliation statement, built as report data.

Layout: balance per bank statement, + deposits in transit, − outstanding
payments, ± bank errors = adjusted bank balance; balance per books, + bank
credits not yet recorded, − bank charges not yet recorded, ± book errors =
adjusted book balance; the difference (red unless zero).  Then the detail:
matched pairs, unmatched bank lines, unmatched postings, write-offs, sign-off.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ledger.money import Money
from ledger.reconcile import Item, ReconciliationData
from reports import labels as L
from reports.i18n import N_
from reports.model import (
    Column,
    Msg,
    Paragraph,
    Report,
    Section,
    SignOff,
    SignOffLine,
    SummaryLine,
    SummaryLines,
    Table,
    Verbatim,
)

STAGE_LABELS = {
    0: N_("Manual"), 1: N_("Exact key"), 2: N_("Amount, date and text"),
    3: N_("Group"), 4: N_("Posting rule"), 5: N_("Write-off"),
}


def _items_table(items: Sequence[Item], cur: str, title: str, kind: str) -> Table:
    return Table(
        columns=[Column("id", L.BANK_LINE if kind == "line" else L.POSTING, "int"),
                 Column("date", L.DATE, "date"),
                 Column("text", L.DESCRIPTION),
                 Column("reference", N_("Reference")),
                 Column("amount", L.AMOUNT, "money", currency=cur)],
        rows=[{"id": i.id, "date": i.on, "text": i.text, "reference": i.reference,
               "amount": i.amount} for i in items],
        totals={"amount": Money(sum(i.amount.minor for i in items), cur)},
        title=title,
    )


def build_reconciliation_report(
    data: ReconciliationData, line_amounts: dict[int, Money],
    prepared_by: str | None = None, generated_at: datetime | None = None,
) -> Report:
    """The reconciliation statement of ``data`` as a :class:`Report`."""
    cur = data.currency

    def total(items: Sequence[Item]) -> Money:
        return Money(sum(i.amount.minor for i in items), cur)

    diff = data.difference
    summary = SummaryLines([
        SummaryLine(L.BALANCE_PER_BANK, data.bank_balance, emphasis=True),
        SummaryLine(L.DEPOSITS_IN_TRANSIT, total(data.deposits_in_transit), "+", indent=1),
        SummaryLine(L.OUTSTANDING_PAYMENTS, -total(data.outstanding_payments), "-", indent=1),
        SummaryLine(L.BANK_ERRORS, total(data.bank_errors), "+", indent=1),
        SummaryLine(L.ADJUSTED_BANK_BALANCE, data.adjusted_bank, "=", emphasis=True),
        SummaryLine(L.BALANCE_PER_BOOKS, data.book_balance, emphasis=True),
        SummaryLine(L.BANK_CREDITS_NOT_RECORDED, total(data.bank_credits_unrecorded), "+",
                    indent=1),
        SummaryLine(L.BANK_CHARGES_NOT_RECORDED, -total(data.bank_charges_unrecorded), "-",
                    indent=1),
        SummaryLine(L.BOOK_ERRORS, total(data.book_errors), "+", indent=1),
        SummaryLine(L.ADJUSTED_BOOK_BALANCE, data.adjusted_book, "=", emphasis=True),
        SummaryLine(L.DIFFERENCE, diff, "=", emphasis=True, flag=diff.minor != 0),
    ], title=L.BANK_RECONCILIATION)
    verdict = (Paragraph(L.BALANCES_AGREE, "note") if diff.minor == 0
               else Paragraph(Msg(L.BALANCES_DIFFER, amount=diff), "error"))
    source = (N_("Bank balance from the last stated closing balance and the lines after it.")
              if data.bank_balance_source == "statement"
              else N_("No closing balance stated: bank balance summed from the imported lines."))

    matched_rows: list[dict[str, Any]] = []
    for m in data.matched:
        amount = Money(sum(line_amounts[i].minor for i in m["lines"] if i in line_amounts), cur)
        matched_rows.append({
            "match": m["match"], "date": m["date"], "stage": STAGE_LABELS.get(m["stage"], ""),
            "score": m["score"] or "", "lines": ", ".join(str(i) for i in m["lines"]),
            "postings": ", ".join(str(i) for i in m["postings"]), "amount": amount,
            "by": m["by"], "_style": "muted" if m["method"] == "writeoff" else None,
        })
    match_cols = [Column("match", N_("Match"), "int"), Column("date", L.DATE, "date"),
                  Column("stage", L.STAGE), Column("score", L.SCORE),
                  Column("lines", L.BANK_LINE), Column("postings", L.POSTING),
                  Column("amount", L.AMOUNT, "money", currency=cur),
                  Column("by", L.MATCHED_BY)]
    writeoff_rows = [r for r, m in zip(matched_rows, data.matched) if m["method"] == "writeoff"]

    return Report(
        title=L.BANK_RECONCILIATION,
        subtitle=Msg(L.FROM_TO, start=data.start, end=data.end),
        generated_at=generated_at or datetime.now(),
        meta=[(L.ACCOUNT, Verbatim(data.account)), (L.CURRENCY, Verbatim(cur)),
              (L.PERIOD, Msg(L.FROM_TO, start=data.start, end=data.end))],
        sections=[
            Section(L.BANK_RECONCILIATION, [summary, verdict, Paragraph(source, "note")]),
            Section(L.MATCHED_PAIRS, [Table(match_cols, matched_rows)]),
            Section(L.UNMATCHED_BANK_LINES, [
                _items_table(data.bank_credits_unrecorded, cur, L.BANK_CREDITS_NOT_RECORDED, "line"),
                _items_table(data.bank_charges_unrecorded, cur, L.BANK_CHARGES_NOT_RECORDED, "line"),
                _items_table(data.bank_errors, cur, L.BANK_ERRORS, "line"),
            ]),
            Section(L.UNMATCHED_POSTINGS, [
                _items_table(data.deposits_in_transit, cur, L.DEPOSITS_IN_TRANSIT, "posting"),
                _items_table(data.outstanding_payments, cur, L.OUTSTANDING_PAYMENTS, "posting"),
                _items_table(data.book_errors, cur, L.BOOK_ERRORS, "posting"),
            ]),
            Section(L.WRITE_OFFS, [Table(match_cols, writeoff_rows)]),
            Section(L.SIGN_OFF, [SignOff((SignOffLine(L.PREPARED_BY, prepared_by),
                                          SignOffLine(L.REVIEWED_BY)))]),
        ],
    )


def summary_dict(data: ReconciliationData) -> dict[str, Any]:
    """The statement's figures as plain JSON data (amounts as decimal strings)."""
    def s(m: Money) -> str:
        return m.to_decimal_string()

    def tot(items: Sequence[Item]) -> str:
        return s(Money(sum(i.amount.minor for i in items), data.currency))

    return {
        "account": data.account, "currency": data.currency,
        "start": data.start.isoformat(), "end": data.end.isoformat(),
        "bank_balance": s(data.bank_balance), "deposits_in_transit": tot(data.deposits_in_transit),
        "outstanding_payments": tot(data.outstanding_payments),
        "bank_errors": tot(data.bank_errors), "adjusted_bank_balance": s(data.adjusted_bank),
        "book_balance": s(data.book_balance),
        "bank_credits_not_recorded": tot(data.bank_credits_unrecorded),
        "bank_charges_not_recorded": tot(data.bank_charges_unrecorded),
        "book_errors": tot(data.book_errors), "adjusted_book_balance": s(data.adjusted_book),
        "difference": s(data.difference), "matched": len(data.matched),
        "writeoffs": len(data.writeoffs),
    }
