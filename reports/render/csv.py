"""CSV writer: the whole report as one CSV file, block after block.

Owns the CSV layout, chosen so one file opens in a spreadsheet and still splits
cleanly for a program:

- every block (table, summary, key/values, note, sign-off, chart or flow data)
  starts with its own header row, and blocks are separated by one empty line;
- the first column of every row is the section title (``Section``), followed
  by `` — table title`` for a titled table, so the rows of one block can be
  filtered;
- the report's title, subtitle, meta lines and generation time come first, as
  a key/value block whose section is the report title.

Labels are translated; values are locale-neutral so they re-import exactly:
decimal point, no grouping, ISO dates, money as a decimal string with the
currency's digits (``1234.50``) — a money column whose rows share one currency
names it in its header (``Amount (EUR)``), one whose rows mix currencies is
followed by a currency column.  Percentages are fractions (``0.125``).
Encoding UTF-8 with a byte-order mark (Excel needs it to read accents), CRLF
line ends (RFC 4180).  Every text cell goes through
:func:`reports.safety.neutralise`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from numbers import Integral
from operator import index
from typing import Any

from ledger.money import Money
from reports.model import (
    BarChart,
    FlowDiagram,
    KeyValues,
    Paragraph,
    Report,
    ReportError,
    Section,
    SignOff,
    SummaryLines,
    Table,
)
from reports.render._common import (
    MIXED,
    SIGN_WORDS,
    Ctx,
    cell_money,
    chart_table,
    flow_table,
    money_plans,
    text_of,
    totals_label_key,
)
from reports.safety import neutralise

__all__ = ["render_csv"]


def _plain(ctx: Ctx, value: Any) -> str:
    """A value as locale-neutral CSV text (numbers untouched, text neutralised)."""
    if value is None:
        return ""
    if isinstance(value, Money):
        return value.to_decimal_string()
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Integral) and not isinstance(value, bool):
        return str(index(value))
    return neutralise(text_of(ctx, value))


class _Out:
    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.buf = io.StringIO()
        self.writer = csv.writer(self.buf, lineterminator="\r\n")
        self.started = False

    def block(self, section: str, header: Iterable[str], rows: Iterable[list[str]]) -> None:
        if self.started:
            self.writer.writerow([])
        self.started = True
        sec = neutralise(section)
        self.writer.writerow([neutralise(self.ctx.t("Section")),
                              *(neutralise(h) for h in header)])
        for row in rows:
            self.writer.writerow([sec, *row])


def _table(out: _Out, section: str, table: Table) -> None:
    ctx = out.ctx
    plans = money_plans(table)
    header: list[str] = []
    for col in table.columns:
        label = ctx.t(col.label)
        plan = plans.get(col.key)
        if plan and plan != MIXED:
            label = f"{label} ({plan})"
        header.append(label)
        if plan == MIXED:
            header.append(f"{ctx.t(col.label)} ({ctx.t('Currency')})")

    first_text = totals_label_key(table)

    def cells(row: Any, total: bool) -> list[str]:
        out_row: list[str] = []
        for col in table.columns:
            v = row.get(col.key)
            if total and v in (None, "") and col.key == first_text:
                v = ctx.t(table.totals_label)
            if col.kind == "money" and isinstance(v, Integral) and not isinstance(v, bool):
                v = cell_money(col, row, v)
            out_row.append(_plain(ctx, v))
            if plans.get(col.key) == MIXED:
                out_row.append(v.currency if isinstance(v, Money) else "")
        return out_row

    def rows() -> Iterable[list[str]]:
        for row in table.rows:
            yield cells(row, False)
        for total in table.total_rows:
            yield cells(total, True)

    if table.title is not None:
        # A titled table is told apart in the section column, so every block keeps
        # exactly one header row.
        section = f"{section} — {ctx.t(table.title)}"
    out.block(section, header, rows())


def _section(out: _Out, section: Section) -> None:
    ctx = out.ctx
    title = ctx.t(section.title)
    for block in section.blocks:
        if isinstance(block, Table):
            _table(out, title, block)
        elif isinstance(block, SummaryLines):
            out.block(title, [ctx.t(h) for h in ("Label", "Sign", "Amount", "Currency", "Note")], (
                [neutralise(ctx.t(ln.label)),
                 neutralise(ctx.t(SIGN_WORDS[ln.sign])) if ln.sign else "",
                 _plain(ctx, ln.amount), ln.amount.currency if ln.amount else "",
                 _plain(ctx, ln.note)]
                for ln in block.lines
            ))
        elif isinstance(block, KeyValues):
            _keyvalues(out, title, block.items)
        elif isinstance(block, Paragraph):
            out.block(title, [ctx.t("Note")], [[_plain(ctx, block.text)]])
        elif isinstance(block, SignOff):
            out.block(title, [ctx.t(h) for h in ("Sign-off", "Name", "Date")], (
                [neutralise(ctx.t(ln.role)), _plain(ctx, ln.name), _plain(ctx, ln.date)]
                for ln in block.lines
            ))
        elif isinstance(block, BarChart):
            _table(out, title, chart_table(block, ctx))
        elif isinstance(block, FlowDiagram):
            _table(out, title, flow_table(block, ctx))
        else:  # pragma: no cover - Section validates its blocks
            raise ReportError(f"cannot write {type(block).__name__} to CSV")


def _keyvalues(out: _Out, section: str, items: Iterable[tuple[Any, Any]]) -> None:
    ctx = out.ctx
    out.block(section, [ctx.t(h) for h in ("Label", "Value", "Currency")], (
        [neutralise(ctx.t(label)), _plain(ctx, value),
         value.currency if isinstance(value, Money) else ""]
        for label, value in items
    ))


def render_csv(report: Report, lang: str = "en") -> str:
    """The report as CSV text (see the module docstring for the layout)."""
    ctx = Ctx.for_lang(lang)
    out = _Out(ctx)
    head: list[tuple[Any, Any]] = []
    if report.subtitle is not None:
        head.append(("Description", report.subtitle))
    head.extend(report.meta)
    if report.generated_at is not None:
        head.append(("Generated at", report.generated_at))
    _keyvalues(out, ctx.t(report.title), head)
    for section in report.sections:
        _section(out, section)
    return out.buf.getvalue()
