"""Tell a bank file's format and read it: the one entry point for every import.

``read_file(path)`` checks the size, sniffs the first bytes and hands the
file to the right reader: camt, OFX, MT940 and QIF through their own modules
(imported lazily, skipped when absent), XLSX by its zip signature, and CSV by
matching a profile's header signature.  An explicit profile forces the
CSV/XLSX reader with that profile.

This module must not import the database; it knows the readers only through
their ``read(path)`` and ``sniff(head)`` functions.
"""

from __future__ import annotations

import csv
import importlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from imports.limits import check_size
from imports.model import Diagnostic, ReadResult
from imports.profile import Profile, list_profiles, load_profile, normalise_cell
from imports.tabular import ZIP_MAGIC, iter_xlsx_rows, read_tabular

__all__ = ["Detection", "detect", "detect_format", "read_file"]

#: Bytes looked at to recognise a structured format.
SNIFF_BYTES = 4096
#: Bytes and rows of a CSV searched for a profile's header row (preambles can be long).
CSV_HEAD_BYTES = 64 * 1024
HEADER_ROWS = 50

# Readers of structured formats, tried in this order.  Each module exposes
# ``sniff(head: bytes) -> bool`` and ``read(path) -> ReadResult``.
_FORMAT_MODULES = (
    ("camt", "imports.camt"),
    ("ofx", "imports.ofx"),
    ("mt940", "imports.mt940"),
    ("qif", "imports.qif"),
)

#: Readers that check opening + lines = closing themselves (strict by default).
_BALANCE_CHECKING = frozenset({"camt", "mt940"})
#: Readers of formats that state no currency: they take ``currency_hint``.
_CURRENCY_HINTED = frozenset({"qif"})

UNKNOWN_MESSAGE = "cannot tell the format; pass --profile NAME (see `solidarity profiles list`)"


@dataclass(frozen=True, slots=True)
class Detection:
    """What a file was recognised as: a kind, and for CSV/XLSX the profile that fits."""

    kind: str  # "camt", "ofx", "mt940", "qif", "csv", "xlsx", "xls", "empty", "unknown"
    profile: Profile | None = None
    candidates: tuple[str, ...] = ()  # several profiles fitting equally well

    def describe(self) -> str:
        """Short text for display, e.g. ``csv (profile paypal-en)``."""
        if self.profile is not None:
            return f"{self.kind} (profile {self.profile.name})"
        if self.candidates:
            return f"{self.kind} (several profiles fit: {', '.join(self.candidates)})"
        if self.kind in ("csv", "xlsx"):
            return f"{self.kind} (no profile fits)"
        return self.kind


def _format_modules() -> Iterator[tuple[str, ModuleType]]:
    for kind, name in _FORMAT_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that reader is not written (yet): skip it
                continue
            raise
        yield kind, module


def _read_head(path: Path, size: int) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(size)


def _decode_head(head: bytes, truncated: bool) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = head.decode(encoding)
            break
        except UnicodeDecodeError as exc:
            # A multi-byte character cut by the head's end is not a decoding error.
            if encoding == "utf-8-sig" and truncated and exc.start >= len(head) - 3:
                text = head[: exc.start].decode(encoding, errors="replace")
                break
    else:
        text = head.decode("latin-1")
    if truncated and "\n" in text:
        text = text[: text.rfind("\n") + 1]  # drop the partial last line
    return text


def _best_profile(
    rows_for: dict[object, list[Sequence[object]]],
    key_of: dict[str, object],
    profiles: Iterable[Profile],
) -> tuple[Profile | None, tuple[str, ...]]:
    """The profile whose signature is found in some row, preferring the longest signature."""
    best: list[Profile] = []
    best_len = 0
    for p in profiles:
        sig = {normalise_cell(s) for s in p.signature}
        if not sig:
            continue
        rows = rows_for.get(key_of[p.name], [])
        if any(sig <= {normalise_cell(c) for c in row} for row in rows):
            if len(sig) > best_len:
                best, best_len = [p], len(sig)
            elif len(sig) == best_len:
                best.append(p)
    if len(best) == 1:
        return best[0], ()
    return None, tuple(p.name for p in best)


def _detect_csv(path: Path, profiles: Sequence[Profile]) -> Detection:
    head = _read_head(path, CSV_HEAD_BYTES + 1)
    truncated = len(head) > CSV_HEAD_BYTES
    text = _decode_head(head[:CSV_HEAD_BYTES], truncated)
    lines = text.splitlines(keepends=True)
    candidates = [p for p in profiles if p.auto_detect and "csv" in p.formats]
    rows_for: dict[object, list[Sequence[object]]] = {}
    key_of: dict[str, object] = {}
    for p in candidates:
        key = (p.delimiter, p.quotechar)
        key_of[p.name] = key
        if key not in rows_for:
            rows: list[Sequence[object]] = []
            try:
                reader = csv.reader(lines, delimiter=p.delimiter, quotechar=p.quotechar)
                for row in reader:
                    rows.append(row)
                    if len(rows) >= HEADER_ROWS:
                        break
            except csv.Error:
                pass  # a malformed head matches nothing; the rows read so far still count
            rows_for[key] = rows
    profile, tied = _best_profile(rows_for, key_of, candidates)
    return Detection("csv", profile, tied)


def _detect_xlsx(path: Path, profiles: Sequence[Profile]) -> Detection:
    candidates = [p for p in profiles if p.auto_detect and "xlsx" in p.formats]
    rows_for: dict[object, list[Sequence[object]]] = {}
    key_of: dict[str, object] = {}
    for p in candidates:
        key_of[p.name] = p.sheet
        if p.sheet not in rows_for:
            ignored: list[Diagnostic] = []
            rows_for[p.sheet] = [
                r.cells for r in iter_xlsx_rows(path, p, ignored, max_rows=HEADER_ROWS)
            ]
    profile, tied = _best_profile(rows_for, key_of, candidates)
    return Detection("xlsx", profile, tied)


def detect(path: str | Path, profiles: Sequence[Profile] | None = None) -> Detection:
    """Recognise ``path``'s format (and for CSV/XLSX, the profile that fits its header).

    Raises :class:`~imports.model.ImportFileError` for an unreadable or
    refused file (too large, zip bomb).
    """
    p = Path(path)
    size = check_size(p)
    if size == 0:
        return Detection("empty")
    head = _read_head(p, SNIFF_BYTES)
    if head.startswith(ZIP_MAGIC):
        return _detect_xlsx(p, list_profiles() if profiles is None else profiles)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return Detection("xls")
    for kind, module in _format_modules():
        if module.sniff(head):
            return Detection(kind)
    return _detect_csv(p, list_profiles() if profiles is None else profiles)


def detect_format(path: str | Path) -> str:
    """A short description of the file's format, for display (``csv (profile paypal-en)``)."""
    return detect(path).describe()


def read_file(
    path: str | Path, profile: str | None = "auto", *, currency_hint: str | None = None
) -> ReadResult:
    """Read any supported bank file into statements and diagnostics.

    ``profile`` is ``"auto"``/``None`` to detect the format, or a profile name
    or ``.toml`` path to force the CSV/XLSX reader with it.  ``currency_hint``
    gives the currency of CSV/XLSX lines whose file states none, and of QIF
    files (which never state one).

    Raises :class:`~imports.model.ImportFileError` when the file is refused as
    a whole (too large, zip bomb) and :class:`~imports.profile.ProfileError`
    when a forced profile cannot be loaded; every other problem is a diagnostic.
    """
    p = Path(path)
    file = str(path)
    if profile not in (None, "", "auto"):
        check_size(p)
        return read_tabular(p, load_profile(profile), currency_hint=currency_hint)
    found = detect(p)
    if found.kind == "empty":
        return ReadResult([], [Diagnostic(file, None, "the file is empty")])
    if found.kind == "xls":
        return ReadResult(
            [],
            [
                Diagnostic(
                    file,
                    None,
                    "old Excel .xls files are not read; save it as .xlsx or CSV",
                )
            ],
        )
    if found.kind in ("csv", "xlsx"):
        if found.profile is None:
            if found.candidates:
                message = (
                    f"several profiles fit this file ({', '.join(found.candidates)}); "
                    "pass --profile NAME"
                )
            else:
                message = UNKNOWN_MESSAGE
            return ReadResult([], [Diagnostic(file, None, message)])
        return read_tabular(p, found.profile, currency_hint=currency_hint)
    for kind, module in _format_modules():
        if kind == found.kind:
            # Stated balances that do not add up are the storage's to refuse
            # (unless --allow-gap), so the readers only warn here.
            if kind in _BALANCE_CHECKING:
                result: ReadResult = module.read(p, strict_balances=False)
            elif kind in _CURRENCY_HINTED:
                result = module.read(p, currency_hint=currency_hint)
            else:
                result = module.read(p)
            return result
    return ReadResult([], [Diagnostic(file, None, UNKNOWN_MESSAGE)])  # pragma: no cover
