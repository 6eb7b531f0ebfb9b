"""Renderers of a ``reports.model.Report``: XLSX, HTML, CSV and JSON.

``render(report, fmt, lang, out)`` is the one entry point; each format module
also exposes its writer.  Renderers translate labels and format values for the
chosen language; they never read the database.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO, Literal

from reports.model import Report, ReportError

__all__ = ["FORMATS", "render", "render_bytes"]

Format = Literal["xlsx", "html", "csv", "json"]
FORMATS: tuple[str, ...] = ("xlsx", "html", "csv", "json")


def render(report: Report, fmt: Format | str, lang: str, out: Path | BinaryIO) -> None:
    """Render ``report`` as ``fmt`` (xlsx, html, csv, json) in ``lang`` to a path or binary stream.

    ``lang`` is ``en``, ``fr``, ``es`` or a full locale such as ``fr_CA`` (catalog
    from the language, number and date formats from the locale).
    """
    fmt = fmt.lower().lstrip(".") if isinstance(fmt, str) else fmt
    if fmt == "xlsx":
        from reports.render.xlsx import write_xlsx

        write_xlsx(report, lang, out)
        return
    if fmt == "html":
        from reports.render.html import render_html as text_writer
    elif fmt == "csv":
        from reports.render.csv import render_csv as text_writer
    elif fmt == "json":
        from reports.render.json import render_json as text_writer
    else:
        raise ReportError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")
    data = text_writer(report, lang).encode("utf-8-sig" if fmt == "csv" else "utf-8")
    if isinstance(out, (str, Path)):
        Path(out).write_bytes(data)
    else:
        out.write(data)


def render_bytes(report: Report, fmt: Format | str, lang: str) -> bytes:
    """Render to bytes (convenient for tests and HTTP responses)."""
    buf = io.BytesIO()
    render(report, fmt, lang, buf)
    return buf.getvalue()
