"""A report is data: a title, meta lines and sections of blocks.

Owns the frozen value types every report is built from (``Report``,
``Section``, ``Table``, ``SummaryLines``, ``KeyValues``, ``Paragraph``,
``SignOff``, ``BarChart``, ``FlowDiagram``).  Nothing here formats or writes: the
renderers in ``reports.render`` do, for XLSX, HTML, CSV and JSON.  Must not
import the database.

Labels (titles, column labels, line labels) are gettext msgids translated at
render time: a plain ``str`` label is looked up in the catalog (an unknown
string shows as written), ``Msg("From {start} to {end}", start=d1, end=d2)``
is translated then filled with locale-formatted values, and ``Verbatim(text)``
is never translated (names that come from data).

Cell values are ``Money``, ``int`` (minor units when the column is ``money``
with a ``currency_key``/``currency``), ``Decimal``, ``date``, ``datetime``,
``str`` (data, never translated), ``Msg``/``Verbatim``, ``bool`` or ``None``.
Floats are refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from ledger.money import Money, check_currency
from reports.i18n import N_

__all__ = [
    "ROW_STYLES",
    "STYLE_KEY",
    "BarChart",
    "Block",
    "Column",
    "ColumnKind",
    "FlowDiagram",
    "FlowLink",
    "FlowNode",
    "KeyValues",
    "Label",
    "Msg",
    "Note",
    "Paragraph",
    "Report",
    "ReportError",
    "Section",
    "Series",
    "SignOff",
    "SignOffLine",
    "SummaryLine",
    "SummaryLines",
    "Table",
    "Verbatim",
]


class ReportError(ValueError):
    """A report that cannot be built or rendered as described."""


@dataclass(frozen=True, slots=True, init=False)
class Msg:
    """A translatable label with named parameters: ``Msg("Page {page}", page=2)``."""

    msgid: str
    params: tuple[tuple[str, Any], ...]

    def __init__(self, msgid: str, /, **params: Any) -> None:
        if not isinstance(msgid, str):
            raise ReportError("a message id must be text")
        object.__setattr__(self, "msgid", msgid)
        object.__setattr__(self, "params", tuple(sorted(params.items())))


@dataclass(frozen=True, slots=True)
class Verbatim:
    """Text shown exactly as written, never looked up in the catalog (names from data)."""

    text: str


Label = str | Msg | Verbatim
ColumnKind = Literal["text", "money", "int", "decimal", "percent", "date", "datetime"]
_KINDS = ("text", "money", "int", "decimal", "percent", "date", "datetime")

#: Row styles a table row may carry under ``Table.style_key``.
ROW_STYLES = ("error", "warning", "ok", "muted")
#: Default row key holding a row's style (``{"ref": "X", "_style": "error"}``).
STYLE_KEY = "_style"


# Default labels, marked for extraction once (a call in a dataclass default hides it).
_TOTAL = N_("Total")
_NO_ITEMS = N_("No items")
_SIGN_OFF = N_("Sign-off")
_PERIOD = N_("Period")


def _check_label(value: object, what: str) -> None:
    if not isinstance(value, (str, Msg, Verbatim)):
        raise ReportError(f"{what} must be a label (str, Msg or Verbatim), not {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class Column:
    """A table column: row key, label, kind, and where a money cell finds its currency.

    A ``money`` column holds ``Money`` values, or integer minor units whose
    currency is the row's ``currency_key`` value or the fixed ``currency``.
    ``digits`` sets the decimals shown for ``decimal``/``percent`` columns.
    """

    key: str
    label: Label
    kind: ColumnKind = "text"
    currency_key: str | None = None
    currency: str | None = None
    digits: int | None = None
    width: int | None = None

    def __post_init__(self) -> None:
        _check_label(self.label, f"column {self.key!r} label")
        if self.kind not in _KINDS:
            raise ReportError(f"column {self.key!r}: unknown kind {self.kind!r}")
        if (self.currency_key or self.currency) and self.kind != "money":
            raise ReportError(f"column {self.key!r}: only money columns have a currency")
        if self.currency is not None:
            object.__setattr__(self, "currency", check_currency(self.currency))


@dataclass(frozen=True, slots=True)
class Table:
    """Rows of cells under labelled columns, with optional total rows.

    ``rows`` are mappings from column key to value (extra keys are ignored,
    except ``style_key`` whose value is one of ``ROW_STYLES``).  ``totals`` is
    one mapping or a sequence of them (e.g. one total row per currency); the
    ``totals_label`` goes in the first text column a total row leaves empty.
    """

    columns: Sequence[Column]
    rows: Sequence[Mapping[str, Any]] = ()
    totals: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None
    title: Label | None = None
    style_key: str = STYLE_KEY
    totals_label: Label = _TOTAL
    empty_text: Label = _NO_ITEMS

    def __post_init__(self) -> None:
        cols = tuple(self.columns)
        if not cols:
            raise ReportError("a table needs at least one column")
        keys = [c.key for c in cols]
        if len(set(keys)) != len(keys):
            raise ReportError(f"duplicate column keys in {keys}")
        object.__setattr__(self, "columns", cols)
        if not isinstance(self.rows, (list, tuple)):
            object.__setattr__(self, "rows", tuple(self.rows))
        totals = self.totals
        if totals is None:
            totals = ()
        elif isinstance(totals, Mapping):
            totals = (totals,)
        else:
            totals = tuple(totals)
        object.__setattr__(self, "totals", totals)
        if self.title is not None:
            _check_label(self.title, "table title")

    @property
    def total_rows(self) -> tuple[Mapping[str, Any], ...]:
        """The total rows, always as a tuple."""
        return self.totals  # type: ignore[return-value]

    def row_style(self, row: Mapping[str, Any]) -> str | None:
        """The style of ``row`` (``error``, ``warning``, ``ok``, ``muted``) or ``None``."""
        style = row.get(self.style_key)
        return style if style in ROW_STYLES else None


@dataclass(frozen=True, slots=True)
class KeyValues:
    """Label/value pairs shown as a two-column block (account, period, rule set, …)."""

    items: Sequence[tuple[Label, Any]]
    title: Label | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(tuple(i) for i in self.items))
        for item in self.items:
            if len(item) != 2:
                raise ReportError("a key/value item is a (label, value) pair")
            _check_label(item[0], "key/value label")


@dataclass(frozen=True, slots=True)
class SummaryLine:
    """One line of a reconciliation-style statement.

    ``sign`` marks how the line combines (``"+"`` add, ``"-"`` less, ``"="``
    result) and is shown beside ``amount`` as given — the amount is not negated.
    ``emphasis`` shows a subtotal in bold; ``flag`` shows the line in red (a
    difference that is not zero).
    """

    label: Label
    amount: Money | None = None
    sign: Literal["+", "-", "="] | None = None
    emphasis: bool = False
    flag: bool = False
    note: Label | None = None
    indent: int = 0

    def __post_init__(self) -> None:
        _check_label(self.label, "summary line label")
        if self.sign not in (None, "+", "-", "="):
            raise ReportError(f"summary line sign must be +, - or =, not {self.sign!r}")
        if self.amount is not None and not isinstance(self.amount, Money):
            raise ReportError("a summary line amount is Money")


@dataclass(frozen=True, slots=True)
class SummaryLines:
    """A statement of lines that add up (balance per bank ± items = adjusted balance)."""

    lines: Sequence[SummaryLine]
    title: Label | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))


@dataclass(frozen=True, slots=True)
class Paragraph:
    """Running text; ``kind`` is ``text``, ``note``, ``warning`` or ``error``."""

    text: Label
    kind: Literal["text", "note", "warning", "error"] = "text"

    def __post_init__(self) -> None:
        _check_label(self.text, "paragraph text")
        if self.kind not in ("text", "note", "warning", "error"):
            raise ReportError(f"unknown paragraph kind {self.kind!r}")


@dataclass(frozen=True, slots=True)
class Note(Paragraph):
    """A paragraph shown as a note (smaller, muted)."""

    kind: Literal["text", "note", "warning", "error"] = "note"


@dataclass(frozen=True, slots=True)
class SignOffLine:
    """One signature line: role, and the name and date if already known (blank to sign)."""

    role: Label
    name: str | None = None
    date: date | None = None


@dataclass(frozen=True, slots=True)
class SignOff:
    """The sign-off block: prepared by / reviewed by, each with name, date and signature."""

    lines: Sequence[SignOffLine] = (
        SignOffLine(N_("Prepared by")),
        SignOffLine(N_("Reviewed by")),
    )
    title: Label | None = _SIGN_OFF

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))


@dataclass(frozen=True, slots=True)
class Series:
    """One named series of a bar/line chart; values align with the chart's categories."""

    name: Label
    values: Sequence[Money | Decimal | int | None]

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(self.values))
        for v in self.values:
            if v is not None and (isinstance(v, (bool, float)) or
                                  not isinstance(v, (Money, Decimal, int))):
                raise ReportError(f"chart values are Money, Decimal or int, not {type(v).__name__}")


@dataclass(frozen=True, slots=True)
class BarChart:
    """A bar chart (grouped or stacked) or line chart over categories (e.g. months).

    Categories are labels, plain text or dates (shown as months).  Money values
    in one chart share one currency.  HTML draws inline SVG; XLSX/CSV/JSON show
    the numbers as a table (category × series).
    """

    title: Label
    categories: Sequence[Label | date]
    series: Sequence[Series]
    mode: Literal["grouped", "stacked", "line"] = "grouped"
    category_label: Label = _PERIOD

    def __post_init__(self) -> None:
        object.__setattr__(self, "categories", tuple(self.categories))
        object.__setattr__(self, "series", tuple(self.series))
        if self.mode not in ("grouped", "stacked", "line"):
            raise ReportError(f"unknown chart mode {self.mode!r}")
        for s in self.series:
            if len(s.values) != len(self.categories):
                raise ReportError("each series needs one value per category")
        currencies = {v.currency for s in self.series for v in s.values if isinstance(v, Money)}
        if len(currencies) > 1:
            raise ReportError(f"one chart, one currency (got {sorted(currencies)})")

    @property
    def currency(self) -> str | None:
        """The currency of the chart's Money values, if any."""
        for s in self.series:
            for v in s.values:
                if isinstance(v, Money):
                    return v.currency
        return None


@dataclass(frozen=True, slots=True)
class FlowNode:
    """A node of a flow diagram; ``column`` places it (0 = left), else it follows its links."""

    id: str
    label: Label
    column: int | None = None


@dataclass(frozen=True, slots=True)
class FlowLink:
    """A weighted link; ``style`` ``loss`` draws in red, ``held`` muted."""

    source: str
    target: str
    value: Money | Decimal | int
    style: Literal["normal", "loss", "held"] = "normal"


@dataclass(frozen=True, slots=True)
class FlowDiagram:
    """A Sankey-like diagram: nodes in columns, links as bands as wide as their value."""

    title: Label
    nodes: Sequence[FlowNode]
    links: Sequence[FlowLink]

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", tuple(self.nodes))
        object.__setattr__(self, "links", tuple(self.links))
        ids = [n.id for n in self.nodes]
        if len(set(ids)) != len(ids):
            raise ReportError("duplicate flow node ids")
        known = set(ids)
        currencies = set()
        for link in self.links:
            if link.source not in known or link.target not in known:
                raise ReportError(f"flow link {link.source!r} → {link.target!r}: unknown node")
            if link.source == link.target:
                raise ReportError(f"flow link {link.source!r} points to itself")
            v = link.value
            if isinstance(v, (bool, float)) or not isinstance(v, (Money, Decimal, int)):
                raise ReportError("flow values are Money, Decimal or int")
            if (v.minor if isinstance(v, Money) else v) < 0:
                raise ReportError("flow values cannot be negative")
            if isinstance(v, Money):
                currencies.add(v.currency)
            if link.style not in ("normal", "loss", "held"):
                raise ReportError(f"unknown flow link style {link.style!r}")
        if len(currencies) > 1:
            raise ReportError(f"one diagram, one currency (got {sorted(currencies)})")

    @property
    def currency(self) -> str | None:
        """The currency of the diagram's Money values, if any."""
        for link in self.links:
            if isinstance(link.value, Money):
                return link.value.currency
        return None


Block = Table | KeyValues | SummaryLines | Paragraph | SignOff | BarChart | FlowDiagram
_BLOCKS = (Table, KeyValues, SummaryLines, Paragraph, SignOff, BarChart, FlowDiagram)


@dataclass(frozen=True, slots=True)
class Section:
    """A titled part of a report (one XLSX sheet); ``sheet_name`` overrides the tab name."""

    title: Label
    blocks: Sequence[Block] = ()
    sheet_name: str | None = None

    def __post_init__(self) -> None:
        _check_label(self.title, "section title")
        object.__setattr__(self, "blocks", tuple(self.blocks))
        for b in self.blocks:
            if not isinstance(b, _BLOCKS):
                raise ReportError(f"not a report block: {type(b).__name__}")


@dataclass(frozen=True, slots=True)
class Report:
    """A whole report: title, subtitle, when it was generated, meta lines and sections."""

    title: Label
    subtitle: Label | None = None
    generated_at: datetime | None = None
    meta: Sequence[tuple[Label, Any]] = ()
    sections: Sequence[Section] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        _check_label(self.title, "report title")
        object.__setattr__(self, "meta", tuple(tuple(m) for m in self.meta))
        for m in self.meta:
            if len(m) != 2:
                raise ReportError("a meta item is a (label, value) pair")
            _check_label(m[0], "meta label")
        object.__setattr__(self, "sections", tuple(self.sections))
        for s in self.sections:
            if not isinstance(s, Section):
                raise ReportError(f"not a section: {type(s).__name__}")
