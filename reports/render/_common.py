"""What every renderer shares: translating labels, reading money out of rows,
turning chart/flow blocks into plain tables, and formatting values for display.

Internal to ``reports.render``; report builders never import it.
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from numbers import Integral
from operator import index
from typing import Any

from babel import Locale

from ledger.money import Money, currency_digits
from reports import i18n
from reports.model import (
    BarChart,
    Column,
    FlowDiagram,
    Msg,
    ReportError,
    Table,
    Verbatim,
)

MIXED = "*"
"""Currency plan of a money column whose rows hold several currencies."""


@dataclass(frozen=True)
class Ctx:
    """One render's language: catalog and formatting locale."""

    choice: i18n.LocaleChoice
    translations: gettext.GNUTranslations
    # Long tables repeat the same dates; babel's formatter is the slow part of HTML.
    _dates: dict[date, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def for_lang(cls, lang: str) -> Ctx:
        """Context for ``lang`` (``en``, ``fr``, ``es`` or a full locale such as ``fr_CA``)."""
        return cls(i18n.resolve(lang), i18n.translator(lang))

    @property
    def locale(self) -> Locale:
        """The babel locale numbers and dates are formatted with."""
        return self.choice.locale

    def t(self, label: Any) -> str:
        """Translate a label: ``str`` is a msgid, ``Msg`` is filled, ``Verbatim`` is kept."""
        if label is None:
            return ""
        if isinstance(label, Verbatim):
            return label.text
        if isinstance(label, Msg):
            text = self.translations.gettext(label.msgid) if label.msgid else ""
            values = {k: self.display(v) for k, v in label.params}
            try:
                return text.format(**values)
            except (KeyError, IndexError, ValueError):
                # A translation with a broken placeholder must not kill the report.
                return label.msgid.format(**values)
        if isinstance(label, str):
            return self.translations.gettext(label) if label else ""
        raise ReportError(f"not a label: {type(label).__name__}")

    def display(self, value: Any, kind: str = "text", digits: int | None = None) -> str:
        """A value as text for people, formatted for the locale (HTML, charts, messages)."""
        if value is None:
            return ""
        if isinstance(value, (Msg, Verbatim)):
            return self.t(value)
        if isinstance(value, bool):
            return self.t(i18n.N_("Yes") if value else i18n.N_("No"))
        if isinstance(value, Money):
            return i18n.format_money(value, self.locale)
        if isinstance(value, datetime):
            return i18n.format_datetime(value, self.locale)
        if isinstance(value, date):
            text = self._dates.get(value)
            if text is None:
                text = self._dates[value] = i18n.format_date(value, self.locale)
            return text
        if isinstance(value, float):
            raise ReportError("floats are not report values; use Decimal")
        if kind == "percent" and isinstance(value, (Decimal, Integral)):
            return i18n.format_percent(
                Decimal(index(value)) if isinstance(value, Integral) else value,
                self.locale, 1 if digits is None else digits,
            )
        if isinstance(value, Integral):
            return i18n.format_integer(index(value), self.locale)
        if isinstance(value, Decimal):
            return i18n.format_decimal(value, self.locale, digits)
        if isinstance(value, str):
            return value
        raise ReportError(f"unsupported report value {type(value).__name__}")


def cell_money(column: Column, row: Mapping[str, Any], value: Any) -> Money | None:
    """The Money of a money cell: a ``Money``, or minor units + the row's/column's currency."""
    if value is None or isinstance(value, Money):
        return value
    if isinstance(value, Integral) and not isinstance(value, bool):
        code = row.get(column.currency_key) if column.currency_key else column.currency
        if not code:
            raise ReportError(
                f"column {column.key!r}: minor units {value} without a currency "
                "(set currency_key or currency)"
            )
        return Money(index(value), code)
    raise ReportError(f"column {column.key!r}: a money cell is Money or minor units, "
                      f"not {type(value).__name__}")


def money_plans(table: Table) -> dict[str, str | None]:
    """For each money column: ``None`` (currency per row), one ISO code, or ``MIXED``.

    A column with a ``currency_key`` shows its currency in another column; a
    column of ``Money`` values that all share one currency gets it in its header.
    """
    plans: dict[str, str | None] = {}
    for col in table.columns:
        if col.kind != "money":
            continue
        if col.currency_key:
            plans[col.key] = None
            continue
        if col.currency:
            plans[col.key] = col.currency
            continue
        seen: set[str] = set()
        for row in (*table.rows, *table.total_rows):
            v = row.get(col.key)
            if isinstance(v, Money):
                seen.add(v.currency)
                if len(seen) > 1:
                    break
        plans[col.key] = seen.pop() if len(seen) == 1 else (MIXED if seen else None)
    return plans


def money_number_format(currency: str, with_code: bool = False) -> str:
    """Spreadsheet number format with the currency's digits (``#,##0.00``, ``#,##0``)."""
    digits = currency_digits(currency)
    fmt = "#,##0" + ("." + "0" * digits if digits else "")
    return f'{fmt}\\ "{currency}"' if with_code else fmt


def chart_table(chart: BarChart, ctx: Ctx) -> Table:
    """A bar/line chart as a table: one row per category (as text), one column per series."""
    cur = chart.currency
    columns = [Column("category", chart.category_label, "text")]
    kind = "money" if cur else "decimal"
    for i, s in enumerate(chart.series):
        columns.append(Column(f"s{i}", s.name, kind))  # type: ignore[arg-type]
    rows = []
    for ci, cat in enumerate(chart.categories):
        row: dict[str, Any] = {"category": Verbatim(category_label(ctx, cat))}
        for i, s in enumerate(chart.series):
            v = s.values[ci]
            if cur and isinstance(v, Integral) and not isinstance(v, Money):
                v = Money(index(v), cur)
            row[f"s{i}"] = v
        rows.append(row)
    return Table(columns=columns, rows=rows, title=chart.title)


def flow_table(flow: FlowDiagram, ctx: Ctx) -> Table:
    """A flow diagram as a table of links: from, to, value (node labels translated)."""
    labels = {n.id: Verbatim(ctx.t(n.label)) for n in flow.nodes}
    cur = flow.currency
    columns = [
        Column("from", i18n.N_("From")),
        Column("to", i18n.N_("To")),
        Column("value", i18n.N_("Amount") if cur else i18n.N_("Value"),
               "money" if cur else "decimal"),
    ]
    rows = [
        {"from": labels[link.source], "to": labels[link.target], "value": link.value,
         "_style": "error" if link.style == "loss" else None}
        for link in flow.links
    ]
    return Table(columns=columns, rows=rows, title=flow.title)


def category_label(ctx: Ctx, category: Any) -> str:
    """A chart category as text: dates as months, labels translated."""
    if isinstance(category, date):
        return i18n.format_month(category, ctx.locale)
    return ctx.t(category)


def totals_label_key(table: Table) -> str | None:
    """The column that shows "Total" on a total row: the first text or date column."""
    return next((c.key for c in table.columns if c.kind in ("text", "date", "datetime")), None)


def text_of(ctx: Ctx, value: Any) -> str:
    """A text cell's content: data strings as written, labels translated, others displayed."""
    if isinstance(value, str):
        return value
    return ctx.display(value)


SIGN_WORDS = {"+": i18n.N_("Add"), "-": i18n.N_("Less"), "=": ""}
"""Sign of a summary line in spreadsheets, as words (a bare ``+``/``=`` reads as a formula)."""
