"""Rendering one report as XLSX, HTML, CSV and JSON, in en/fr/es."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal

import openpyxl
import pytest

from ledger.money import Money
from reports import labels as L
from reports.i18n import I18nError
from reports.model import (
    BarChart,
    Column,
    FlowDiagram,
    FlowLink,
    FlowNode,
    KeyValues,
    Msg,
    Note,
    Paragraph,
    Report,
    ReportError,
    Section,
    Series,
    SignOff,
    SignOffLine,
    SummaryLine,
    SummaryLines,
    Table,
    Verbatim,
)
from reports.render import render, render_bytes
from reports.render.json import report_to_dict
from reports.render.xlsx import sheet_names
from reports.safety import neutralise

HOSTILE = [
    '=HYPERLINK("http://x","y")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1)",
    "\t=1",
    "\r=1",
]


def eur(text: str) -> Money:
    return Money.of(text, "EUR")


def bank_lines_table(texts: list[str] | None = None) -> Table:
    texts = texts or ["Cotisation SNES", "Frais SWIFT", "Virement MUTEB"]
    rows = []
    for i, text in enumerate(texts):
        rows.append({
            "date": date(2024, 1, i + 1),
            "ref": f"REF{i}",
            "text": text,
            "amount": eur("1234.50") if i % 2 == 0 else eur("-15.25"),
            "_style": "error" if i == 1 else None,
        })
    total = sum((r["amount"] for r in rows), Money.zero("EUR"))
    return Table(
        columns=[
            Column("date", L.VALUE_DATE, "date"),
            Column("ref", L.REFERENCE),
            Column("text", L.DESCRIPTION),
            Column("amount", L.AMOUNT, "money"),
        ],
        rows=rows,
        totals={"amount": total},
    )


def corridor_table() -> Table:
    return Table(
        columns=[
            Column("org", L.ORGANISATION),
            Column("sent", L.SENT, "money", currency_key="cur"),
            Column("cur", L.CURRENCY),
            Column("members", L.MEMBERS, "int"),
            Column("ratio", L.PASS_THROUGH_RATIO, "percent"),
        ],
        rows=[
            {"org": "MUTEB", "sent": 655_957, "cur": "XOF", "members": 1200,
             "ratio": Decimal("0.985")},
            {"org": "SNES", "sent": 123_450, "cur": "EUR", "members": 54000,
             "ratio": Decimal(1)},
            {"org": "KTA", "sent": 1_234_567, "cur": "KWD", "members": 10,
             "ratio": Decimal("0.5")},
        ],
    )


def reconciliation_summary(difference: str = "0.10") -> SummaryLines:
    return SummaryLines([
        SummaryLine(L.BALANCE_PER_BANK, eur("10000.00"), emphasis=True),
        SummaryLine(L.DEPOSITS_IN_TRANSIT, eur("50.00"), "+", indent=1),
        SummaryLine(L.OUTSTANDING_PAYMENTS, eur("20.00"), "-", indent=1),
        SummaryLine(L.ADJUSTED_BANK_BALANCE, eur("10030.00"), "=", emphasis=True),
        SummaryLine(L.BALANCE_PER_BOOKS, eur("10029.90"), emphasis=True),
        SummaryLine(L.DIFFERENCE, eur(difference), flag=Money.of(difference, "EUR") != 0,
                    emphasis=True),
    ])


def sample_report(table: Table | None = None) -> Report:
    return Report(
        title=L.BANK_RECONCILIATION,
        subtitle=Msg(L.FROM_TO, start=date(2024, 1, 1), end=date(2024, 1, 31)),
        generated_at=datetime(2024, 2, 1, 9, 30, tzinfo=UTC),
        meta=[(L.BANK_ACCOUNT, Verbatim("FR76 3000 6000 0112 3456 7890 189")),
              (L.PERIOD, "2024-01")],
        sections=[
            Section(L.BANK_RECONCILIATION, [reconciliation_summary(), SignOff()]),
            Section(L.UNMATCHED_BANK_LINES, [table or bank_lines_table(),
                                             Note(L.NOT_RECONCILED)]),
            Section(L.CORRIDOR, [corridor_table()]),
        ],
    )


def xlsx_of(report: Report, lang: str = "en") -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(render_bytes(report, "xlsx", lang)))


def sheet_xml(report: Report, index: int, lang: str = "en") -> str:
    with zipfile.ZipFile(io.BytesIO(render_bytes(report, "xlsx", lang))) as zf:
        return zf.read(f"xl/worksheets/sheet{index}.xml").decode("utf-8")


def find_row(ws, first_value: str) -> int:
    for row in ws.iter_rows():
        for cell in row:
            if cell.value == first_value:
                return cell.row
    raise AssertionError(f"{first_value!r} not in sheet {ws.title}")


# -- XLSX ----------------------------------------------------------------------------


def test_xlsx_opens_with_openpyxl_with_one_sheet_per_section() -> None:
    wb = xlsx_of(sample_report())
    assert wb.sheetnames == ["Bank reconciliation", "Unmatched bank lines", "Corridor"]
    assert wb["Bank reconciliation"]["A1"].value == "Bank reconciliation"


def test_xlsx_total_cells_equal_the_json_totals() -> None:
    report = sample_report()
    ws = xlsx_of(report)["Unmatched bank lines"]
    total_row = find_row(ws, "Total")
    data = report_to_dict(report)
    table = data["sections"][1]["blocks"][0]
    assert table["totals"][0]["amount"] == {"amount": "2453.75", "currency": "EUR"}
    assert Decimal(str(ws.cell(total_row, 4).value)) == Decimal("2453.75")
    # and the XML holds the exact decimal, not a float rendering
    assert "<v>2453.75</v>" in sheet_xml(report, 2)


def test_xlsx_freezes_panes_below_the_header_and_filters_the_first_table() -> None:
    ws = xlsx_of(sample_report())["Unmatched bank lines"]
    header = find_row(ws, "Value date")
    assert ws.freeze_panes == f"A{header + 1}"
    assert ws.auto_filter.ref == f"A{header}:D{header + 3}"
    assert ws.print_title_rows == f"${header}:${header}"


def test_xlsx_number_formats_follow_each_currencys_digits() -> None:
    ws = xlsx_of(sample_report())["Corridor"]
    header = find_row(ws, "Organisation")
    formats = {ws.cell(header + i, 3).value: ws.cell(header + i, 2).number_format
               for i in (1, 2, 3)}
    assert formats == {"XOF": "#,##0", "EUR": "#,##0.00", "KWD": "#,##0.000"}
    assert ws.cell(header + 3, 2).value == pytest.approx(1234.567)
    assert ws.cell(header + 1, 5).number_format == "0.0%"
    assert ws.cell(header + 1, 4).number_format == "#,##0"


def test_a_single_currency_money_column_names_its_currency_in_the_header() -> None:
    ws = xlsx_of(sample_report())["Unmatched bank lines"]
    header = find_row(ws, "Value date")
    assert ws.cell(header, 4).value == "Amount (EUR)"
    assert ws.cell(header + 1, 4).number_format == "#,##0.00"


def test_a_mixed_currency_money_column_carries_the_code_in_each_format() -> None:
    table = Table([Column("amount", L.AMOUNT, "money")],
                  [{"amount": eur("1.00")}, {"amount": Money(5000, "XOF")}])
    ws = xlsx_of(Report("T", sections=[Section("S", [table])]))["S"]
    header = find_row(ws, "Amount")
    assert ws.cell(header + 1, 1).number_format == '#,##0.00\\ "EUR"'
    assert ws.cell(header + 2, 1).number_format == '#,##0\\ "XOF"'


def test_xlsx_writes_dates_as_dates() -> None:
    ws = xlsx_of(sample_report())["Unmatched bank lines"]
    header = find_row(ws, "Value date")
    cell = ws.cell(header + 1, 1)
    assert cell.is_date and cell.value.date() == date(2024, 1, 1)
    assert cell.number_format == "yyyy-mm-dd"


def test_xlsx_negative_amounts_stay_numbers() -> None:
    ws = xlsx_of(sample_report())["Unmatched bank lines"]
    header = find_row(ws, "Value date")
    assert ws.cell(header + 2, 4).value == pytest.approx(-15.25)
    assert ws.cell(header + 2, 4).data_type == "n"


def test_xlsx_shows_a_flagged_difference_in_red() -> None:
    ws = xlsx_of(sample_report())["Bank reconciliation"]
    diff = find_row(ws, "Difference")
    assert ws.cell(diff, 1).font.color.rgb == "FFC00000"
    assert ws.cell(diff, 3).font.color.rgb == "FFC00000"
    fine = find_row(ws, "Balance per books")
    assert ws.cell(fine, 3).font.color is None or ws.cell(fine, 3).font.color.rgb != "FFC00000"


def test_xlsx_sheet_names_are_valid_unique_and_short() -> None:
    names = sheet_names(["a/b:c*d?[e]\\f", "x" * 40, "x" * 40, "History", "'q'", ""])
    assert names[0] == "a b c d e f"
    assert all(len(n) <= 31 for n in names)
    assert len({n.casefold() for n in names}) == len(names)
    assert names[2].endswith("(2)") and names[3] != "History"
    assert names[4] == "q" and names[5]


def test_xlsx_survives_control_characters_in_bank_text() -> None:
    report = sample_report(bank_lines_table(["bad\x00text\x0b", "ok", "x"]))
    ws = xlsx_of(report)["Unmatched bank lines"]
    assert ws.cell(find_row(ws, "Value date") + 1, 3).value == "bad\ufffdtext\ufffd"


def test_xlsx_renders_charts_and_flows_as_data_tables() -> None:
    report = Report("T", sections=[Section("Flows", [bar_chart(), flow_diagram()])])
    ws = xlsx_of(report, "fr")["Flows"]
    assert find_row(ws, "janv. 2024")
    loss_row = find_row(ws, "Frais")
    assert ws.cell(loss_row, 3).value == pytest.approx(100)


# -- formula injection -------------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE)
def test_neutralise_prefixes_an_apostrophe_to_formula_starts(text: str) -> None:
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["", "plain", "1234", "'quoted", " =spaced"])
def test_neutralise_leaves_harmless_text_alone(text: str) -> None:
    assert neutralise(text) == text


def test_formula_injection_from_bank_text_is_neutralised_in_xlsx() -> None:
    report = sample_report(bank_lines_table(HOSTILE))
    ws = xlsx_of(report)["Unmatched bank lines"]
    header = find_row(ws, "Value date")
    values = [ws.cell(header + 1 + i, 3).value for i in range(len(HOSTILE))]
    assert values == ["'" + t for t in HOSTILE]
    xml = sheet_xml(report, 2)
    assert "<f>" not in xml and 't="inlineStr"' in xml


def test_formula_injection_from_bank_text_is_neutralised_in_csv() -> None:
    report = sample_report(bank_lines_table(HOSTILE))
    text = render_bytes(report, "csv", "en").decode("utf-8-sig")
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    for hostile in HOSTILE:
        assert "'" + hostile in cells
        assert hostile not in cells
    assert all(not c or c[0] not in "=+@\t\r" for c in cells)
    assert "-15.25" in cells  # a negative number is a number, untouched


def test_json_keeps_bank_text_raw() -> None:
    data = report_to_dict(sample_report(bank_lines_table(HOSTILE)))
    texts = [r["text"] for r in data["sections"][1]["blocks"][0]["rows"]]
    assert texts == HOSTILE


# -- HTML ------------------------------------------------------------------------------


def html_of(report: Report, lang: str) -> str:
    return render_bytes(report, "html", lang).decode("utf-8")


def test_html_uses_french_labels_and_number_formats_when_lang_is_fr() -> None:
    page = html_of(sample_report(), "fr")
    assert '<html lang="fr-FR">' in page
    for label in ("Rapprochement bancaire", "Solde selon le relevé bancaire",
                  "Dépôts en transit", "Écart", "Établi par", "Vérifié par"):
        assert label in page
    assert "10\u202f000,00\u00a0€" in page
    assert "Du 1 janv. 2024 au 31 janv. 2024" in page


def test_html_uses_spanish_labels_when_lang_is_es() -> None:
    page = html_of(sample_report(), "es")
    assert '<html lang="es-ES">' in page
    for label in ("Conciliación bancaria", "Saldo según extracto bancario",
                  "Depósitos en tránsito", "Diferencia", "Preparado por"):
        assert label in page


def test_a_full_locale_formats_for_its_region_with_its_languages_catalog() -> None:
    page = html_of(sample_report(), "fr_CA")
    assert '<html lang="fr-CA">' in page
    assert "Rapprochement bancaire" in page


def test_html_escapes_every_text() -> None:
    report = sample_report(bank_lines_table(['<script>alert("x")</script>', "a & b", "x"]))
    page = html_of(report, "en")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "a &amp; b" in page


def test_html_is_self_contained_and_printable() -> None:
    report = Report("T", sections=[Section("S", [bar_chart(), flow_diagram()])])
    page = html_of(report, "en")
    assert "<script" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "@media print" in page and "Content-Security-Policy" in page


def test_html_marks_differences_and_row_styles() -> None:
    page = html_of(sample_report(), "en")
    assert '<tr class="emphasis flag">' in page
    assert '<tr class="error">' in page
    assert 'class="num"' in page


def test_html_draws_bar_charts_and_flow_diagrams_as_inline_svg() -> None:
    report = Report("T", sections=[Section("S", [bar_chart(), flow_diagram()])])
    page = html_of(report, "en")
    assert page.count("<svg") == 2
    assert page.count("<rect") >= 12
    assert 'class="link loss"' in page
    assert "Network → Fees: €100.00" in page


def test_a_line_chart_draws_a_polyline_per_series() -> None:
    chart = BarChart("Pass-through", [date(2024, m, 1) for m in (1, 2, 3)],
                     [Series("A", [Decimal("0.9"), Decimal("0.95"), None]),
                      Series("B", [1, 2, 3])], mode="line")
    page = html_of(Report("T", sections=[Section("S", [chart])]), "en")
    assert page.count("<polyline") == 2


# -- CSV and JSON -----------------------------------------------------------------------


def test_csv_is_one_file_with_a_section_column_and_blank_lines_between_blocks() -> None:
    raw = render_bytes(sample_report(), "csv", "fr")
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    blocks = text.split("\r\n\r\n")
    assert all(b.splitlines()[0].startswith("Section,") for b in blocks)
    table = next(b for b in blocks if "Date de valeur" in b)
    rows = list(csv.reader(io.StringIO(table)))
    assert rows[0] == ["Section", "Date de valeur", "Référence", "Libellé", "Montant (EUR)"]
    assert rows[1] == ["Lignes de relevé non rapprochées", "2024-01-01", "REF0",
                       "Cotisation SNES", "1234.50"]
    assert rows[-1][1] == "Total" and rows[-1][4] == "2453.75"


def test_csv_follows_a_mixed_currency_column_with_its_currency() -> None:
    table = Table([Column("amount", L.AMOUNT, "money")],
                  [{"amount": eur("1.00")}, {"amount": Money(5000, "XOF")}])
    text = render_bytes(Report("T", sections=[Section("S", [table])]), "csv", "en")
    rows = list(csv.reader(io.StringIO(text.decode("utf-8-sig").split("\r\n\r\n")[1])))
    assert rows == [["Section", "Amount", "Amount (Currency)"],
                    ["S", "1.00", "EUR"], ["S", "5000", "XOF"]]


def test_json_writes_amounts_as_decimal_strings_and_dates_as_iso() -> None:
    data = json.loads(render_bytes(sample_report(), "json", "en"))
    rows = data["sections"][2]["blocks"][0]["rows"]
    assert rows[0]["sent"] == {"amount": "655957", "currency": "XOF"}
    assert rows[2]["sent"] == {"amount": "1234.567", "currency": "KWD"}
    assert rows[0]["ratio"] == "0.985"
    assert data["sections"][1]["blocks"][0]["rows"][0]["date"] == "2024-01-01"
    assert data["generated_at"] == "2024-02-01T09:30:00+00:00"


def test_render_writes_to_a_path(tmp_path) -> None:
    for fmt in ("xlsx", "html", "csv", "json"):
        out = tmp_path / f"r.{fmt}"
        render(sample_report(), fmt, "es", out)
        assert out.stat().st_size > 0


# -- refusals ------------------------------------------------------------------------------


def test_render_refuses_an_unknown_format_or_language() -> None:
    with pytest.raises(ReportError):
        render_bytes(sample_report(), "pdf", "en")
    with pytest.raises(I18nError):
        render_bytes(sample_report(), "html", "de")


def test_minor_units_without_a_currency_are_refused() -> None:
    table = Table([Column("a", "A", "money")], [{"a": 100}])
    with pytest.raises(ReportError, match="without a currency"):
        render_bytes(Report("T", sections=[Section("S", [table])]), "json", "en")


def test_floats_are_refused() -> None:
    table = Table([Column("a", "A", "decimal")], [{"a": 0.1}])
    with pytest.raises(ReportError):
        render_bytes(Report("T", sections=[Section("S", [table])]), "html", "en")
    with pytest.raises(ReportError):
        Series("s", [0.5])


def test_model_refuses_malformed_blocks() -> None:
    with pytest.raises(ReportError):
        Table([Column("a", "A"), Column("a", "B")])
    with pytest.raises(ReportError):
        Column("a", "A", "text", currency="EUR")
    with pytest.raises(ReportError):
        BarChart("c", ["x"], [Series("s", [1, 2])])
    with pytest.raises(ReportError):
        FlowDiagram("f", [FlowNode("a", "A")], [FlowLink("a", "b", 1)])
    with pytest.raises(ReportError):
        Section("S", ["not a block"])  # type: ignore[list-item]


def test_a_flow_diagram_with_a_cycle_is_refused_when_drawn() -> None:
    flow = FlowDiagram("f", [FlowNode("a", "A"), FlowNode("b", "B")],
                       [FlowLink("a", "b", 1), FlowLink("b", "a", 1)])
    with pytest.raises(ReportError, match="cycle"):
        render_bytes(Report("T", sections=[Section("S", [flow])]), "html", "en")


def test_every_block_kind_renders_in_every_format_and_language() -> None:
    report = Report("T", sections=[Section("S", [
        Paragraph("text"), Paragraph("warn", "warning"), Paragraph("err", "error"),
        KeyValues([(L.AMOUNT, eur("1.00")), (L.DATE, date(2024, 1, 1)), ("n", 3),
                   ("d", Decimal("1.5")), ("b", True), ("none", None)], title="KV"),
        SignOff([SignOffLine(L.PREPARED_BY, "A. Treasurer", date(2024, 2, 1))]),
        Table([Column("a", "A")], [], title="Empty"),
        bar_chart(), flow_diagram(),
    ])])
    for lang in ("en", "fr", "es"):
        for fmt in ("xlsx", "html", "csv", "json"):
            assert render_bytes(report, fmt, lang)


# -- shared fixtures -------------------------------------------------------------------------


def bar_chart() -> BarChart:
    months = [date(2024, m, 1) for m in range(1, 7)]
    return BarChart(
        L.PASS_THROUGH_PER_UNION_PER_MONTH, months,
        [Series(Verbatim("SNES"), [eur(f"{m}000.00") for m in range(1, 7)]),
         Series(Verbatim("CSQ"), [eur(f"{m}500.00") for m in range(1, 7)])],
    )


def flow_diagram() -> FlowDiagram:
    return FlowDiagram(
        L.NORTH_SOUTH_FLOWS,
        [FlowNode("snes", Verbatim("SNES")), FlowNode("csq", Verbatim("CSQ")),
         FlowNode("net", Verbatim("Network")), FlowNode("muteb", Verbatim("MUTEB")),
         FlowNode("fees", L.FEES), FlowNode("held", L.STILL_HELD)],
        [FlowLink("snes", "net", eur("3000.00")), FlowLink("csq", "net", eur("2000.00")),
         FlowLink("net", "muteb", eur("4500.00")),
         FlowLink("net", "fees", eur("100.00"), "loss"),
         FlowLink("net", "held", eur("400.00"), "held")],
    )
