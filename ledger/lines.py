"""Bank statement lines held as columns: the shape readers hand to storage.

A million-line bank file is a million small objects if each line is one, and
building them costs more than storing the rows.  :class:`LineColumns` keeps
the lines of one statement as one list per field instead; the CSV and XLSX
reader fills it directly, storage reads it without an object per line, and a
reader that does produce line objects (camt, MT940, OFX) is turned into
columns once by :meth:`LineColumns.of`.

Money is split into ``*_minor`` (int) and ``*_currency`` columns; a line's
origin into ``file``, ``line``, ``location`` and ``raw``.  This module is a
value type: it imports neither the database nor the readers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import attrgetter
from typing import Any

#: Every column, in a fixed order.  Text columns hold "" when empty, optional
#: values None.
COLUMNS: tuple[str, ...] = (
    "account", "booking_date", "value_date", "amount_minor", "currency",
    "counterparty_name", "counterparty_account", "reference", "remittance",
    "bank_transaction_id", "bank_code", "charges_minor", "charges_currency",
    "instructed_minor", "instructed_currency", "exchange_rate", "source_currency",
    "target_currency", "reversal", "file", "line", "location", "raw",
)

# Column -> how to read it off a line object (attribute path, or a Money part).
_PLAIN = ("account", "booking_date", "value_date", "counterparty_name", "counterparty_account",
          "reference", "remittance", "bank_transaction_id", "bank_code", "exchange_rate",
          "source_currency", "target_currency", "reversal")
_MONEY = {"amount": ("amount_minor", "currency"), "charges": ("charges_minor", "charges_currency"),
          "instructed_amount": ("instructed_minor", "instructed_currency")}
_ORIGIN = {"file": "origin.file", "line": "origin.line", "location": "origin.location",
           "raw": "origin.raw"}


class LineColumns:
    """The lines of one statement as equal-length columns (see :data:`COLUMNS`)."""

    __slots__ = ("columns", "size")

    def __init__(self, columns: dict[str, list[Any]]) -> None:
        missing = [c for c in COLUMNS if c not in columns]
        if missing:
            raise ValueError(f"line columns missing: {', '.join(missing)}")
        sizes = {len(columns[c]) for c in COLUMNS}
        if len(sizes) > 1:
            raise ValueError(f"line columns of different lengths: {sorted(sizes)}")
        self.columns = {c: columns[c] for c in COLUMNS}
        self.size = sizes.pop() if sizes else 0

    def __len__(self) -> int:
        return self.size

    def take(self, rows: Sequence[int]) -> dict[str, list[Any]]:
        """The columns restricted to ``rows`` (indexes, in the order given)."""
        return {c: [col[i] for i in rows] for c, col in self.columns.items()}

    @classmethod
    def empty(cls) -> dict[str, list[Any]]:
        """Empty columns to fill."""
        return {c: [] for c in COLUMNS}

    @classmethod
    def of(cls, lines: Iterable[Any]) -> LineColumns:
        """``lines`` as columns: itself when it already is, else read off line objects.

        A line object has the attributes of ``imports.model.StatementLine``:
        ``amount``/``charges``/``instructed_amount`` as Money (or None) and an
        ``origin`` with ``file``, ``line``, ``location`` and ``raw``.
        """
        if isinstance(lines, LineColumns):
            return lines
        objs = list(lines)
        cols: dict[str, list[Any]] = {}
        for name in _PLAIN:
            cols[name] = list(map(attrgetter(name), objs))
        for attr, (minor, currency) in _MONEY.items():
            values = list(map(attrgetter(attr), objs))
            cols[minor] = [m.minor if m is not None else None for m in values]
            cols[currency] = [m.currency if m is not None else None for m in values]
        for name, path in _ORIGIN.items():
            cols[name] = list(map(attrgetter(path), objs))
        return cls(cols)
