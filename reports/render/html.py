"""HTML writer: one self-contained, printable page per report.

Owns the HTML and the inline-SVG charts.  The page has no script, no external
resource (a Content-Security-Policy forbids them), inline CSS with an
``@media print`` part (A4, colours kept, table headers repeated on each page,
one section per page), and the report language in ``<html lang>``.  Every piece
of text goes through ``html.escape``.  Numbers, money and dates are formatted
for the chosen locale with babel; numeric cells are right-aligned with tabular
figures; flagged summary lines (a difference) are red.

Charts are drawn here in pure SVG: ``BarChart`` (grouped or stacked bars, or
lines) and ``FlowDiagram`` (Sankey-like bands, width proportional to value,
losses in red).  Each mark carries a ``<title>`` tooltip with its exact value.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from html import escape
from numbers import Integral
from operator import index
from typing import Any

from babel.numbers import format_compact_decimal

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
    Ctx,
    category_label,
    cell_money,
    money_plans,
    totals_label_key,
)

__all__ = ["bar_chart_svg", "flow_diagram_svg", "render_html"]

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000")  # Okabe–Ito: tells series apart for colour-blind readers too
LOSS_COLOUR = "#C00000"
HELD_COLOUR = "#9E9E9E"

_CSS = """
:root{--fg:#1a1a1a;--muted:#595959;--line:#d0d7de;--head:#1f4e79;--red:#c00000;
--err:#fde2e1;--warn:#fff4ce;--ok:#e2f0d9;--total:#f2f2f2}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--fg);background:#fff;margin:2rem auto;max-width:80rem;padding:0 1rem;line-height:1.4}
header.report{border-bottom:3px solid var(--head);margin-bottom:1rem;padding-bottom:.5rem}
h1{font-size:1.6rem;margin:0 0 .25rem}
h2{font-size:1.25rem;color:var(--head);border-bottom:1px solid var(--head);
padding-bottom:.2rem;margin:2rem 0 .75rem}
h3{font-size:1rem;margin:1.25rem 0 .4rem}
.subtitle{color:var(--muted);margin:0 0 .5rem}
dl.meta{display:grid;grid-template-columns:max-content auto;gap:.15rem 1rem;margin:.5rem 0}
dl.meta dt{font-weight:600}dl.meta dd{margin:0}
table{border-collapse:collapse;margin:.5rem 0 1.25rem;font-size:.9rem}
table.data{width:100%}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{padding:.3rem .55rem;text-align:left;vertical-align:top}
table.data thead th{background:var(--head);color:#fff;font-weight:600}
table.data tbody td{border-bottom:1px solid var(--line)}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.error td{background:var(--err);color:var(--red)}
tr.warning td{background:var(--warn)}
tr.ok td{background:var(--ok)}
tr.muted td{color:var(--muted)}
tfoot td{font-weight:700;background:var(--total);border-top:2px solid var(--fg)}
td.empty{color:var(--muted);font-style:italic}
table.summary td{border:none;padding:.2rem .55rem}
table.summary td.sign{color:var(--muted);text-align:center;width:1.5rem}
table.summary tr.emphasis td{font-weight:700}
table.summary tr.emphasis td.num{border-top:1px solid var(--fg)}
table.summary .flag,table.summary tr.flag td{color:var(--red);font-weight:700}
table.summary td.note{color:var(--muted);font-size:.85em}
.indent-1{padding-left:1.5rem!important}.indent-2{padding-left:3rem!important}
.indent-3{padding-left:4.5rem!important}
table.keyvalues th{font-weight:600;padding-left:0}
p.note{color:var(--muted);font-size:.9em}
p.warning{background:var(--warn);padding:.4rem .6rem;border-left:4px solid #9c5700}
p.error{background:var(--err);color:var(--red);padding:.4rem .6rem;border-left:4px solid var(--red)}
table.signoff td{padding:.9rem .55rem .2rem}
table.signoff td.line{border-bottom:1px solid var(--fg);min-width:12rem}
figure.chart{margin:1rem 0 1.5rem}
figure.chart svg{max-width:100%;height:auto;font-family:inherit}
figure.chart figcaption{font-weight:600;margin-bottom:.35rem}
footer.report{color:var(--muted);font-size:.8rem;border-top:1px solid var(--line);
margin-top:2rem;padding-top:.5rem}
@media print{
@page{size:A4 landscape;margin:12mm}
body{margin:0;max-width:none;padding:0;font-size:9.5pt}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
main>section+section{break-before:page}
h2,h3,caption{break-after:avoid}
tr,figure.chart,table.summary,table.signoff{break-inside:avoid}
thead{display:table-header-group}
tfoot{display:table-row-group}
}
""".strip()


def _e(text: str) -> str:
    return escape(text, quote=True)


def _d(x: Decimal | int) -> str:
    """An SVG coordinate with one decimal (geometry only; never money)."""
    return format(Decimal(x).quantize(Decimal("0.1")), "f")


def _amount(value: Money | Decimal | int | None) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, Money):
        return value.amount
    if isinstance(value, Decimal):
        return value
    return Decimal(index(value))


# -- charts -------------------------------------------------------------------------


def _nice_ticks(lo: Decimal, hi: Decimal, count: int = 5) -> list[Decimal]:
    if hi == lo:
        hi = lo + 1
    raw = (hi - lo) / count
    base = Decimal(1).scaleb(raw.adjusted())
    step = next(m * base for m in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5),
                                   Decimal(10)) if raw <= m * base)
    start = (lo / step).to_integral_value(ROUND_FLOOR) * step
    end = (hi / step).to_integral_value(ROUND_CEILING) * step
    ticks, v = [], start
    while v <= end:
        ticks.append(v)
        v += step
    return ticks


def bar_chart_svg(chart: BarChart, ctx: Ctx, chart_id: str = "chart") -> str:
    """The chart as an inline ``<svg>`` (grouped/stacked bars or lines)."""
    n_cat, n_ser = len(chart.categories), len(chart.series)
    width, height = 760, 320
    rotate = n_cat > 8
    left, right, top, bottom = 72, 16, 28, 96 if rotate else 40
    legend_h = 22 * ((n_ser + 3) // 4)
    total_h = height + legend_h
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [[_amount(v) for v in s.values] for s in chart.series]
    if chart.mode == "stacked":
        highs = [sum((v for s in values if (v := s[c]) is not None and v > 0), Decimal(0))
                 for c in range(n_cat)]
        lows = [sum((v for s in values if (v := s[c]) is not None and v < 0), Decimal(0))
                for c in range(n_cat)]
    else:
        flat = [v for s in values for v in s if v is not None]
        highs, lows = flat, flat
    hi = max([Decimal(0), *highs])
    lo = min([Decimal(0), *lows])
    ticks = _nice_ticks(lo, hi)
    lo, hi = ticks[0], ticks[-1]

    def y(v: Decimal) -> Decimal:
        return top + plot_h * (hi - v) / (hi - lo)

    title = ctx.t(chart.title)
    out = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {total_h}" '
         f'width="{width}" height="{total_h}" role="img" aria-labelledby="{chart_id}-t">'),
        f'<title id="{chart_id}-t">{_e(title)}</title>',
        '<g font-size="11" fill="#1a1a1a">',
    ]
    unit = chart.currency
    if unit:
        out.append(f'<text x="{left - 8}" y="{top - 12}" text-anchor="end" '
                   f'fill="#595959">{_e(unit)}</text>')
    for t in ticks:
        ty = _d(y(t))
        stroke = "#1a1a1a" if t == 0 else "#d0d7de"
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{ty}" y2="{ty}" '
                   f'stroke="{stroke}" stroke-width="1"/>')
        label = format_compact_decimal(t, locale=ctx.locale, fraction_digits=1)
        out.append(f'<text x="{left - 6}" y="{ty}" dy="0.32em" text-anchor="end">'
                   f"{_e(label)}</text>")
    band = Decimal(plot_w) / max(n_cat, 1)
    cat_labels = [category_label(ctx, c) for c in chart.categories]
    for c, label in enumerate(cat_labels):
        cx = left + band * c + band / 2
        ly = height - bottom + 14
        if rotate:
            out.append(f'<text x="{_d(cx)}" y="{ly}" text-anchor="end" '
                       f'transform="rotate(-40 {_d(cx)} {ly})">{_e(label)}</text>')
        else:
            out.append(f'<text x="{_d(cx)}" y="{ly}" text-anchor="middle">{_e(label)}</text>')
    names = [ctx.t(s.name) for s in chart.series]

    def tip(s: int, c: int) -> str:
        raw = chart.series[s].values[c]
        shown = ctx.display(raw) if not (unit and isinstance(raw, Integral)) else \
            ctx.display(Money(index(raw), unit))
        return _e(f"{names[s]} — {cat_labels[c]}: {shown}")

    zero = y(Decimal(0))
    if chart.mode == "line":
        for s, series in enumerate(values):
            colour = PALETTE[s % len(PALETTE)]
            points = [(left + band * c + band / 2, y(v)) for c, v in enumerate(series)
                      if v is not None]
            if len(points) > 1:
                pts = " ".join(f"{_d(px)},{_d(py)}" for px, py in points)
                out.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" '
                           f'stroke-width="2"/>')
            for c, v in enumerate(series):
                if v is None:
                    continue
                out.append(f'<circle cx="{_d(left + band * c + band / 2)}" cy="{_d(y(v))}" '
                           f'r="3.5" fill="{colour}"><title>{tip(s, c)}</title></circle>')
    else:
        inner = band * Decimal("0.8")
        for c in range(n_cat):
            x0 = left + band * c + band * Decimal("0.1")
            pos, neg = Decimal(0), Decimal(0)
            for s, series in enumerate(values):
                v = series[c]
                if v is None:
                    continue
                colour = PALETTE[s % len(PALETTE)]
                if chart.mode == "stacked":
                    base = pos if v >= 0 else neg
                    y_a, y_b = y(base), y(base + v)
                    if v >= 0:
                        pos += v
                    else:
                        neg += v
                    bx, bw = x0, inner
                else:
                    y_a, y_b = zero, y(v)
                    bw = inner / max(n_ser, 1)
                    bx = x0 + bw * s
                ry, rh = min(y_a, y_b), abs(y_a - y_b)
                out.append(f'<rect x="{_d(bx)}" y="{_d(ry)}" width="{_d(bw)}" '
                           f'height="{_d(rh)}" fill="{colour}"><title>{tip(s, c)}</title></rect>')
    lx, ly = left, height + 6
    for s, name in enumerate(names):
        col = s % 4
        if col == 0 and s:
            ly += 22
        x = lx + col * (plot_w // 4)
        out.append(f'<rect x="{x}" y="{ly}" width="12" height="12" '
                   f'fill="{PALETTE[s % len(PALETTE)]}"/>')
        out.append(f'<text x="{x + 18}" y="{ly + 10}">{_e(name)}</text>')
    out.append("</g></svg>")
    return "".join(out)


def _flow_columns(flow: FlowDiagram) -> dict[str, int]:
    # Nodes without a fixed column sit one step right of their furthest source.
    incoming: dict[str, list[str]] = defaultdict(list)
    for link in flow.links:
        incoming[link.target].append(link.source)
    cols: dict[str, int] = {n.id: n.column for n in flow.nodes if n.column is not None}
    visiting: set[str] = set()

    def col_of(node: str) -> int:
        if node in cols:
            return cols[node]
        if node in visiting:
            raise ReportError(f"flow diagram has a cycle through {node!r}")
        visiting.add(node)
        found = max((col_of(src) + 1 for src in incoming.get(node, ())), default=0)
        visiting.discard(node)
        cols[node] = found
        return found

    for n in flow.nodes:
        col_of(n.id)
    return cols


def flow_diagram_svg(flow: FlowDiagram, ctx: Ctx, chart_id: str = "flow") -> str:
    """The diagram as an inline ``<svg>``: nodes in columns, bands as wide as their value."""
    cols = _flow_columns(flow)
    n_cols = max(cols.values(), default=0) + 1
    by_col: dict[int, list[str]] = defaultdict(list)
    for n in flow.nodes:
        by_col[cols[n.id]].append(n.id)
    into: dict[str, Decimal] = defaultdict(Decimal)
    out_of: dict[str, Decimal] = defaultdict(Decimal)
    amounts = [_amount(link.value) or Decimal(0) for link in flow.links]
    for link, v in zip(flow.links, amounts):
        out_of[link.source] += v
        into[link.target] += v
    size = {n.id: max(into[n.id], out_of[n.id]) for n in flow.nodes}
    most = max((len(ids) for ids in by_col.values()), default=1)
    # A node's label takes two lines (~30 px) centred on it: the gap keeps the
    # labels of thin neighbouring nodes apart.
    width, node_w, gap = 760, 14, 40
    height = max(300, 90 * most)
    top, usable = 24, height - 48
    scales = [
        (usable - gap * (len(ids) - 1)) / total
        for ids in by_col.values()
        if (total := sum((size[i] for i in ids), Decimal(0))) > 0
    ]
    k = min(scales, default=Decimal(0))
    span = width - node_w - 2 * 150 if n_cols > 1 else 0
    x_of = {i: Decimal(150 + (span * c // (n_cols - 1) if n_cols > 1 else width // 2))
            for i, c in cols.items()}
    y_of: dict[str, Decimal] = {}
    h_of: dict[str, Decimal] = {}
    for ids in by_col.values():
        col_total = sum((size[i] for i in ids), Decimal(0)) * k + gap * (len(ids) - 1)
        cursor = top + (usable - col_total) / 2
        for i in ids:
            y_of[i], h_of[i] = cursor, max(size[i] * k, Decimal(2))
            cursor += size[i] * k + gap
    colour = {n.id: PALETTE[idx % len(PALETTE)] for idx, n in enumerate(flow.nodes)}
    labels = {n.id: ctx.t(n.label) for n in flow.nodes}
    unit = flow.currency

    def shown(v: Money | Decimal | int) -> str:
        if unit and isinstance(v, Integral):
            return ctx.display(Money(index(v), unit))
        return ctx.display(v)

    title = ctx.t(flow.title)
    svg = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
         f'width="{width}" height="{height}" role="img" aria-labelledby="{chart_id}-t">'),
        f'<title id="{chart_id}-t">{_e(title)}</title><g font-size="11" fill="#1a1a1a">',
    ]
    out_off: dict[str, Decimal] = defaultdict(Decimal)
    in_off: dict[str, Decimal] = defaultdict(Decimal)
    order = sorted(range(len(flow.links)),
                   key=lambda j: (y_of[flow.links[j].source], y_of[flow.links[j].target]))
    src_pos: dict[int, Decimal] = {}
    for j in order:
        link = flow.links[j]
        src_pos[j] = y_of[link.source] + out_off[link.source]
        out_off[link.source] += amounts[j] * k
    for j in sorted(range(len(flow.links)),
                    key=lambda j: (y_of[flow.links[j].target], y_of[flow.links[j].source])):
        link = flow.links[j]
        w = max(amounts[j] * k, Decimal(1)) if amounts[j] else Decimal(0)
        if not w:
            continue
        y0, y1 = src_pos[j], y_of[link.target] + in_off[link.target]
        in_off[link.target] += amounts[j] * k
        x0, x1 = x_of[link.source] + node_w, x_of[link.target]
        xm = (x0 + x1) / 2
        fill = {"loss": LOSS_COLOUR, "held": HELD_COLOUR}.get(link.style, colour[link.source])
        opacity = "0.55" if link.style == "loss" else "0.4"
        d = (f"M{_d(x0)},{_d(y0)} C{_d(xm)},{_d(y0)} {_d(xm)},{_d(y1)} {_d(x1)},{_d(y1)} "
             f"L{_d(x1)},{_d(y1 + w)} C{_d(xm)},{_d(y1 + w)} {_d(xm)},{_d(y0 + w)} "
             f"{_d(x0)},{_d(y0 + w)} Z")
        tip = f"{labels[link.source]} → {labels[link.target]}: {shown(link.value)}"
        svg.append(f'<path d="{d}" fill="{fill}" fill-opacity="{opacity}" '
                   f'class="link {link.style}"><title>{_e(tip)}</title></path>')
    for n in flow.nodes:
        x, yy, h = x_of[n.id], y_of[n.id], h_of[n.id]
        svg.append(f'<rect x="{_d(x)}" y="{_d(yy)}" width="{node_w}" height="{_d(h)}" '
                   f'fill="{colour[n.id]}"><title>{_e(labels[n.id])}</title></rect>')
        total = size[n.id]
        value_text = shown(Money.of(total, unit) if unit else total)
        last = cols[n.id] == n_cols - 1 and n_cols > 1
        tx = x - 6 if last else x + node_w + 6
        anchor = "end" if last else "start"
        cy = yy + h / 2
        svg.append(
            f'<text x="{_d(tx)}" y="{_d(cy)}" text-anchor="{anchor}" stroke="#fff" '
            f'stroke-width="3" paint-order="stroke">'
            f'<tspan x="{_d(tx)}" dy="-0.2em" font-weight="600">{_e(labels[n.id])}</tspan>'
            f'<tspan x="{_d(tx)}" dy="1.2em">{_e(value_text)}</tspan></text>'
        )
    svg.append("</g></svg>")
    return "".join(svg)


# -- blocks ---------------------------------------------------------------------------

_NUMERIC = {"money", "int", "decimal", "percent"}


def _cell(ctx: Ctx, col: Any, row: Mapping[str, Any], value: Any) -> str:
    if value is None:
        return ""
    if col.kind == "money" and isinstance(value, Integral) and not isinstance(value, bool):
        value = cell_money(col, row, value)
    if col.kind == "date" and isinstance(value, datetime):
        value = value.date()
    return _e(ctx.display(value, col.kind, col.digits))


def _table(ctx: Ctx, table: Table) -> str:
    plans = money_plans(table)
    cls = ["num" if c.kind in _NUMERIC else "" for c in table.columns]

    def td(j: int) -> str:
        return f'<td class="{cls[j]}">' if cls[j] else "<td>"

    out = ['<table class="data">']
    if table.title is not None:
        out.append(f"<caption>{_e(ctx.t(table.title))}</caption>")
    out.append("<thead><tr>")
    for j, col in enumerate(table.columns):
        attr = f' class="{cls[j]}"' if cls[j] else ""
        out.append(f'<th scope="col"{attr}>{_e(ctx.t(col.label))}</th>')
    out.append("</tr></thead><tbody>")
    if not table.rows:
        out.append(f'<tr><td class="empty" colspan="{len(table.columns)}">'
                   f"{_e(ctx.t(table.empty_text))}</td></tr>")
    cols = table.columns
    for row in table.rows:
        style = table.row_style(row)
        out.append(f'<tr class="{style}">' if style else "<tr>")
        for j, col in enumerate(cols):
            out.append(f"{td(j)}{_cell(ctx, col, row, row.get(col.key))}</td>")
        out.append("</tr>")
    out.append("</tbody>")
    if table.total_rows:
        first_text = totals_label_key(table)
        out.append("<tfoot>")
        for total in table.total_rows:
            out.append("<tr>")
            for j, col in enumerate(cols):
                v = total.get(col.key)
                text = (_e(ctx.t(table.totals_label))
                        if col.key == first_text and v in (None, "") else _cell(ctx, col, total, v))
                out.append(f"{td(j)}{text}</td>")
            out.append("</tr>")
        out.append("</tfoot>")
    out.append("</table>")
    del plans  # HTML shows each amount with its own currency symbol
    return "".join(out)


_SIGN_GLYPHS = {"+": "+", "-": "\u2212", "=": "="}


def _summary(ctx: Ctx, block: SummaryLines) -> str:
    out = []
    if block.title is not None:
        out.append(f"<h3>{_e(ctx.t(block.title))}</h3>")
    out.append('<table class="summary"><tbody>')
    for ln in block.lines:
        classes = [c for c, on in (("emphasis", ln.emphasis), ("flag", ln.flag)) if on]
        out.append(f'<tr class="{" ".join(classes)}">' if classes else "<tr>")
        indent = f' class="indent-{min(ln.indent, 3)}"' if ln.indent else ""
        out.append(f"<td{indent}>{_e(ctx.t(ln.label))}</td>")
        out.append(f'<td class="sign">{_SIGN_GLYPHS.get(ln.sign or "", "")}</td>')
        amount = "" if ln.amount is None else _e(ctx.display(ln.amount))
        out.append(f'<td class="num">{amount}</td>')
        out.append(f'<td class="note">{_e(ctx.t(ln.note)) if ln.note is not None else ""}</td>')
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _keyvalues(ctx: Ctx, block: KeyValues) -> str:
    out = []
    if block.title is not None:
        out.append(f"<h3>{_e(ctx.t(block.title))}</h3>")
    out.append('<table class="keyvalues"><tbody>')
    for label, value in block.items:
        num = ' class="num"' if isinstance(value, (Money, Decimal, Integral)) and \
            not isinstance(value, bool) else ""
        out.append(f'<tr><th scope="row">{_e(ctx.t(label))}</th>'
                   f"<td{num}>{_e(ctx.display(value))}</td></tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _signoff(ctx: Ctx, block: SignOff) -> str:
    out = []
    if block.title is not None:
        out.append(f"<h3>{_e(ctx.t(block.title))}</h3>")
    out.append('<table class="signoff"><thead><tr><th></th>'
               f'<th scope="col">{_e(ctx.t("Name"))}</th>'
               f'<th scope="col">{_e(ctx.t("Date"))}</th>'
               f'<th scope="col">{_e(ctx.t("Signature"))}</th></tr></thead><tbody>')
    for ln in block.lines:
        name = _e(ln.name) if ln.name else ""
        when = _e(ctx.display(ln.date)) if ln.date else ""
        out.append(f'<tr><th scope="row">{_e(ctx.t(ln.role))}</th>'
                   f'<td class="line">{name}</td><td class="line">{when}</td>'
                   '<td class="line"></td></tr>')
    out.append("</tbody></table>")
    return "".join(out)


class _Ids:
    def __init__(self) -> None:
        self.n = 0

    def next(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}-{self.n}"


def _block(ctx: Ctx, block: Any, ids: _Ids) -> str:
    if isinstance(block, Table):
        return _table(ctx, block)
    if isinstance(block, SummaryLines):
        return _summary(ctx, block)
    if isinstance(block, KeyValues):
        return _keyvalues(ctx, block)
    if isinstance(block, Paragraph):
        cls = f' class="{block.kind}"' if block.kind != "text" else ""
        return f"<p{cls}>{_e(ctx.t(block.text))}</p>"
    if isinstance(block, SignOff):
        return _signoff(ctx, block)
    if isinstance(block, BarChart):
        svg = bar_chart_svg(block, ctx, ids.next("chart"))
        return (f'<figure class="chart"><figcaption>{_e(ctx.t(block.title))}</figcaption>'
                f"{svg}</figure>")
    if isinstance(block, FlowDiagram):
        svg = flow_diagram_svg(block, ctx, ids.next("flow"))
        return (f'<figure class="chart"><figcaption>{_e(ctx.t(block.title))}</figcaption>'
                f"{svg}</figure>")
    raise ReportError(f"cannot write {type(block).__name__} to HTML")  # pragma: no cover


def _section(ctx: Ctx, section: Section, ids: _Ids) -> str:
    parts = [f"<section><h2>{_e(ctx.t(section.title))}</h2>"]
    parts.extend(_block(ctx, b, ids) for b in section.blocks)
    parts.append("</section>")
    return "\n".join(parts)


def render_html(report: Report, lang: str = "en") -> str:
    """The report as one self-contained HTML page in ``lang``."""
    ctx = Ctx.for_lang(lang)
    ids = _Ids()
    title = ctx.t(report.title)
    head = [f"<h1>{_e(title)}</h1>"]
    if report.subtitle is not None:
        head.append(f'<p class="subtitle">{_e(ctx.t(report.subtitle))}</p>')
    meta = list(report.meta)
    if meta:
        head.append('<dl class="meta">')
        for label, value in meta:
            head.append(f"<dt>{_e(ctx.t(label))}</dt><dd>{_e(ctx.display(value))}</dd>")
        head.append("</dl>")
    footer = ""
    if report.generated_at is not None:
        footer = (f'<footer class="report">{_e(ctx.t("Generated at"))} '
                  f"{_e(ctx.display(report.generated_at))}</footer>")
    body = "\n".join(_section(ctx, s, ids) for s in report.sections)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{_e(ctx.choice.tag)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">\n"
        '<meta name="generator" content="solidarity-ledger">\n'
        f"<title>{_e(title)}</title>\n<style>\n{_CSS}\n</style>\n</head>\n<body>\n"
        f'<header class="report">{"".join(head)}</header>\n<main>\n{body}\n</main>\n'
        f"{footer}\n</body>\n</html>\n"
    )
