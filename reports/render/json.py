"""JSON writer: the whole report as one document, for machines and golden tests.

Owns the JSON shape (``"format": "solidarity-ledger/report"``, version 1).
Labels are translated for the chosen language; values are not formatted:
money is ``{"amount": "1234.50", "currency": "EUR"}`` (a decimal string with the
currency's digits), decimals are strings, dates and timestamps ISO 8601.  Text
is kept raw (no formula neutralising: JSON is not evaluated by a spreadsheet).
Keys come out in a fixed order, so the output is byte-stable.
"""

from __future__ import annotations

import json
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
    Msg,
    Paragraph,
    Report,
    ReportError,
    SignOff,
    SummaryLines,
    Table,
    Verbatim,
)
from reports.render._common import Ctx, cell_money

__all__ = ["FORMAT_ID", "FORMAT_VERSION", "render_json", "report_to_dict"]

FORMAT_ID = "solidarity-ledger/report"
FORMAT_VERSION = 1


def _money(m: Money) -> dict[str, str]:
    return {"amount": m.to_decimal_string(), "currency": m.currency}


def _value(ctx: Ctx, value: Any) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, Money):
        return _money(value)
    if isinstance(value, (Msg, Verbatim)):
        return ctx.t(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Integral):
        return index(value)
    raise ReportError(f"unsupported report value {type(value).__name__}")


def _label(ctx: Ctx, label: Any) -> str | None:
    return None if label is None else ctx.t(label)


def _table(ctx: Ctx, table: Table) -> dict[str, Any]:
    cols = table.columns

    def row_dict(row: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for col in cols:
            v = row.get(col.key)
            if col.kind == "money" and isinstance(v, Integral) and not isinstance(v, bool):
                v = cell_money(col, row, v)
            out[col.key] = _value(ctx, v)
        style = table.row_style(row)
        if style:
            out["_style"] = style
        return out

    columns = []
    for col in cols:
        c: dict[str, Any] = {"key": col.key, "label": ctx.t(col.label), "kind": col.kind}
        if col.currency_key:
            c["currency_key"] = col.currency_key
        if col.currency:
            c["currency"] = col.currency
        columns.append(c)
    return {
        "type": "table",
        "title": _label(ctx, table.title),
        "columns": columns,
        "rows": [row_dict(r) for r in table.rows],
        "totals": [row_dict(r) for r in table.total_rows],
    }


def _block(ctx: Ctx, block: Any) -> dict[str, Any]:
    if isinstance(block, Table):
        return _table(ctx, block)
    if isinstance(block, SummaryLines):
        return {
            "type": "summary",
            "title": _label(ctx, block.title),
            "lines": [
                {"label": ctx.t(ln.label), "sign": ln.sign,
                 "amount": None if ln.amount is None else _money(ln.amount),
                 "emphasis": ln.emphasis, "flag": ln.flag, "note": _label(ctx, ln.note),
                 "indent": ln.indent}
                for ln in block.lines
            ],
        }
    if isinstance(block, KeyValues):
        return {
            "type": "key_values",
            "title": _label(ctx, block.title),
            "items": [{"label": ctx.t(k), "value": _value(ctx, v)} for k, v in block.items],
        }
    if isinstance(block, Paragraph):
        return {"type": "paragraph", "kind": block.kind, "text": ctx.t(block.text)}
    if isinstance(block, SignOff):
        return {
            "type": "sign_off",
            "title": _label(ctx, block.title),
            "lines": [{"role": ctx.t(ln.role), "name": ln.name,
                       "date": None if ln.date is None else ln.date.isoformat()}
                      for ln in block.lines],
        }
    if isinstance(block, BarChart):
        return {
            "type": "bar_chart",
            "title": ctx.t(block.title),
            "mode": block.mode,
            "category_label": ctx.t(block.category_label),
            "categories": [c.isoformat() if isinstance(c, date) else ctx.t(c)
                           for c in block.categories],
            "series": [{"name": ctx.t(s.name), "values": [_value(ctx, v) for v in s.values]}
                       for s in block.series],
        }
    if isinstance(block, FlowDiagram):
        return {
            "type": "flow_diagram",
            "title": ctx.t(block.title),
            "nodes": [{"id": n.id, "label": ctx.t(n.label), "column": n.column}
                      for n in block.nodes],
            "links": [{"source": ln.source, "target": ln.target,
                       "value": _value(ctx, ln.value), "style": ln.style}
                      for ln in block.links],
        }
    raise ReportError(f"cannot write {type(block).__name__} to JSON")  # pragma: no cover


def report_to_dict(report: Report, lang: str = "en") -> dict[str, Any]:
    """The report as plain JSON-ready data, labels translated for ``lang``."""
    ctx = Ctx.for_lang(lang)
    return {
        "format": FORMAT_ID,
        "version": FORMAT_VERSION,
        "lang": ctx.choice.language,
        "locale": str(ctx.locale),
        "title": ctx.t(report.title),
        "subtitle": _label(ctx, report.subtitle),
        "generated_at": None if report.generated_at is None else report.generated_at.isoformat(),
        "meta": [{"label": ctx.t(k), "value": _value(ctx, v)} for k, v in report.meta],
        "sections": [
            {"title": ctx.t(s.title), "blocks": [_block(ctx, b) for b in s.blocks]}
            for s in report.sections
        ],
    }


def render_json(report: Report, lang: str = "en") -> str:
    """The report as a JSON text (UTF-8, two-space indent, trailing newline)."""
    return json.dumps(report_to_dict(report, lang), ensure_ascii=False, indent=2) + "\n"
