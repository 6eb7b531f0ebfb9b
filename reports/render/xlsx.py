"""XLSX writer: one sheet per section, typed cells, styled headers, frozen panes.

Owns the SpreadsheetML output.  Every section becomes a sheet (names made
valid: ≤ 31 characters, none of ``[]:*?/\\``, unique).  The first sheet starts
with the report's title, subtitle, meta lines and generation time.  In each
sheet the *first* ``Table`` gets the frozen panes below its header, the
auto-filter and the print titles, so put a long table in a section of its own.

Cells are typed: money is written as an exact decimal number of the currency's
digits (from integer minor units, never through a float) with a number format
built from those digits (``#,##0.00`` EUR, ``#,##0`` XOF, ``#,##0.000`` KWD);
a money column whose rows share one currency shows it in its header, one whose
rows mix currencies gets the code in each cell's format; dates are dates
(``yyyy-mm-dd``); aware timestamps are converted to UTC.  Every text cell goes
through :func:`reports.safety.neutralise`.  Charts and flow diagrams are written
as their data tables.

Why not openpyxl's writer: its write-only mode serialises ~6 µs per cell on
the 2-core reference machine (100,000 rows × 6 columns took 6.7 s, 5.4 s with
lxml), over the 5 s budget; the parts written here are the small, stable subset
of SpreadsheetML openpyxl itself writes, and the tests read every file back
with openpyxl.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from numbers import Integral
from operator import index
from pathlib import Path
from typing import IO, Any, BinaryIO

from ledger.money import Money, currency_digits
from reports.model import (
    BarChart,
    Column,
    FlowDiagram,
    KeyValues,
    Msg,
    Paragraph,
    Report,
    ReportError,
    Section,
    SignOff,
    SummaryLines,
    Table,
    Verbatim,
)
from reports.render._common import (
    MIXED,
    SIGN_WORDS,
    Ctx,
    cell_money,
    chart_table,
    flow_table,
    money_number_format,
    money_plans,
    text_of,
    totals_label_key,
)
from reports.safety import neutralise

__all__ = ["MAX_ROWS", "sheet_names", "write_xlsx"]

MAX_ROWS = 1_048_576
MAX_TEXT = 32_767
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
_EPOCH = date(1899, 12, 30)
_SAMPLE = 2_000  # rows of a table measured for column widths
_MAX_WIDTH = 60

# -- XML text ---------------------------------------------------------------------

_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff&<>\r\"]")
_XML_MAP = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;"}


def _esc(text: str) -> str:
    # Control characters are illegal in XML 1.0 even escaped; bank text can carry them.
    if _XML_BAD.search(text) is None:
        return text
    return _XML_BAD.sub(lambda m: _XML_MAP.get(m.group(), "\ufffd"), text)


def _col_letter(n: int) -> str:
    letters = ""
    n += 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


_LETTERS = [_col_letter(i) for i in range(16_384)]  # Excel's column limit


def _minor_text(minor: int, digits: int) -> str:
    # The exact decimal of minor units: 123450 EUR → "1234.50"; no float anywhere.
    if not digits:
        return str(minor)
    sign = "-" if minor < 0 else ""
    q, r = divmod(abs(minor), 10**digits)
    return f"{sign}{q}.{r:0{digits}d}"


def _serial(value: date) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        days = (value.date() - _EPOCH).days
        secs = value.hour * 3600 + value.minute * 60 + value.second
        frac = (Decimal(secs) + Decimal(value.microsecond) / 1_000_000) / 86400
        return format((days + frac).quantize(Decimal("1e-10")).normalize(), "f")
    return str((value - _EPOCH).days)


# -- styles -----------------------------------------------------------------------

_FONTS = {
    "normal": '<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>',
    "bold": '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>',
    "header": '<font><b/><sz val="11"/><color rgb="FFFFFFFF"/><name val="Calibri"/>'
              '<family val="2"/></font>',
    "title": '<font><b/><sz val="16"/><name val="Calibri"/><family val="2"/></font>',
    "section": '<font><b/><sz val="13"/><color rgb="FF1F3864"/><name val="Calibri"/>'
               '<family val="2"/></font>',
    "muted": '<font><i/><sz val="10"/><color rgb="FF595959"/><name val="Calibri"/>'
             '<family val="2"/></font>',
    "red": '<font><sz val="11"/><color rgb="FFC00000"/><name val="Calibri"/>'
           '<family val="2"/></font>',
    "red_bold": '<font><b/><sz val="11"/><color rgb="FFC00000"/><name val="Calibri"/>'
                '<family val="2"/></font>',
    "warn": '<font><b/><sz val="11"/><color rgb="FF9C5700"/><name val="Calibri"/>'
            '<family val="2"/></font>',
}
_FILLS = {
    "none": '<fill><patternFill patternType="none"/></fill>',
    "gray125": '<fill><patternFill patternType="gray125"/></fill>',
    "header": '<fill><patternFill patternType="solid"><fgColor rgb="FF1F4E79"/>'
              '<bgColor indexed="64"/></patternFill></fill>',
    "error": '<fill><patternFill patternType="solid"><fgColor rgb="FFFDE2E1"/>'
             '<bgColor indexed="64"/></patternFill></fill>',
    "warning": '<fill><patternFill patternType="solid"><fgColor rgb="FFFFF4CE"/>'
               '<bgColor indexed="64"/></patternFill></fill>',
    "ok": '<fill><patternFill patternType="solid"><fgColor rgb="FFE2F0D9"/>'
          '<bgColor indexed="64"/></patternFill></fill>',
    "total": '<fill><patternFill patternType="solid"><fgColor rgb="FFF2F2F2"/>'
             '<bgColor indexed="64"/></patternFill></fill>',
}
_BORDERS = {
    "none": "<border><left/><right/><top/><bottom/><diagonal/></border>",
    "top": '<border><left/><right/><top style="thin"><color auto="1"/></top><bottom/>'
           "<diagonal/></border>",
    "bottom": '<border><left/><right/><top/><bottom style="thin"><color auto="1"/></bottom>'
              "<diagonal/></border>",
    "double": '<border><left/><right/><top style="thin"><color auto="1"/></top>'
              '<bottom style="double"><color auto="1"/></bottom><diagonal/></border>',
}
_ROW_LOOK = {  # row style → (font, fill)
    None: ("normal", "none"),
    "error": ("red", "error"),
    "warning": ("normal", "warning"),
    "ok": ("normal", "ok"),
    "muted": ("muted", "none"),
}


class _Styles:
    """The workbook's style table, built as cells ask for (font, fill, border, format, align)."""

    def __init__(self) -> None:
        self.fonts = list(_FONTS)
        self.fills = list(_FILLS)
        self.borders = list(_BORDERS)
        self.numfmts: dict[str, int] = {}
        self.xfs: dict[tuple[str, str, str, str | None, str | None, int, bool], int] = {}
        self.xf()  # index 0 must be the plain default style

    def xf(self, font: str = "normal", fill: str = "none", border: str = "none",
           numfmt: str | None = None, align: str | None = None, indent: int = 0,
           wrap: bool = False) -> int:
        key = (font, fill, border, numfmt, align, indent, wrap)
        found = self.xfs.get(key)
        if found is None:
            if numfmt is not None and numfmt not in self.numfmts:
                self.numfmts[numfmt] = 164 + len(self.numfmts)
            found = self.xfs[key] = len(self.xfs)
        return found

    def xml(self) -> str:
        numfmts = "".join(
            f'<numFmt numFmtId="{i}" formatCode="{_esc(f)}"/>' for f, i in self.numfmts.items()
        )
        xfs = []
        for font, fill, border, numfmt, align, indent, wrap in self.xfs:
            attrs = (f'numFmtId="{self.numfmts[numfmt] if numfmt else 0}" '
                     f'fontId="{self.fonts.index(font)}" fillId="{self.fills.index(fill)}" '
                     f'borderId="{self.borders.index(border)}" xfId="0"')
            if numfmt:
                attrs += ' applyNumberFormat="1"'
            if font != "normal":
                attrs += ' applyFont="1"'
            if fill != "none":
                attrs += ' applyFill="1"'
            if border != "none":
                attrs += ' applyBorder="1"'
            if align or indent or wrap:
                al = "<alignment"
                if align:
                    al += f' horizontal="{align}"'
                if indent:
                    al += f' indent="{indent}"'
                if wrap:
                    al += ' wrapText="1" vertical="top"'
                xfs.append(f'<xf {attrs} applyAlignment="1">{al}/></xf>')
            else:
                xfs.append(f"<xf {attrs}/>")
        return (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            + (f'<numFmts count="{len(self.numfmts)}">{numfmts}</numFmts>' if numfmts else "")
            + f'<fonts count="{len(self.fonts)}">{"".join(_FONTS[f] for f in self.fonts)}</fonts>'
            f'<fills count="{len(self.fills)}">{"".join(_FILLS[f] for f in self.fills)}</fills>'
            f'<borders count="{len(self.borders)}">'
            f'{"".join(_BORDERS[b] for b in self.borders)}</borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
            "</cellStyleXfs>"
            f'<cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            '<dxfs count="0"/><tableStyles count="0" defaultTableStyle="TableStyleMedium9" '
            'defaultPivotStyle="PivotStyleLight16"/></styleSheet>'
        )


# -- sheet names ------------------------------------------------------------------

_SHEET_BAD = re.compile(r"[\[\]:*?/\\\x00-\x1f]")


def sheet_names(wanted: Iterable[str]) -> list[str]:
    """Valid, unique sheet names: ≤ 31 chars, no ``[]:*?/\\``, not ``History``, no edge ``'``."""
    used: set[str] = set()
    names = []
    for i, raw in enumerate(wanted, start=1):
        base = _SHEET_BAD.sub(" ", raw)
        base = " ".join(base.split()).strip("'").strip()[:31].strip() or f"Sheet {i}"
        name, n = base, 1
        while name.casefold() in used or name.casefold() == "history":
            n += 1
            suffix = f" ({n})"
            name = base[: 31 - len(suffix)].rstrip() + suffix
        used.add(name.casefold())
        names.append(name)
    return names


# -- one sheet ----------------------------------------------------------------------


class _Sheet:
    """Rows of one worksheet, spooled to a temporary file while widths and panes are noted."""

    def __init__(self, name: str, ctx: Ctx, styles: _Styles) -> None:
        self.name = name
        self.ctx = ctx
        self.styles = styles
        self.data: IO[str] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=8 << 20, mode="w+", encoding="utf-8", newline=""
        )
        self.row = 0
        self.widths: dict[int, int] = {}
        self.fixed_widths: dict[int, int] = {}
        self.freeze: int | None = None
        self.filter_ref: str | None = None
        self.print_titles: int | None = None
        self.measuring = True

    # -- low level
    def _width(self, col: int, length: int) -> None:
        if self.measuring and length > self.widths.get(col, 0):
            self.widths[col] = length

    def text_cell(self, col: int, text: str, xf: int, measure: bool = True) -> str:
        text = neutralise(text)[:MAX_TEXT]
        if measure:
            self._width(col, len(text))
        return (f'<c r="{_LETTERS[col]}{self.row}" s="{xf}" t="inlineStr"><is>'
                f'<t xml:space="preserve">{_esc(text)}</t></is></c>')

    def num_cell(self, col: int, number: str, xf: int, width: int = 0) -> str:
        if width:
            self._width(col, width)
        return f'<c r="{_LETTERS[col]}{self.row}" s="{xf}"><v>{number}</v></c>'

    def blank_cell(self, col: int, xf: int) -> str:
        return f'<c r="{_LETTERS[col]}{self.row}" s="{xf}"/>'

    def new_row(self) -> int:
        """Move to the next row; cells built now carry its number."""
        self.row += 1
        if self.row > MAX_ROWS:
            raise ReportError(f"sheet {self.name!r} has more rows than a spreadsheet holds")
        return self.row

    def put(self, cells: Iterable[str | None]) -> None:
        """Write the current row's cells."""
        self.data.write(f'<row r="{self.row}">{"".join(c for c in cells if c)}</row>')

    def line(self, text: str, xf: int) -> None:
        """A row holding one text cell in column A (titles, paragraphs), not measured."""
        self.new_row()
        self.put([self.text_cell(0, text, xf, measure=False)])

    def skip(self) -> None:
        """Leave a blank row."""
        self.new_row()

    # -- values
    def value_cell(self, col: int, value: Any, font: str = "normal", fill: str = "none",
                   border: str = "none", bold_money: bool = False) -> str | None:
        """Any single value, typed (key/value blocks, summary amounts, sign-off dates)."""
        st = self.styles
        if value is None:
            return None
        if isinstance(value, Money):
            fmt = money_number_format(value.currency, with_code=True)
            xf = st.xf("bold" if bold_money else font, fill, border, fmt)
            return self.num_cell(col, _minor_text(value.minor, value.digits), xf,
                                 len(value.to_decimal_string()) * 4 // 3 + 5)
        if isinstance(value, datetime):
            return self.num_cell(col, _serial(value), st.xf(font, fill, border, DATETIME_FORMAT), 19)
        if isinstance(value, date):
            return self.num_cell(col, _serial(value), st.xf(font, fill, border, DATE_FORMAT), 10)
        if isinstance(value, Integral) and not isinstance(value, bool):
            return self.num_cell(col, str(index(value)), st.xf(font, fill, border, "#,##0"),
                                 len(str(value)) + 2)
        if isinstance(value, Decimal):
            return self.num_cell(col, format(value, "f"), st.xf(font, fill, border),
                                 len(format(value, "f")) + 2)
        return self.text_cell(col, text_of(self.ctx, value), st.xf(font, fill, border))


# -- blocks -----------------------------------------------------------------------------


def _column_cell_writer(sheet: _Sheet, col: Column, j: int, plan: str | None):
    """A fast function (row, value, row_style) → cell XML for one column of a table."""
    st = sheet.styles
    xf_cache: dict[tuple[str | None, str | None, bool], int] = {}
    kind = col.kind

    def xf(style: str | None, fmt: str | None, total: bool, align: str | None = None) -> int:
        key = (style, fmt, total)
        found = xf_cache.get(key)
        if found is None:
            if total:
                font, fill, border = "bold", "total", "top"
            else:
                font, fill = _ROW_LOOK.get(style, _ROW_LOOK[None])
                border = "none"
            found = xf_cache[key] = st.xf(font, fill, border, fmt, align)
        return found

    ctx = sheet.ctx

    def text_cell(row: Mapping[str, Any], v: Any, style: str | None, total: bool) -> str:
        text = v if type(v) is str else text_of(ctx, v)
        return sheet.text_cell(j, text, xf(style, None, total))

    if kind == "money":
        fmt_cache: dict[str, str] = {}

        def money(row: Mapping[str, Any], v: Any, style: str | None, total: bool) -> str:
            m: Money | None
            if type(v) is Money:
                m = v
            elif isinstance(v, Integral) and not isinstance(v, bool):
                m = cell_money(col, row, v)
            elif isinstance(v, (str, Msg, Verbatim)):
                return text_cell(row, v, style, total)  # a placeholder such as "n/a"
            else:
                raise ReportError(f"column {col.key!r}: a money cell is Money or minor units, "
                                  f"not {type(v).__name__}")
            assert m is not None  # None cells are skipped by the caller
            cur = m.currency
            cell_fmt = fmt_cache.get(cur)
            if cell_fmt is None:
                cell_fmt = fmt_cache[cur] = money_number_format(cur, with_code=plan == MIXED)
            text = _minor_text(m.minor, currency_digits(cur))
            return sheet.num_cell(j, text, xf(style, cell_fmt, total), len(text) * 4 // 3 + 1 +
                                  (5 if plan == MIXED else 0))
        return money
    if kind == "int":
        def integer(row: Mapping[str, Any], v: Any, style: str | None, total: bool) -> str:
            if isinstance(v, Integral) and not isinstance(v, bool):
                text = str(index(v))
                return sheet.num_cell(j, text, xf(style, "#,##0", total), len(text) * 4 // 3 + 1)
            return text_cell(row, v, style, total)
        return integer
    if kind in ("decimal", "percent"):
        digits = col.digits
        fmt: str | None
        if kind == "percent":
            fmt = "0" + ("." + "0" * (1 if digits is None else digits) if digits != 0 else "") + "%"
        else:
            fmt = None if digits is None else "#,##0" + ("." + "0" * digits if digits else "")

        def decimal(row: Mapping[str, Any], v: Any, style: str | None, total: bool) -> str:
            if isinstance(v, Decimal):
                text = format(v, "f")
            elif isinstance(v, Integral) and not isinstance(v, bool):
                text = str(index(v))
            elif isinstance(v, Money):
                text = _minor_text(v.minor, v.digits)
            else:
                return text_cell(row, v, style, total)
            return sheet.num_cell(j, text, xf(style, fmt, total), len(text) + 2)
        return decimal
    if kind in ("date", "datetime"):
        fmt = DATE_FORMAT if kind == "date" else DATETIME_FORMAT
        width = 10 if kind == "date" else 19

        def when(row: Mapping[str, Any], v: Any, style: str | None, total: bool) -> str:
            if isinstance(v, date):
                return sheet.num_cell(j, _serial(v), xf(style, fmt, total), width)
            return text_cell(row, v, style, total)
        return when

    return text_cell


def _write_table(sheet: _Sheet, table: Table, primary: bool) -> None:
    ctx, st = sheet.ctx, sheet.styles
    if table.title is not None:
        sheet.line(ctx.t(table.title), st.xf("bold"))
    plans = money_plans(table)
    header_xf = {
        "left": st.xf("header", "header", "bottom", None, None, 0, True),
        "right": st.xf("header", "header", "bottom", None, "right", 0, True),
    }
    cells = []
    sheet.new_row()
    for j, col in enumerate(table.columns):
        label = ctx.t(col.label)
        plan = plans.get(col.key)
        if plan and plan != MIXED:
            label = f"{label} ({plan})"
        align = "left" if col.kind == "text" else "right"
        cells.append(sheet.text_cell(j, label, header_xf[align], measure=False))
        sheet._width(j, min(len(label), 30) + 2)
        if col.width:
            sheet.fixed_widths[j] = col.width
    sheet.put(cells)
    header_row = sheet.row
    if primary:
        sheet.freeze = header_row
        sheet.print_titles = header_row

    writers = [
        (col.key, _column_cell_writer(sheet, col, j, plans.get(col.key)))
        for j, col in enumerate(table.columns)
    ]
    style_key = table.style_key
    rows = table.rows
    if not rows:
        sheet.line(ctx.t(table.empty_text), st.xf("muted"))
    data = sheet.data
    last = len(table.columns) - 1
    for i, row in enumerate(rows):
        r = sheet.new_row()
        style = row.get(style_key)
        parts = [f'<row r="{r}">']
        for key, write in writers:
            v = row.get(key)
            if v is not None:
                parts.append(write(row, v, style, False))
        parts.append("</row>")
        data.write("".join(parts))
        if i == _SAMPLE:
            # Widths come from a sample: measuring every cell of a long table costs time.
            sheet.measuring = False
    sheet.measuring = True
    if sheet.row > MAX_ROWS:
        raise ReportError(f"sheet {sheet.name!r} has more rows than a spreadsheet holds")
    if primary:
        sheet.filter_ref = (f"A{header_row}:{_LETTERS[last]}"
                            f"{max(sheet.row, header_row + (0 if rows else 1))}")
    first_text = totals_label_key(table)
    for total in table.total_rows:
        row = dict(total)
        if first_text is not None and row.get(first_text) in (None, ""):
            row[first_text] = ctx.t(table.totals_label)
        sheet.new_row()
        parts = [f'<row r="{sheet.row}">']
        for j, (key, write) in enumerate(writers):
            v = row.get(key)
            parts.append(write(row, v, None, True) if v is not None
                         else sheet.blank_cell(j, st.xf("bold", "total", "top")))
        parts.append("</row>")
        sheet.data.write("".join(parts))


def _write_summary(sheet: _Sheet, block: SummaryLines) -> None:
    ctx, st = sheet.ctx, sheet.styles
    if block.title is not None:
        sheet.line(ctx.t(block.title), st.xf("bold"))
    for line in block.lines:
        font = "red_bold" if line.flag and line.emphasis else "red" if line.flag else (
            "bold" if line.emphasis else "normal")
        border = "top" if line.emphasis else "none"
        sheet.new_row()
        cells: list[str | None] = [
            sheet.text_cell(0, ctx.t(line.label), st.xf(font, indent=min(line.indent, 15)))
        ]
        if line.sign:
            word = ctx.t(SIGN_WORDS[line.sign])
            if word:
                cells.append(sheet.text_cell(1, word, st.xf("muted")))
        if line.amount is not None:
            cells.append(sheet.value_cell(2, line.amount, font, "none", border))
        if line.note is not None:
            cells.append(sheet.text_cell(3, ctx.t(line.note), st.xf("muted")))
        sheet.put(cells)


def _write_keyvalues(sheet: _Sheet, block: KeyValues) -> None:
    ctx, st = sheet.ctx, sheet.styles
    if block.title is not None:
        sheet.line(ctx.t(block.title), st.xf("bold"))
    for label, value in block.items:
        sheet.new_row()
        cells: list[str | None] = [sheet.text_cell(0, ctx.t(label), st.xf("bold"))]
        cells.append(sheet.value_cell(1, value))
        sheet.put(cells)


def _write_signoff(sheet: _Sheet, block: SignOff) -> None:
    ctx, st = sheet.ctx, sheet.styles
    if block.title is not None:
        sheet.line(ctx.t(block.title), st.xf("bold"))
    heads = ("", "Name", "Date", "Signature")
    sheet.new_row()
    heading: list[str | None] = [
        sheet.text_cell(j, ctx.t(h), st.xf("muted")) for j, h in enumerate(heads) if h
    ]
    sheet.put(heading)
    line = st.xf(border="bottom")
    for entry in block.lines:
        sheet.new_row()
        cells: list[str | None] = [sheet.text_cell(0, ctx.t(entry.role), st.xf("bold"))]
        cells.append(sheet.text_cell(1, entry.name, line) if entry.name
                     else sheet.blank_cell(1, line))
        cells.append(sheet.value_cell(2, entry.date, border="bottom") if entry.date
                     else sheet.blank_cell(2, line))
        cells.append(sheet.blank_cell(3, line))
        sheet._width(1, 24)
        sheet._width(3, 24)
        sheet.put(cells)


def _write_section(sheet: _Sheet, section: Section, report: Report | None) -> None:
    ctx, st = sheet.ctx, sheet.styles
    if report is not None:
        sheet.line(ctx.t(report.title), st.xf("title"))
        if report.subtitle is not None:
            sheet.line(ctx.t(report.subtitle), st.xf("muted"))
        meta = list(report.meta)
        if report.generated_at is not None:
            meta.append(("Generated at", report.generated_at))
        if meta:
            sheet.skip()
            _write_keyvalues(sheet, KeyValues(meta))
        sheet.skip()
    sheet.line(ctx.t(section.title), st.xf("section"))
    primary_done = False
    for block in section.blocks:
        sheet.skip()
        if isinstance(block, Table):
            _write_table(sheet, block, primary=not primary_done)
            primary_done = True
        elif isinstance(block, SummaryLines):
            _write_summary(sheet, block)
        elif isinstance(block, KeyValues):
            _write_keyvalues(sheet, block)
        elif isinstance(block, Paragraph):
            font = {"text": "normal", "note": "muted", "warning": "warn", "error": "red_bold"}
            sheet.line(ctx.t(block.text), st.xf(font[block.kind]))
        elif isinstance(block, SignOff):
            _write_signoff(sheet, block)
        elif isinstance(block, BarChart):
            _write_table(sheet, chart_table(block, ctx), primary=False)
        elif isinstance(block, FlowDiagram):
            _write_table(sheet, flow_table(block, ctx), primary=False)
        else:  # pragma: no cover - Section validates its blocks
            raise ReportError(f"cannot write {type(block).__name__} to XLSX")


# -- package ------------------------------------------------------------------------

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _sheet_head(sheet: _Sheet, selected: bool) -> str:
    selected_attr = ' tabSelected="1"' if selected else ""
    views = f'<sheetView workbookViewId="0"{selected_attr}>'
    if sheet.freeze:
        top = f"A{sheet.freeze + 1}"
        views += (f'<pane ySplit="{sheet.freeze}" topLeftCell="{top}" activePane="bottomLeft" '
                  f'state="frozen"/><selection pane="bottomLeft" activeCell="{top}" '
                  f'sqref="{top}"/>')
    views += "</sheetView>"
    widths = {j: min(max(w + 2, 8), _MAX_WIDTH) for j, w in sheet.widths.items()}
    widths.update(sheet.fixed_widths)
    cols = "".join(
        f'<col min="{j + 1}" max="{j + 1}" width="{w}" customWidth="1"/>'
        for j, w in sorted(widths.items())
    )
    dim = f"A1:{_LETTERS[max(widths, default=0)]}{max(sheet.row, 1)}"
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{_NS}" xmlns:r="{_REL_NS}">'
        '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
        f'<dimension ref="{dim}"/><sheetViews>{views}</sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>'
        + (f"<cols>{cols}</cols>" if cols else "")
        + "<sheetData>"
    )


def _sheet_tail(sheet: _Sheet, footer: str) -> str:
    tail = "</sheetData>"
    if sheet.filter_ref:
        tail += f'<autoFilter ref="{sheet.filter_ref}"/>'
    tail += (
        '<printOptions gridLines="0"/>'
        '<pageMargins left="0.5" right="0.5" top="0.6" bottom="0.6" header="0.3" footer="0.3"/>'
        '<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" fitToHeight="0"/>'
        f"<headerFooter><oddFooter>{_esc(footer)}</oddFooter></headerFooter>"
        "</worksheet>"
    )
    return tail


def _workbook_xml(sheets: list[_Sheet]) -> str:
    entries = "".join(
        f'<sheet name="{_esc(s.name)}" sheetId="{i + 1}" r:id="rId{i + 1}"/>'
        for i, s in enumerate(sheets)
    )
    names = []
    for i, s in enumerate(sheets):
        q = _esc(_quote_sheet(s.name))
        if s.filter_ref:
            a, b = s.filter_ref.split(":")
            ref = "$" + re.sub(r"(\d+)", r"$\1", a) + ":$" + re.sub(r"(\d+)", r"$\1", b)
            names.append(f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" '
                         f'hidden="1">{q}!{ref}</definedName>')
        if s.print_titles:
            names.append(f'<definedName name="_xlnm.Print_Titles" localSheetId="{i}">'
                         f"{q}!${s.print_titles}:${s.print_titles}</definedName>")
    defined = f"<definedNames>{''.join(names)}</definedNames>" if names else ""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<workbook xmlns="{_NS}" xmlns:r="{_REL_NS}">'
        '<workbookPr/><bookViews><workbookView activeTab="0"/></bookViews>'
        f"<sheets>{entries}</sheets>{defined}"
        '<calcPr calcId="191029"/></workbook>'
    )


def _content_types(n: int) -> str:
    sheets = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(n)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/docProps/core.xml" '
        'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        f"{sheets}</Types>"
    )


_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/'
    'relationships/metadata/core-properties" Target="docProps/core.xml"/>'
    "</Relationships>"
)


def _workbook_rels(n: int) -> str:
    rels = "".join(
        f'<Relationship Id="rId{i + 1}" Type="{_REL_NS}/worksheet" '
        f'Target="worksheets/sheet{i + 1}.xml"/>'
        for i in range(n)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'{rels}<Relationship Id="rId{n + 1}" Type="{_REL_NS}/styles" Target="styles.xml"/>'
        "</Relationships>"
    )


def _core_xml(title: str, when: datetime | None, lang: str) -> str:
    created = ""
    if when is not None:
        utc = when.astimezone(UTC) if when.tzinfo else when
        stamp = utc.strftime("%Y-%m-%dT%H:%M:%SZ")
        created = (f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
                   f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>')
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
        'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{_esc(title)}</dc:title><dc:creator>solidarity-ledger</dc:creator>"
        f"<dc:language>{_esc(lang)}</dc:language>{created}</cp:coreProperties>"
    )


def write_xlsx(report: Report, lang: str, out: Path | BinaryIO) -> None:
    """Write ``report`` as an XLSX workbook in ``lang`` to a path or binary stream."""
    ctx = Ctx.for_lang(lang)
    styles = _Styles()
    sections = list(report.sections) or [Section(report.title)]
    names = sheet_names(s.sheet_name or ctx.t(s.title) for s in sections)
    title = ctx.t(report.title)
    # Excel footer codes: &L left, &R right, &P page, &N pages; a literal & is &&.
    footer = f"&L{title.replace('&', '&&')}&R{ctx.t('Page')} &P / &N"
    sheets: list[_Sheet] = []
    try:
        for i, (section, name) in enumerate(zip(sections, names)):
            sheet = _Sheet(name, ctx, styles)
            _write_section(sheet, section, report if i == 0 else None)
            sheets.append(sheet)
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            zf.writestr("[Content_Types].xml", _content_types(len(sheets)))
            zf.writestr("_rels/.rels", _ROOT_RELS)
            zf.writestr("docProps/core.xml", _core_xml(title, report.generated_at, ctx.choice.tag))
            zf.writestr("xl/workbook.xml", _workbook_xml(sheets))
            zf.writestr("xl/_rels/workbook.xml.rels", _workbook_rels(len(sheets)))
            for i, sheet in enumerate(sheets):
                with zf.open(f"xl/worksheets/sheet{i + 1}.xml", "w", force_zip64=True) as fh:
                    fh.write(_sheet_head(sheet, i == 0).encode("utf-8"))
                    sheet.data.seek(0)
                    while chunk := sheet.data.read(1 << 20):
                        fh.write(chunk.encode("utf-8"))
                    fh.write(_sheet_tail(sheet, footer).encode("utf-8"))
            zf.writestr("xl/styles.xml", styles.xml())
    finally:
        for sheet in sheets:
            sheet.data.close()
