"""CSV and XLSX bank exports read through a declarative :class:`~imports.profile.Profile`.

One engine serves both containers: a row source yields ``(line, cells, raw)``
and the profile says where the header is, which column feeds which field and
how dates and amounts are written.  Bad cells become diagnostics (all of them,
not just the first); nothing here raises on bad input except a refused XLSX
archive (:class:`~imports.model.ImportFileError`).

Speed matters (10^6-line files): the CSV side streams through the ``csv``
module, dates and amounts are parsed once per distinct text (caches), and
common amount spellings take a regex fast path before babel.

XLSX goes through python-calamine (Rust; about 18 times faster than openpyxl's
read-only mode on a 100,000-row sheet), falling back to openpyxl when calamine
is not installed.  Both give numeric cells as binary floats: see
:func:`float_to_decimal` for why the conversion is exact for amounts.

This module must not import the database or the other format readers.
"""

from __future__ import annotations

import codecs
import csv
import math
import os
import re
import zipfile
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from itertools import chain, islice, repeat
from operator import attrgetter
from pathlib import Path
from typing import Any

from babel import Locale

from imports.forked import JoinedTexts, Pending, can_fork, pack_texts, unpack_texts
from imports.limits import DEFAULT_MAX_UNPACKED_BYTES, MAX_COMPRESSION_RATIO, gc_paused
from imports.model import (
    Balance,
    Diagnostic,
    ImportFileError,
    LineTable,
    Origin,
    ReadResult,
    Severity,
    Statement,
)
from imports.profile import ColumnRef, Profile, match_header, normalise_cell
from ledger.lines import LineColumns
from ledger.money import Money, MoneyError, check_currency, currency_digits, parse_amount

__all__ = [
    "ZIP_MAGIC",
    "check_xlsx_archive",
    "float_to_decimal",
    "is_xlsx",
    "iter_csv_rows",
    "iter_xlsx_rows",
    "read_csv",
    "read_tabular",
    "read_xlsx",
    "resolve_encoding",
]

ZIP_MAGIC = b"PK\x03\x04"
#: How far down a file the header row is looked for.
HEADER_SEARCH_ROWS = 200
#: Cache sizes: enough for every distinct date of decades and most amounts of a big file.
_CACHE_LIMIT = 200_000
#: Data rows converted together: big enough for fast column passes, small enough
#: that a million-line file never holds all its cells at once.
BLOCK_ROWS = 50_000
#: Rows a row source hands over at once.
BATCH_ROWS = 4096
#: CSV files of this many bytes are read by two processes (see :func:`read_csv`).
SPLIT_BYTES = 8 << 20


@dataclass(slots=True)  # not frozen: built once per line, and frozen init costs 2x
class RawRow:
    """One row as read: its 1-based line (CSV) or row (XLSX), its cells and its raw text."""

    line: int
    cells: list[Any]
    raw: str
    location: str | None = None
    column_offset: int = 0  # XLSX: index of the sheet's first column (for cell names)


class _CellError(Exception):
    """A cell that cannot be read; the message is ready for the user."""


# -- value conversion ---------------------------------------------------------------


def float_to_decimal(value: float) -> Decimal:
    """The decimal a spreadsheet cell holds, from the binary float a reader returns.

    Spreadsheet files store numbers as decimal text in the XML; readers turn it
    into a double.  Every decimal with at most 15 significant digits survives
    text -> double -> 15-significant-digit text exactly (IEEE 754 doubles carry
    15.95 decimal digits, C's DBL_DIG = 15), and Excel itself keeps only 15
    significant digits.  So formatting with ``.15g`` gives back exactly what the
    cell held for every amount below 10^13 with two decimals, and also removes
    the binary noise of computed cells (0.1 + 0.2 -> 0.3, as Excel shows it).
    """
    if not math.isfinite(value):
        raise _CellError(f"'{value}' is not a finite number")
    return Decimal(format(value, ".15g"))


def _cell_text(value: Any) -> str:
    """Text of a cell for text fields (names, references)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return str(float_to_decimal(value)) if math.isfinite(value) else str(value)
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


class _AmountReader:
    """Text or number -> Decimal, for one locale; caches each distinct text."""

    def __init__(self, locale: str | None, remove: tuple[str, ...]) -> None:
        self.locale = locale
        self.remove = remove
        if locale:
            loc = Locale.parse(locale)
            symbols = loc.number_symbols.get("latn", loc.number_symbols)
            dec, group = symbols.get("decimal", "."), symbols.get("group", ",")
        else:
            dec, group = ".", ""
        groups = [group] if group else []
        if group.isspace():
            groups += [" ", "\u00a0", "\u202f"]
        table: dict[int, Any] = {ord(g): None for g in groups}
        table[ord(dec)] = "."
        self.table = table
        # Canonical spellings (1234.56, 1,234.56, -12) skip babel, which costs ~14 us a call.
        grp = "[" + "".join(re.escape(g) for g in dict.fromkeys(groups)) + "]" if groups else None
        whole = rf"(?:\d+|\d{{1,3}}(?:{grp}\d{{3}})+)" if grp else r"\d+"
        item = rf"[+-]?{whole}(?:{re.escape(dec)}\d+)?"
        self.fast = re.compile(item).fullmatch
        # A whole column of canonical spellings (empty cells allowed) in one match.
        self.fast_column = re.compile(rf"(?:{item})?(?:\n(?:{item})?)*").fullmatch
        self.cache: dict[str, Decimal | None] = {}
        self.where = f" (locale {locale})" if locale else ""

    def __call__(self, value: Any) -> Decimal | None:
        """The amount, or None for an empty cell; raises _CellError."""
        if value is None:
            return None
        if isinstance(value, str):
            hit = self.cache.get(value, _MISSING)
            if hit is not _MISSING:
                return hit  # type: ignore[return-value]
            result = self._text(value)
            if len(self.cache) >= _CACHE_LIMIT:
                self.cache.clear()
            self.cache[value] = result
            return result
        if isinstance(value, bool):
            raise _CellError(f"cannot read '{value}' as an amount")
        if isinstance(value, int):
            return Decimal(value)
        if isinstance(value, float):
            return float_to_decimal(value)
        if isinstance(value, Decimal):
            return value
        raise _CellError(f"cannot read '{_cell_text(value)}' as an amount")

    def column(self, values: Sequence[Any]) -> list[Decimal | None] | None:
        """A whole column at once when every cell is a canonical spelling, else None.

        One regex match over the joined column and one ``Decimal`` per cell,
        no Python call per cell: the amounts of a big file are mostly distinct,
        so the per-text cache does not help them.
        """
        if not values or self.remove:
            return None
        try:
            joined = "\n".join(values)
        except TypeError:  # a spreadsheet's numbers and dates: one by one
            return None
        if not self.fast_column(joined):
            return None
        texts = joined.translate(self.table).split("\n")
        if len(texts) != len(values):  # a cell with a newline in it (a quoted field)
            return None
        return [Decimal(t) if t else None for t in texts]

    def _text(self, text: str) -> Decimal | None:
        s = text
        for r in self.remove:
            s = s.replace(r, "")
        s = s.strip()
        if not s:
            return None
        if self.fast(s):
            try:
                return Decimal(s.translate(self.table))
            except InvalidOperation:  # pragma: no cover - the regex admits only digits
                pass
        try:
            return parse_amount(s, self.locale)
        except (MoneyError, ValueError, InvalidOperation):
            raise _CellError(f"cannot read '{text.strip()}' as an amount{self.where}") from None


_MISSING = object()


class _DateReader:
    """Text or spreadsheet date -> date, trying each format; caches each distinct text."""

    def __init__(self, formats: tuple[str, ...]) -> None:
        self.formats = formats
        self.cache: dict[str, date | None] = {}
        self.expected = " or ".join(formats)

    def __call__(self, value: Any) -> date | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if not isinstance(value, str):
            raise _CellError(
                f"cannot read '{_cell_text(value)}' as a date (a number, not a date cell)"
            )
        hit = self.cache.get(value, _MISSING)
        if hit is not _MISSING:
            return hit  # type: ignore[return-value]
        result = self._text(value)
        if len(self.cache) >= _CACHE_LIMIT:
            self.cache.clear()
        self.cache[value] = result
        return result

    def _text(self, text: str) -> date | None:
        s = text.strip()
        if not s:
            return None
        for fmt in self.formats:
            try:
                if fmt == "%Y-%m-%d":
                    return (
                        date.fromisoformat(s) if len(s) == 10 else datetime.strptime(s, fmt).date()
                    )
                return datetime.strptime(s, fmt).date()
            except ValueError:
                continue
        raise _CellError(f"cannot read '{s}' as a date (expected {self.expected})")


# -- encodings and row sources ---------------------------------------------------------


def resolve_encoding(path: str | Path, encoding: str) -> str:
    """The codec to open ``path`` with: ``auto`` tries UTF-8 (with or without BOM), then cp1252.

    Plain ``utf-8`` is opened as ``utf-8-sig`` too, so a byte-order mark never
    sticks to the first header cell.
    """
    if encoding in ("utf-8", "utf-8-sig"):
        return "utf-8-sig"
    if encoding != "auto":
        return encoding
    for candidate in ("utf-8", "cp1252"):
        decoder = codecs.getincrementaldecoder(candidate)()
        try:
            with open(path, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        except OSError:
            break
        return "utf-8-sig" if candidate == "utf-8" else candidate
    # latin-1 decodes every byte: the last resort never fails.
    return "latin-1"


def iter_csv_rows(path: str | Path, profile: Profile, diags: list[Diagnostic]) -> Iterator[RawRow]:
    """Rows of a CSV file with their first physical line number and raw text.

    Decoding and CSV errors end the file with one diagnostic (the reader cannot
    resynchronise after them).
    """
    return chain.from_iterable(iter_csv_batches(path, profile, diags))


@dataclass(slots=True)
class CsvRange:
    """Part of a CSV file: bytes ``start`` up to ``stop`` (None: the end), the first of
    them on physical line ``first_line``; ``codec`` as resolved for the whole file.

    A part that stops before the end is read with a sentinel line after it:
    ``clean`` then tells whether the part ended between two records (not inside
    a quoted field), that is whether the rest can be read on its own.
    """

    codec: str
    start: int = 0
    stop: int | None = None
    first_line: int = 1
    clean: bool = False


#: Written after a part that stops early; a record of this one cell means a clean cut.
_SENTINEL = "\ue000solidarity: end of part\ue000"


def iter_csv_batches(
    path: str | Path, profile: Profile, diags: list[Diagnostic], part: CsvRange | None = None
) -> Iterator[list[RawRow]]:
    """:func:`iter_csv_rows` in lists of :data:`BATCH_ROWS` rows (no generator step per row),
    of the whole file or of ``part`` of it."""
    file = str(path)
    part = part or CsvRange(resolve_encoding(path, profile.encoding))
    encoding = part.codec if part.start == 0 else _after_bom(part.codec)
    later = _after_bom(encoding)  # a BOM only opens the file
    # Decoded physical lines from line number `first` on.  The csv module pulls
    # exactly the lines of one record, so a record's raw text is the lines it
    # pulled (multi-line fields too).
    buf: list[str] = []
    first = part.first_line

    def physical(fh: Any) -> Iterator[str]:
        codec, number = encoding, part.first_line
        for chunk in _line_chunks(fh, part):
            try:
                if codec == later:
                    decoded = [data.decode(codec) for data in chunk]
                else:
                    decoded = [chunk[0].decode(codec)] + [d.decode(later) for d in chunk[1:]]
            except UnicodeDecodeError:
                # Which line: decode one by one (only on the way to an error).
                decoded = []
                for k, data in enumerate(chunk):
                    try:
                        decoded.append(data.decode(codec if number + k == 1 else later))
                    except UnicodeDecodeError as exc:
                        buf.extend(decoded)
                        yield from decoded
                        raise _DecodeError(number + k, exc) from None
            codec = later
            number += len(chunk)
            buf.extend(decoded)
            yield from decoded
        if part.stop is not None:
            buf.append(_SENTINEL + "\n")
            yield _SENTINEL + "\n"

    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed by the with below
        fh.seek(part.start)
    except OSError as exc:
        diags.append(Diagnostic(file, None, f"cannot read: {exc.strerror or exc}"))
        return
    with fh:
        reader = csv.reader(
            physical(fh), delimiter=profile.delimiter, quotechar=profile.quotechar, strict=False
        )
        start = part.first_line
        batch: list[RawRow] = []
        try:
            for row in reader:
                end = reader.line_num + part.first_line
                raw = buf[start - first] if end - start == 1 else "".join(
                    buf[start - first : end - first])
                if part.stop is not None and _SENTINEL in raw:
                    part.clean = row == [_SENTINEL]  # else the cut fell inside a quoted field
                    break
                batch.append(RawRow(start, row, raw.rstrip("\r\n")))
                start = end
                if len(batch) >= BATCH_ROWS:
                    yield batch
                    batch = []
                    del buf[: start - first]  # forget consumed lines
                    first = start
        except _DecodeError as exc:
            bad = exc.error.object[exc.error.start]
            diags.append(
                Diagnostic(
                    file,
                    exc.line,
                    f"cannot decode the text as {profile.encoding} (byte 0x{bad:02x}); "
                    'set encoding = "cp1252" or "auto" in the profile',
                )
            )
        except csv.Error as exc:
            diags.append(Diagnostic(file, start, f"cannot read the CSV: {exc}"))
        if batch:
            yield batch


def _after_bom(codec: str) -> str:
    return "utf-8" if codec == "utf-8-sig" else codec


def _line_chunks(fh: Any, part: CsvRange) -> Iterator[list[bytes]]:
    """Lists of about 1 MiB of physical lines (bytes) of ``part``."""
    left = None if part.stop is None else part.stop - part.start
    while chunk := fh.readlines(1 << 20):
        if left is not None:
            size = sum(map(len, chunk))
            if size >= left:  # the part ends on a line boundary inside this chunk
                k = 0
                while left > 0:
                    left -= len(chunk[k])
                    k += 1
                yield chunk[:k]
                return
            left -= size
        yield chunk


#: Codecs in which every byte 0x0A is a newline and 0x22 a quote: a file in one of
#: them can be cut between two lines by looking at bytes.
_BYTE_SAFE_CODECS = frozenset(codecs.lookup(c).name for c in (
    "utf-8", "utf-8-sig", "cp1252", "latin-1", "iso-8859-15", "ascii"))


#: The share of a split file this process reads: the child also pickles its lines.
_PARENT_SHARE = 0.55


def _split_point(path: str | Path, profile: Profile, codec: str) -> tuple[int, int] | None:
    """Where to cut a big CSV file in two: ``(byte offset, its line number)``, just after
    a newline past :data:`_PARENT_SHARE` of it with an even number of quote characters
    before it."""
    if codecs.lookup(codec).name not in _BYTE_SAFE_CODECS:
        return None
    try:
        size = os.path.getsize(path)
        if size < SPLIT_BYTES:
            return None
        quote = profile.quotechar.encode("ascii") if profile.quotechar else b""
        if len(quote) != 1:
            return None
        middle = int(size * _PARENT_SHARE)
        newlines = quotes = 0
        with open(path, "rb") as fh:
            left = middle
            while left and (chunk := fh.read(min(left, 1 << 20))):
                newlines += chunk.count(b"\n")
                quotes += chunk.count(quote)
                left -= len(chunk)
            window = fh.read(1 << 16)
    except (OSError, UnicodeEncodeError):
        return None
    pos = 0
    while (nl := window.find(b"\n", pos)) >= 0:
        quotes += window.count(quote, pos, nl)
        newlines += 1
        pos = nl + 1
        if quotes % 2 == 0:
            return middle + pos, newlines + 1
    return None


class _DecodeError(Exception):
    """A line that is not valid text in the profile's encoding."""

    def __init__(self, line: int, error: UnicodeDecodeError) -> None:
        super().__init__(line, error)
        self.line = line
        self.error = error


def is_xlsx(path: str | Path) -> bool:
    """True when the file starts with a zip signature (XLSX is a zip archive)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == ZIP_MAGIC
    except OSError:
        return False


def check_xlsx_archive(
    path: str | Path,
    max_unpacked: int = DEFAULT_MAX_UNPACKED_BYTES,
    max_ratio: int = MAX_COMPRESSION_RATIO,
) -> None:
    """Refuse an XLSX whose unpacked size or compression ratio is absurd (a zip bomb).

    Checked on the zip directory before any parser inflates a byte; the
    inflaters (Python's and calamine's) stop at each entry's declared size, so
    the declared sizes are what a hostile file can cost us.
    """
    p = Path(path)
    try:
        with zipfile.ZipFile(p) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ImportFileError(f"{p}: not a readable XLSX (zip) file: {exc}") from None
    if len(infos) > 10_000:
        raise ImportFileError(f"{p}: XLSX archive has {len(infos)} entries; refused")
    unpacked = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    if unpacked > max_unpacked:
        raise ImportFileError(
            f"{p}: XLSX would unpack to {unpacked} bytes, above the limit of {max_unpacked}"
        )
    # Tiny archives may compress very well for honest reasons; only big ones are suspect.
    if unpacked > 10 * 1024 * 1024 and unpacked > max_ratio * max(packed, 1):
        raise ImportFileError(
            f"{p}: XLSX compression ratio {unpacked // max(packed, 1)}:1 is above "
            f"{max_ratio}:1 (a zip bomb?); refused"
        )


def _column_letter(index: int) -> str:
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _xlsx_engine() -> str:
    forced = os.environ.get("SOLIDARITY_XLSX_ENGINE", "")
    if forced in ("openpyxl", "calamine"):
        return forced
    try:
        import python_calamine  # noqa: F401
    except ImportError:
        return "openpyxl"
    return "calamine"


def iter_xlsx_rows(
    path: str | Path, profile: Profile, diags: list[Diagnostic], *, max_rows: int | None = None
) -> Iterator[RawRow]:
    """Rows of the profile's sheet (default: the first) with their 1-based row numbers.

    Only cached cell values are read: formulas are never evaluated.  A damaged
    archive is a diagnostic; an absurd one (zip bomb) raises :class:`ImportFileError`.
    """
    file = str(path)
    try:
        readable = zipfile.is_zipfile(path)
    except OSError:
        readable = False
    if not readable:
        diags.append(Diagnostic(file, None, "not a readable XLSX file (damaged zip archive)"))
        return
    check_xlsx_archive(path)
    if _xlsx_engine() == "calamine":
        source = _calamine_rows(path, profile, diags, file, max_rows)
    else:
        source = _openpyxl_rows(path, profile, diags, file, max_rows)
    yield from source


def _pick_sheet(
    names: list[str], profile: Profile, diags: list[Diagnostic], file: str
) -> str | None:
    if not names:
        diags.append(Diagnostic(file, None, "the workbook has no sheet"))
        return None
    wanted = profile.sheet
    if wanted is None:
        return names[0]
    if isinstance(wanted, int):
        if 1 <= wanted <= len(names):
            return names[wanted - 1]
    elif wanted in names:
        return wanted
    diags.append(
        Diagnostic(file, None, f"no sheet {wanted!r} in the workbook (sheets: {', '.join(names)})")
    )
    return None


def _raw_of(cells: list[Any]) -> str:
    return "\t".join(_cell_text(c) for c in cells)


def _calamine_rows(
    path: str | Path, profile: Profile, diags: list[Diagnostic], file: str, max_rows: int | None
) -> Iterator[RawRow]:
    import python_calamine as pc

    try:
        wb = pc.CalamineWorkbook.from_path(str(path))
        name = _pick_sheet(list(wb.sheet_names), profile, diags, file)
        if name is None:
            return
        sheet = wb.get_sheet_by_name(name)
    # calamine parses untrusted bytes in Rust and reports every failure as some
    # exception; any of them means "this workbook cannot be read".
    except Exception as exc:  # noqa: BLE001
        diags.append(Diagnostic(file, None, f"cannot read the workbook: {exc}"))
        return
    start = sheet.start
    offset = start[1] if start else 0
    try:
        # iter_rows starts at the sheet's first row but trims columns left of the first used one.
        for index, row in enumerate(sheet.iter_rows(), start=1):
            if max_rows is not None and index > max_rows:
                return
            cells = [None if (v == "" and isinstance(v, str)) else v for v in row]
            yield RawRow(index, cells, _raw_of(cells), f"{name}!{index}", offset)
    except Exception as exc:  # noqa: BLE001 - see above
        diags.append(Diagnostic(file, None, f"cannot read the workbook: {exc}"))


def _openpyxl_rows(
    path: str | Path, profile: Profile, diags: list[Diagnostic], file: str, max_rows: int | None
) -> Iterator[RawRow]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - untrusted archive, any failure means unreadable
        diags.append(Diagnostic(file, None, f"cannot read the workbook: {exc}"))
        return
    try:
        name = _pick_sheet(list(wb.sheetnames), profile, diags, file)
        if name is None:
            return
        ws = wb[name]
        # Dimensions come from the file and may claim 16384 columns; ignore them.
        ws.reset_dimensions()  # type: ignore[union-attr]
        for index, row in enumerate(ws.iter_rows(values_only=True), start=1):
            if max_rows is not None and index > max_rows:
                return
            cells = list(row)
            while cells and cells[-1] is None:
                cells.pop()
            yield RawRow(index, cells, _raw_of(cells), f"{name}!{index}")
    except Exception as exc:  # noqa: BLE001 - see above
        diags.append(Diagnostic(file, None, f"cannot read the workbook: {exc}"))
    finally:
        wb.close()


# -- the engine -------------------------------------------------------------------------


def _blank(cells: list[Any]) -> bool:
    for c in cells:
        if c is not None and (not isinstance(c, str) or c.strip()):
            return False
    return True


@dataclass(slots=True)
class _Field:
    """A resolved column: its 0-based index and the name shown in messages."""

    index: int
    label: str


class _Plan:
    """The profile's columns resolved against one header row."""

    def __init__(self, profile: Profile, header: list[Any] | None) -> None:
        self.missing: list[str] = []
        positions: dict[str, int] = {}
        if header is not None:
            for i, cell in enumerate(header):
                positions.setdefault(normalise_cell(cell), i)
        self.positions = positions
        cols = profile.columns

        def one(key: str, ref: ColumnRef | None) -> _Field | None:
            if ref is None:
                return None
            if isinstance(ref, int):
                label = _cell_text(header[ref - 1]) if header and ref <= len(header) else ""
                return _Field(ref - 1, label or f"column {ref}")
            index = positions.get(normalise_cell(ref))
            if index is None:
                self.missing.append(f"'{ref}' (columns.{key})")
                return None
            return _Field(index, ref)

        def many(key: str, refs: tuple[ColumnRef, ...]) -> list[_Field]:
            return [f for f in (one(key, r) for r in refs) if f is not None]

        # Never None once `missing` is empty (the engine stops before any row otherwise).
        self.date: _Field = one("date", cols.date) or _Field(0, str(cols.date))
        self.value_date = one("value_date", cols.value_date)
        self.amount = one("amount", cols.amount)
        self.amount_in = one("amount_in", cols.amount_in)
        self.amount_out = one("amount_out", cols.amount_out)
        self.dc = one("dc_indicator", cols.dc_indicator)
        self.currency = one("currency", cols.currency)
        self.account = one("account", cols.account)
        self.balance = one("balance", cols.balance)
        self.charges = one("charges", cols.charges)
        self.original_amount = one("original_amount", cols.original_amount)
        self.original_currency = one("original_currency", cols.original_currency)
        self.counterparty_name = many("counterparty_name", cols.counterparty_name)
        self.counterparty_account = many("counterparty_account", cols.counterparty_account)
        self.reference = many("reference", cols.reference)
        self.remittance = many("remittance", cols.remittance)
        self.bank_transaction_id = many("bank_transaction_id", cols.bank_transaction_id)
        self.bank_code = many("bank_code", cols.bank_code)
        singles = [
            self.date,
            self.value_date,
            self.amount,
            self.amount_in,
            self.amount_out,
            self.dc,
            self.currency,
            self.account,
            self.balance,
            self.charges,
            self.original_amount,
            self.original_currency,
        ]
        #: Column indexes of each text field, in _TEXT_FIELDS order (() when unmapped).
        self.text_indexes: list[tuple[int, ...]] = []
        indexes = [f.index for f in singles if f is not None]
        for name in _TEXT_FIELDS:
            fields: list[_Field] = getattr(self, name)
            self.text_indexes.append(tuple(f.index for f in fields))
            indexes += [f.index for f in fields]
        #: Rows are padded to this many cells so every lookup is a plain index.
        self.width = max(indexes, default=-1) + 1


_TEXT_FIELDS = (
    "counterparty_name",
    "counterparty_account",
    "reference",
    "remittance",
    "bank_transaction_id",
    "bank_code",
)
_ZERO = Decimal(0)
#: Text fields whose values repeat across a file (kept once in memory).
_REPEATING = frozenset({"counterparty_name", "counterparty_account", "remittance", "bank_code"})
_LINE, _LOCATION, _RAW = attrgetter("line"), attrgetter("location"), attrgetter("raw")
_CELLS = attrgetter("cells")


def _money(minor: int, currency: str) -> Money:
    """Money without re-validating: the code was checked once per file, minor is an int.

    Money's own constructor re-checks the currency code on every call, a
    quarter of the per-line cost on million-line files.
    """
    m = object.__new__(Money)
    object.__setattr__(m, "minor", minor)
    object.__setattr__(m, "currency", currency)
    return m


#: One statement's lines read by another process: (account, currency), columns (a column
#: of one repeated value as ``(value, count)``) and running balances.
_Part = tuple[tuple[str, str], dict[str, list[Any] | tuple[Any, int] | JoinedTexts], list[int | None]]


@dataclass(slots=True)
class _Group:
    """The lines of one (account, currency) pair, as columns, and their running balances."""

    statement: Statement
    columns: dict[str, list[Any]] = field(default_factory=LineColumns.empty)
    balances: list[int | None] = field(default_factory=list)


class _Engine:
    """Turns rows into statements and diagnostics for one file and profile."""

    def __init__(
        self, path: str | Path, profile: Profile, fmt: str, currency_hint: str | None
    ) -> None:
        self.file = str(path)
        self.profile = profile
        self.fmt = fmt
        # CSV cells are always text: strip them directly; spreadsheet cells need _cell_text.
        self.text_of: Callable[[Any], str] = str.strip if fmt == "csv" else _cell_text
        self.pad: Any = "" if fmt == "csv" else None
        self.diags: list[Diagnostic] = []
        self.amount_of = _AmountReader(profile.locale, profile.amount_remove)
        self.date_of = _DateReader(profile.date_formats)
        self.hint = currency_hint.strip().upper() if currency_hint else None
        self.groups: dict[tuple[str, str], _Group] = {}
        self.outside: list[RawRow] = []  # preamble and footer rows, for stated balances
        self.preamble_account = ""
        self.preamble_currency = ""
        self.currency_ok: dict[str, str | None] = {}
        self.shared: dict[str, str] = {}
        self.digits: dict[str, int] = {}
        self.debit_values = frozenset(v.strip().upper() for v in profile.debit_values)
        self.credit_values = frozenset(v.strip().upper() for v in profile.credit_values)
        self.labels: dict[str, str] = {}
        if profile.opening_balance_label:
            self.labels[normalise_cell(profile.opening_balance_label)] = "OPBD"
        if profile.closing_balance_label:
            self.labels[normalise_cell(profile.closing_balance_label)] = "CLBD"

    # -- diagnostics ----------------------------------------------------------
    def error(self, row: RawRow, message: str, cell: _Field | None = None) -> None:
        location = row.location
        if location and cell is not None:
            sheet = location.rsplit("!", 1)[0]
            location = f"{sheet}!{_column_letter(cell.index + row.column_offset)}{row.line}"
        self.diags.append(Diagnostic(self.file, row.line, message, Severity.ERROR, location))

    def warn(self, line: int | None, message: str, location: str | None = None) -> None:
        self.diags.append(Diagnostic(self.file, line, message, Severity.WARNING, location))

    # -- header -----------------------------------------------------------------
    def find_header(self, rows: Iterator[RawRow]) -> tuple[RawRow | None, list[RawRow]]:
        """Consume rows up to and including the header; return it and the preamble."""
        p = self.profile
        preamble: list[RawRow] = []
        if p.header_match:
            for row in rows:
                if match_header(p, row.cells):
                    return row, preamble
                preamble.append(row)
                if len(preamble) >= HEADER_SEARCH_ROWS:
                    break
            if self.diags:  # the file could not be read at all: that is the message
                return None, preamble
            wanted = ", ".join(p.header_match)
            self.diags.append(
                Diagnostic(
                    self.file,
                    None,
                    f"no header row with {wanted} in the first {HEADER_SEARCH_ROWS} rows "
                    f"(profile {p.name})",
                )
            )
            return None, preamble
        for row in rows:
            if len(preamble) < p.skip_rows or _blank(row.cells):
                preamble.append(row)
                continue
            return row, preamble
        if not self.diags:
            self.diags.append(
                Diagnostic(self.file, None, f"the file has no header row (profile {p.name})")
            )
        return None, preamble

    def scan_preamble(self, rows: list[RawRow]) -> None:
        p = self.profile
        acc = re.compile(p.preamble_account) if p.preamble_account else None
        cur = re.compile(p.preamble_currency) if p.preamble_currency else None
        for row in rows:
            for cell in row.cells:
                text = _cell_text(cell)
                if not text:
                    continue
                if acc and not self.preamble_account and (m := acc.search(text)):
                    self.preamble_account = m.group(1).strip()
                if cur and not self.preamble_currency and (m := cur.search(text)):
                    self.preamble_currency = m.group(1).strip().upper()

    # -- rows -------------------------------------------------------------------------
    @property
    def plain(self) -> bool:
        """No footer, stop or balance rows to watch for: data rows are independent of
        each other, so a file can be read in parts."""
        p = self.profile
        return not (p.skip_footer_rows or p.stop_when_blank or self.labels)

    def run(self, batches: Iterator[list[RawRow]]) -> ReadResult:
        """Read every row into statements."""
        if self.consume(batches) is None:
            return ReadResult([], self.diags)
        return self.finish()

    def consume(self, batches: Iterator[list[RawRow]], data: Iterator[list[RawRow]] | None = None,
                before: int | None = None) -> _Plan | None:
        """Find the header in ``batches`` and turn the rows after it (or ``data``'s
        rows, when given) into lines; None when the file has no usable header
        (or, with ``data``, none above line ``before``)."""
        p = self.profile
        rows = _RowStream(batches)
        if p.has_header:
            header_row, preamble = self.find_header(rows)
            if header_row is None:
                return None
            header: list[Any] | None = header_row.cells
            header_line: int | None = header_row.line
        else:
            header, header_line = None, None
            preamble = []
            while len(preamble) < p.skip_rows:
                skipped = next(rows, None)
                if skipped is None:
                    break
                preamble.append(skipped)
        if before is not None and max([header_line or 0, *(r.line for r in preamble)]) >= before:
            return None  # the part to read starts above the header
        self.outside.extend(preamble)
        self.scan_preamble(preamble)
        plan = _Plan(p, header)
        if plan.missing:
            for m in plan.missing:
                self.diags.append(
                    Diagnostic(self.file, header_line, f"column {m} is not in the header row")
                )
            return None

        footer: deque[RawRow] = deque()
        block: list[RawRow] = []
        keep = p.skip_footer_rows
        seen_data = False
        csv_cells = self.fmt == "csv"  # all text: blank when joined they are only spaces
        # No footer, stop or balance rows to watch for: a batch is filtered in one pass.
        plain = self.plain
        batches = rows.rest() if data is None else data
        for batch in batches:
            if plain:
                block += ([r for r in batch if "".join(r.cells).strip()] if csv_cells
                          else [r for r in batch if not _blank(r.cells)])
            else:
                stopped = False
                for k, row in enumerate(batch):
                    if (not "".join(row.cells).strip()) if csv_cells else _blank(row.cells):
                        if p.stop_when_blank and seen_data:
                            after = chain(batch[k + 1 :], chain.from_iterable(batches))
                            self.outside.extend(rows_rest(after))
                            stopped = True
                            break
                        continue
                    seen_data = True
                    if keep:
                        footer.append(row)
                        if len(footer) <= keep:
                            continue
                        row = footer.popleft()
                    if self.labels and self.balance_row(row):
                        self.outside.append(row)
                        continue
                    block.append(row)
                if stopped:
                    break
            if len(block) >= BLOCK_ROWS:
                self.block(plan, block)
                block = []
        self.block(plan, block)
        self.outside.extend(footer)
        return plan

    def merge(self, groups: list[_Part], diags: list[Diagnostic]) -> None:
        """Add the lines and problems of the file's next part, read by another engine."""
        for key, columns, balances in groups:
            group = self.groups.get(key)
            if group is None:
                group = self.groups[key] = self.new_group(key)
            for name, values in columns.items():
                group.columns[name].extend(
                    repeat(*values) if isinstance(values, tuple) else unpack_texts(values))
            group.balances.extend(balances)
        self.diags.extend(diags)

    def new_group(self, key: tuple[str, str]) -> _Group:
        st = Statement(account=key[0], currency=key[1], format=self.fmt)
        st.origin = Origin(self.file)
        return _Group(st)

    def balance_row(self, row: RawRow) -> bool:
        """A stated-balance row (its first cell is a configured label) is not a line."""
        if not self.labels:
            return False
        first = next((c for c in row.cells if _cell_text(c)), None)
        return normalise_cell(first) in self.labels

    def block(self, plan: _Plan, rows: list[RawRow]) -> None:
        """Data rows -> statement lines, column by column; every bad cell becomes a diagnostic.

        Each column is converted in one pass (cached per distinct text) instead
        of an object per line: this is the hot path of million-line files.
        A row with an error is left out and its problems are reported in the
        order of its cells, rows in file order.
        """
        if not rows:
            return
        n, width, pad = len(rows), plan.width, self.pad
        cells = list(map(_CELLS, rows))
        if min(map(len, cells)) < width:
            cells = [c if len(c) >= width else c + [pad] * (width - len(c)) for c in cells]
        cols = list(zip(*cells))
        errors: dict[int, list[tuple[str, _Field]]] = {}
        p = self.profile

        def convert(f: _Field | None, reader: _AmountReader | _DateReader) -> list[Any]:
            if f is None:
                return [None] * n
            values = cols[f.index]
            if isinstance(reader, _AmountReader) and (whole := reader.column(values)) is not None:
                return whole
            out = list(map(reader.cache.get, values, repeat(_MISSING)))
            missing = [i for i, v in enumerate(out) if v is _MISSING]
            known: dict[tuple[type, Any], Any] = {}  # by type too: True == 1 == 1.0
            for i in missing:
                key = (values[i].__class__, values[i])
                if key not in known:
                    try:
                        known[key] = reader(values[i])
                    except _CellError as exc:
                        known[key] = exc
                got = known[key]
                if isinstance(got, _CellError):
                    got = None
                    errors.setdefault(i, []).append((f"column '{f.label}': {known[key]}", f))
                out[i] = got
            return out

        booking = convert(plan.date, self.date_of)
        value_date = convert(plan.value_date, self.date_of)
        if plan.amount is not None:
            amount = convert(plan.amount, self.amount_of)
            if plan.dc is not None:
                self.apply_indicator(plan.dc, cols[plan.dc.index], amount, errors)
        else:
            money_in = convert(plan.amount_in, self.amount_of)
            money_out = convert(plan.amount_out, self.amount_of)
            # The column says the direction; a sign written in it is ignored
            # (banks write debits as 50.00 or as -50.00).
            amount = [abs(a or _ZERO) - abs(b or _ZERO) if a is not None or b is not None
                      else None for a, b in zip(money_in, money_out, strict=True)]
        balance = convert(plan.balance, self.amount_of)
        charges = convert(plan.charges, self.amount_of)
        original = convert(plan.original_amount, self.amount_of)

        if not errors and None not in booking and None not in amount:
            keep = list(range(n))  # the usual block: nothing wrong, nothing to skip
        else:
            keep = []
            for i, (b, a) in enumerate(zip(booking, amount, strict=True)):
                if i in errors:
                    for message, cell in errors[i]:
                        self.error(rows[i], message, cell)
                elif b is None and a is None:
                    self.warn(rows[i].line, "row has no date and no amount; skipped",
                              rows[i].location)
                elif b is None or a is None:
                    if b is None:
                        self.error(rows[i], f"column '{plan.date.label}': the date is empty",
                                   plan.date)
                    if a is None:
                        first = plan.amount or plan.amount_in or plan.amount_out
                        names = " or ".join(f"'{x.label}'" for x in
                                            (plan.amount, plan.amount_in, plan.amount_out) if x)
                        self.error(rows[i], f"column {names}: the amount is empty", first)
                else:
                    keep.append(i)

        # Currency of each row: a code already checked is a dict hit.
        text_of = self.text_of
        if plan.currency is not None:
            codes = list(map(text_of, cols[plan.currency.index]))
        else:  # one currency for the file: --currency, the preamble or the profile
            codes = [self.hint or self.preamble_currency or p.currency or ""] * n
        for code in set(codes).difference(self.currency_ok):
            if code:
                try:
                    self.currency_ok[code] = check_currency(code)
                except MoneyError:
                    self.currency_ok[code] = None  # reported on each row below
        currency: list[Any] = list(map(self.currency_ok.get, codes))
        if None not in currency:
            alive = keep
        else:
            alive = []
            for i in keep:
                if currency[i] is None:
                    currency[i] = self.line_currency(rows[i], cells[i], plan)
                    if currency[i] is None:
                        continue
                alive.append(i)

        # Amounts in minor units; each optional column only where it is mapped.
        inverse = p.sign == "inverse"
        if inverse:
            amount = [-a if a is not None else None for a in amount]
            balance = [-b if b is not None else None for b in balance]
        digits = {cur: self.currency_digits(cur) for cur in set(currency) if cur is not None}
        minor: list[Any] = [None] * n
        amount_field = plan.amount or plan.amount_in or plan.amount_out
        keep, alive = alive, []
        for i in keep:
            scaled = amount[i].scaleb(digits[currency[i]])
            m = int(scaled)
            if m != scaled:  # more decimals than the currency has: say so
                self.minor(rows[i], amount[i], currency[i], amount_field)
                continue
            minor[i] = m
            alive.append(i)
        bal_minor: list[Any] = [None] * n
        if plan.balance is not None:
            keep, alive = alive, []
            for i in keep:
                if balance[i] is not None:
                    bal_minor[i] = self.minor(rows[i], balance[i], currency[i], plan.balance)
                    if bal_minor[i] is None:
                        continue
                alive.append(i)
        charges_minor: list[Any] = [None] * n
        if plan.charges is not None:
            keep, alive = alive, []
            for i in keep:
                if charges[i]:
                    value = -charges[i] if p.charges_sign == "negative" else charges[i]
                    charges_minor[i] = self.minor(rows[i], value, currency[i], plan.charges)
                    if charges_minor[i] is None:
                        continue
                alive.append(i)
        instructed: list[Money | None] = [None] * n
        if plan.original_amount is not None:
            keep, alive = alive, []
            for i in keep:
                if original[i]:
                    got = self.instructed(rows[i], cells[i], plan, original[i], amount[i],
                                          currency[i])
                    if got is False:
                        continue
                    instructed[i] = got if isinstance(got, Money) else None
                alive.append(i)

        texts = {name: self.text_column(cols, ix, n, name in _REPEATING) for name, ix
                 in zip(_TEXT_FIELDS, plan.text_indexes, strict=True)}
        fallback = self.preamble_account or p.account
        if plan.account is not None:
            account = [text_of(v) or fallback for v in cols[plan.account.index]]
        else:
            account = [fallback] * n
        nothing = [None] * n
        line_cols: dict[str, list[Any]] = {
            "account": account, "booking_date": booking, "value_date": value_date,
            "amount_minor": minor, "currency": currency, **texts,
            "charges_minor": charges_minor,
            "charges_currency": nothing if plan.charges is None else [
                cur if m is not None else None
                for m, cur in zip(charges_minor, currency, strict=True)],
            "instructed_minor": nothing if plan.original_amount is None else [
                m.minor if m else None for m in instructed],
            "instructed_currency": nothing if plan.original_amount is None else [
                m.currency if m else None for m in instructed],
            "exchange_rate": nothing, "source_currency": [""] * n,
            "target_currency": [""] * n, "reversal": [False] * n,
            "file": [self.file] * n, "line": list(map(_LINE, rows)),
            "location": list(map(_LOCATION, rows)), "raw": list(map(_RAW, rows)),
        }
        self.add_lines(line_cols, bal_minor, alive, n, plan.balance is not None)

    def apply_indicator(self, f: _Field, indicators: Sequence[Any], amount: list[Any],
                        errors: dict[int, list[tuple[str, _Field]]]) -> None:
        """Sign amounts by a debit/credit indicator column, noting unknown indicators."""
        p = self.profile
        for i, (value, a) in enumerate(zip(indicators, amount, strict=True)):
            if a is None:
                continue
            indicator = _cell_text(value).upper()
            if indicator in self.debit_values:
                amount[i] = -abs(a)
            elif indicator in self.credit_values:
                amount[i] = abs(a)
            else:
                message = (f"column '{f.label}': '{indicator}' is neither a debit "
                           f"({'/'.join(p.debit_values)}) nor a credit "
                           f"({'/'.join(p.credit_values)})")
                errors.setdefault(i, []).append((message, f))

    def text_column(self, cols: list[tuple[Any, ...]], indexes: tuple[int, ...],
                    n: int, repeating: bool) -> list[str]:
        """A text field's values: one column's text, or several joined by spaces.

        Counterparties and descriptions repeat across a file: one copy of each
        is kept (a quarter of the memory of a million-line import).
        """
        text_of = self.text_of
        if not indexes:
            return [""] * n
        if len(indexes) == 1:
            values = list(map(text_of, cols[indexes[0]]))
        else:
            values = [" ".join(t for t in map(text_of, parts) if t)
                      for parts in zip(*(cols[i] for i in indexes))]
        return list(map(self.shared.setdefault, values, values)) if repeating else values

    def add_lines(self, cols: dict[str, list[Any]], balances: list[int | None],
                  alive: list[int], n: int, running: bool) -> None:
        """Append the kept rows to their (account, currency) statements."""
        keys = list(zip(cols["account"], cols["currency"]))
        groups: dict[tuple[str, str], list[int]] = {}
        if alive and len(alive) == n and keys.count(keys[0]) == n:
            groups[keys[0]] = alive
        else:
            for i in alive:
                groups.setdefault(keys[i], []).append(i)
        for key, idx in groups.items():
            group = self.groups.get(key)
            if group is None:
                group = self.groups[key] = self.new_group(key)
            whole = len(idx) == n
            for name, values in cols.items():
                group.columns[name].extend(values if whole else [values[i] for i in idx])
            if running:
                group.balances.extend(balances if whole else [balances[i] for i in idx])

    def optional_amount(
        self, cells: list[Any], f: _Field | None, errors: list[tuple[str, _Field | None]]
    ) -> Decimal | None:
        """The amount in an optional column (None if unmapped or empty), noting errors."""
        if f is None:
            return None
        try:
            return self.amount_of(cells[f.index])
        except _CellError as exc:
            errors.append((f"column '{f.label}': {exc}", f))
            return None

    def line_currency(self, row: RawRow, cells: list[Any], plan: _Plan) -> str | None:
        text = _cell_text(cells[plan.currency.index]) if plan.currency else ""
        code = text or self.hint or self.preamble_currency or self.profile.currency
        if not code:
            self.error(
                row,
                "no currency: the file has no currency column and the profile none; "
                "pass --currency CODE or set currency in the profile",
            )
            return None
        return self.checked_currency(row, code, plan.currency if text else None)

    def checked_currency(self, row: RawRow, code: str, f: _Field | None) -> str | None:
        if code not in self.currency_ok:
            try:
                self.currency_ok[code] = check_currency(code)
            except MoneyError:
                self.currency_ok[code] = None
        ok = self.currency_ok[code]
        if ok is None:
            where = f"column '{f.label}': " if f else ""
            self.error(row, f"{where}unknown currency code '{code}'", f)
        return ok

    def currency_digits(self, currency: str) -> int:
        digits = self.digits.get(currency)
        if digits is None:
            digits = self.digits[currency] = currency_digits(currency)
        return digits

    def minor(self, row: RawRow, value: Decimal, currency: str, f: _Field | None) -> int | None:
        digits = self.currency_digits(currency)
        scaled = value.scaleb(digits)
        integral = scaled.to_integral_value()
        if scaled != integral:
            where = f"column '{f.label}': " if f else ""
            self.error(
                row,
                f"{where}{value} has more than {digits} decimal(s), the precision of {currency}",
                f,
            )
            return None
        return int(integral)

    def instructed(
        self,
        row: RawRow,
        cells: list[Any],
        plan: _Plan,
        original: Decimal,
        amount: Decimal,
        currency: str,
    ) -> Money | None | bool:
        code = _cell_text(cells[plan.original_currency.index]) if plan.original_currency else ""
        if not code or code.upper() == currency:
            return None
        ok = self.checked_currency(row, code.upper(), plan.original_currency)
        if ok is None:
            return False
        if self.profile.sign == "inverse":
            original = -original
        # Same direction as the line: it is the same movement in the other currency.
        signed = abs(original) if amount >= 0 else -abs(original)
        m = self.minor(row, signed, ok, plan.original_amount)
        return False if m is None else _money(m, ok)

    # -- statements ---------------------------------------------------------------
    def finish(self) -> ReadResult:
        statements: list[Statement] = []
        for group in self.groups.values():
            st = group.statement
            st.lines = LineTable(group.columns)
            dates = group.columns["booking_date"]
            st.period_start, st.period_end = min(dates), max(dates)
            if group.balances:
                self.running_balances(group)
            statements.append(st)
        self.stated_balances(statements)
        # Columns are converted one after another: put the problems back in file
        # order (stable: a row's problems keep the order of its cells; problems
        # of the whole file last).
        self.diags.sort(key=lambda d: (d.line is None, d.line or 0))
        return ReadResult(statements, self.diags)

    def running_balances(self, group: _Group) -> None:
        """Opening and closing balances from a running-balance column, if it is consistent."""
        st = group.statement
        amounts, balances = group.columns["amount_minor"], group.balances
        if any(b is None for b in balances):
            self.warn(None, f"running balance missing on some lines of {st.currency}; not used")
            return
        bal: list[int] = balances  # type: ignore[assignment]
        n = len(bal)
        forward = all(bal[i - 1] + amounts[i] == bal[i] for i in range(1, n))
        if forward:
            opening, closing = bal[0] - amounts[0], bal[-1]
        elif all(bal[i + 1] + amounts[i] == bal[i] for i in range(n - 1)):  # newest first
            opening, closing = bal[-1] - amounts[-1], bal[0]
        else:
            bad = next(i for i in range(1, n) if bal[i - 1] + amounts[i] != bal[i])
            expected = Money(bal[bad - 1] + amounts[bad], st.currency)
            self.warn(
                group.columns["line"][bad],
                f"running balance {Money(bal[bad], st.currency).to_decimal_string()} does not "
                f"follow from the previous line (expected {expected.to_decimal_string()}); "
                "opening and closing balances not derived",
            )
            return
        assert st.period_start is not None and st.period_end is not None
        st.opening = Balance("OPBD", st.period_start, Money(opening, st.currency))
        st.closing = Balance("CLBD", st.period_end, Money(closing, st.currency))

    def stated_balances(self, statements: list[Statement]) -> None:
        """Balances written on labelled rows above or below the table."""
        if not self.labels:
            return
        found: dict[str, tuple[Decimal, RawRow]] = {}
        for row in self.outside:
            texts = [_cell_text(c) for c in row.cells]
            nonempty = [t for t in texts if t]
            if not nonempty or normalise_cell(nonempty[0]) not in self.labels:
                continue
            kind = self.labels[normalise_cell(nonempty[0])]
            try:
                value = self.amount_of(row.cells[texts.index(nonempty[-1])])
            except _CellError as exc:
                self.error(row, f"stated balance: {exc}")
                continue
            if value is not None and len(nonempty) > 1:
                found[kind] = (value, row)
        if not found:
            return
        if len(statements) != 1:
            self.warn(
                None, "stated balances ignored: the file holds several accounts or currencies"
            )
            return
        st = statements[0]
        assert st.period_start is not None and st.period_end is not None
        for kind, (value, row) in found.items():
            if self.profile.sign == "inverse":
                value = -value
            m = self.minor(row, value, st.currency, None)
            if m is None:
                continue
            bal = Balance(
                kind, st.period_start if kind == "OPBD" else st.period_end, Money(m, st.currency)
            )
            if kind == "OPBD":
                st.opening = bal
            else:
                st.closing = bal
        if st.opening and st.closing:
            total = sum(LineColumns.of(st.lines).columns["amount_minor"])
            if st.opening.amount.minor + total != st.closing.amount.minor:
                expected = Money(st.opening.amount.minor + total, st.currency)
                self.warn(
                    None,
                    "stated balances do not add up: opening "
                    f"{st.opening.amount.to_decimal_string()} "
                    f"+ lines = {expected.to_decimal_string()}, but the closing balance says "
                    f"{st.closing.amount.to_decimal_string()}",
                )


class _RowStream:
    """Batches of rows read one row at a time (header search), then batch by batch (data)."""

    def __init__(self, batches: Iterator[list[RawRow]]) -> None:
        self.batches = iter(batches)
        self.batch: list[RawRow] = []
        self.pos = 0

    def __iter__(self) -> _RowStream:
        return self

    def __next__(self) -> RawRow:
        while self.pos >= len(self.batch):
            self.batch, self.pos = next(self.batches), 0
        self.pos += 1
        return self.batch[self.pos - 1]

    def rest(self) -> Iterator[list[RawRow]]:
        """The rows not read yet, batch by batch (the current batch's remainder first)."""
        while True:
            if self.pos < len(self.batch):
                batch, self.batch, self.pos = self.batch[self.pos :], [], 0
                yield batch
                continue
            nxt = next(self.batches, None)
            if nxt is None:
                return
            self.batch, self.pos = nxt, 0


def _batched(rows: Iterator[RawRow]) -> Iterator[list[RawRow]]:
    while batch := list(islice(rows, BATCH_ROWS)):
        yield batch


def rows_rest(rows: Iterator[RawRow]) -> list[RawRow]:
    """The remaining rows (after a stop), kept only for stated balances."""
    return [r for r in rows if not _blank(r.cells)]


# -- entry points -------------------------------------------------------------------------



def read_csv(path: str | Path, profile: Profile, *, currency_hint: str | None = None) -> ReadResult:
    """Read a CSV bank export with ``profile``; every bad cell becomes a diagnostic.

    A big file is read by two processes (:mod:`imports.forked`): a forked child
    reads the second half of the data while this process reads the first; the
    result is the same as a one-process read (which is what happens whenever the
    cut cannot be proven to fall between two records).
    """
    engine = _Engine(path, profile, "csv", currency_hint)
    with gc_paused():
        codec = resolve_encoding(path, profile.encoding)
        cut = _split_point(path, profile, codec) if engine.plain and can_fork() else None
        if cut is None:
            return engine.run(iter_csv_batches(path, profile, engine.diags, CsvRange(codec)))
        head = CsvRange(codec, stop=cut[0])
        tail = CsvRange(codec, start=cut[0], first_line=cut[1])
        with Pending(lambda: _read_tail(path, profile, currency_hint, codec, tail)) as rest:
            plan = engine.consume(iter_csv_batches(path, profile, engine.diags, head))
            if plan is not None and head.clean:
                got = rest.result()
                if got is not None:
                    engine.merge(*got)
                    return engine.finish()
        # The cut fell inside a quoted field (or the header lies past it): one process.
        engine = _Engine(path, profile, "csv", currency_hint)
        return engine.run(iter_csv_batches(path, profile, engine.diags, CsvRange(codec)))


def _read_tail(path: str | Path, profile: Profile, currency_hint: str | None, codec: str,
               tail: CsvRange) -> tuple[list[_Part], list[Diagnostic]] | None:
    """The forked child's part of :func:`read_csv`: the rows of ``tail``, read with the
    header (and preamble) at the top of the file.  None if the header is not above it."""
    engine = _Engine(path, profile, "csv", currency_hint)
    head = iter_csv_batches(path, profile, engine.diags, CsvRange(codec, stop=tail.start))
    plan = engine.consume(head, iter_csv_batches(path, profile, engine.diags, tail),
                          before=tail.first_line)
    if plan is None:
        return None
    return ([(key, {name: _packed(v) for name, v in g.columns.items()}, g.balances)
             for key, g in engine.groups.items()], engine.diags)


def _packed(values: list[Any]) -> list[Any] | tuple[Any, int] | JoinedTexts:
    """A column to send to the parent: ``(value, count)`` when every row has the same value
    (file name, currency, flags), else the list (mostly distinct texts joined: see
    :func:`~imports.forked.pack_texts`).  Only texts, dates, flags and None are packed
    as one value: equal numbers can differ (``1 == True``, ``Decimal("1.0") == Decimal("1.00")``)."""
    first = values[0] if values else 0
    if (first is None or type(first) in (str, bool, date)) and values.count(first) == len(values):
        return first, len(values)
    return pack_texts(values)


def read_xlsx(
    path: str | Path, profile: Profile, *, currency_hint: str | None = None
) -> ReadResult:
    """Read an XLSX bank export with ``profile``.

    Raises :class:`ImportFileError` when the archive is refused (zip bomb);
    everything else wrong becomes a diagnostic.
    """
    engine = _Engine(path, profile, "xlsx", currency_hint)
    with gc_paused():
        return engine.run(_batched(iter_xlsx_rows(path, profile, engine.diags)))


def read_tabular(
    path: str | Path, profile: Profile, *, currency_hint: str | None = None
) -> ReadResult:
    """Read a CSV or XLSX file (told apart by its first bytes) with ``profile``."""
    fmt = "xlsx" if is_xlsx(path) else "csv"
    if fmt not in profile.formats:
        return ReadResult(
            [],
            [
                Diagnostic(
                    str(path),
                    None,
                    f"profile {profile.name} reads {' or '.join(profile.formats)} files; "
                    f"this file is {fmt}",
                )
            ],
        )
    reader = read_xlsx if fmt == "xlsx" else read_csv
    return reader(path, profile, currency_hint=currency_hint)
