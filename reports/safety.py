"""Neutralising spreadsheet formulas hidden in exported text (CSV/XLSX injection).

Owns one rule: a text cell that a spreadsheet could take for a formula — one
starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return — gets a
leading apostrophe.  Bank remittance text is untrusted (``=HYPERLINK(...)``,
``+cmd|' /C calc'!A0``), and auditors open our CSV/XLSX in Excel or LibreOffice.

Applied by the CSV and XLSX writers to every text cell, labels included.
Numbers are written as numbers and never touched, so a negative amount stays a
number.  HTML escapes its text instead and JSON keeps raw values: neither is
evaluated by a spreadsheet.
"""

from __future__ import annotations

__all__ = ["FORMULA_TRIGGERS", "neutralise"]

#: First characters that make a spreadsheet evaluate a cell.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """Return ``text`` with a leading ``'`` if it could start a formula, else unchanged."""
    if text and text[0] in FORMULA_TRIGGERS:
        return "'" + text
    return text
