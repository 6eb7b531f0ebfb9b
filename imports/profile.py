"""Bank layout profiles: how to read one bank's CSV or XLSX export, declared in TOML.

A treasurer adds a bank by writing a profile, not code (in the spirit of
hledger's CSV rules and beangulp's ``csvbase``).  This module owns the
:class:`Profile` value, loading and validating profile files, and the profile
search path: profiles shipped in ``imports/profiles/`` and the user's own in
``$SOLIDARITY_PROFILE_DIR`` (default ``~/.config/solidarity/profiles``); a user
profile replaces a shipped one with the same name.

It must not import the database, the readers or anything from ``ledger``
besides ``ledger.money``.

A minimal profile::

    name = "my-bank"
    format = "csv"
    delimiter = ";"
    date_format = "%d/%m/%Y"
    locale = "fr_FR"
    currency = "EUR"

    [columns]
    date = "Date"
    amount = "Montant"
    remittance = ["Libellé", "Détail"]
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError

from ledger.money import MoneyError, check_currency

__all__ = [
    "SHIPPED_DIR",
    "Columns",
    "Profile",
    "ProfileError",
    "find_profile_by_header",
    "list_profiles",
    "load_profile",
    "match_header",
    "normalise_cell",
    "parse_profile",
    "user_profile_dir",
]

#: Profiles that ship with the project.
SHIPPED_DIR = Path(__file__).with_name("profiles")

ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "latin-1", "auto")
FORMATS = ("csv", "xlsx")

#: A column is named by its header text, or by its 1-based position when the file has no header.
ColumnRef = str | int


class ProfileError(Exception):
    """A profile file that cannot be used; the message says ``file:line: what`` or names the key."""


@dataclass(frozen=True, slots=True)
class Columns:
    """Which file column feeds which statement-line field.

    Text fields may name several columns; their non-empty values are joined with
    a space.  Amount-like fields name exactly one column.
    """

    date: ColumnRef
    value_date: ColumnRef | None = None
    amount: ColumnRef | None = None
    amount_in: ColumnRef | None = None  # money received ("credit" on a bank statement)
    amount_out: ColumnRef | None = None  # money paid ("debit" on a bank statement)
    dc_indicator: ColumnRef | None = None
    currency: ColumnRef | None = None
    account: ColumnRef | None = None
    counterparty_name: tuple[ColumnRef, ...] = ()
    counterparty_account: tuple[ColumnRef, ...] = ()
    reference: tuple[ColumnRef, ...] = ()
    remittance: tuple[ColumnRef, ...] = ()
    bank_transaction_id: tuple[ColumnRef, ...] = ()
    bank_code: tuple[ColumnRef, ...] = ()
    balance: ColumnRef | None = None
    charges: ColumnRef | None = None
    original_amount: ColumnRef | None = None
    original_currency: ColumnRef | None = None

    def named(self) -> list[str]:
        """Every column named by header text, in declaration order, without repeats."""
        out: list[str] = []
        for name in _SINGLE_COLUMNS + _MULTI_COLUMNS:
            value = getattr(self, name)
            refs = value if isinstance(value, tuple) else (value,)
            for ref in refs:
                if isinstance(ref, str) and ref not in out:
                    out.append(ref)
        return out


_SINGLE_COLUMNS = (
    "date",
    "value_date",
    "amount",
    "amount_in",
    "amount_out",
    "dc_indicator",
    "currency",
    "account",
    "balance",
    "charges",
    "original_amount",
    "original_currency",
)
_MULTI_COLUMNS = (
    "counterparty_name",
    "counterparty_account",
    "reference",
    "remittance",
    "bank_transaction_id",
    "bank_code",
)
# Bank-statement words accepted as synonyms: a statement's "debit" is money out.
_COLUMN_ALIASES = {"debit": "amount_out", "credit": "amount_in", "description": "remittance"}


@dataclass(frozen=True, slots=True)
class Profile:
    """How to read one bank layout.  Build with :func:`load_profile` or :func:`parse_profile`."""

    name: str
    columns: Columns
    description: str = ""
    formats: tuple[str, ...] = ("csv",)
    encoding: str = "utf-8"
    delimiter: str = ","
    quotechar: str = '"'
    has_header: bool = True
    skip_rows: int = 0
    header_match: tuple[str, ...] = ()
    sheet: str | int | None = None
    skip_footer_rows: int = 0
    stop_when_blank: bool = False
    date_formats: tuple[str, ...] = ("%Y-%m-%d",)
    locale: str | None = None
    amount_remove: tuple[str, ...] = ()
    sign: str = "normal"
    debit_values: tuple[str, ...] = ("D", "DR", "DEBIT")
    credit_values: tuple[str, ...] = ("C", "CR", "CREDIT")
    charges_sign: str = "positive"
    currency: str | None = None
    account: str = ""
    header_signature: tuple[str, ...] = ()
    auto_detect: bool = True
    preamble_account: str | None = None
    preamble_currency: str | None = None
    opening_balance_label: str | None = None
    closing_balance_label: str | None = None
    source: str = ""  # the TOML file it came from ('' when built in code)
    shipped: bool = field(default=False, compare=False)

    @property
    def format(self) -> str:
        """The first (main) container format, for display."""
        return self.formats[0]

    @property
    def signature(self) -> tuple[str, ...]:
        """Header cells that identify this layout (explicit, else every named column)."""
        return self.header_signature or tuple(self.columns.named())


# -- validation ---------------------------------------------------------------

_TOP_KEYS = {
    "name",
    "description",
    "format",
    "encoding",
    "delimiter",
    "quotechar",
    "header",
    "skip_rows",
    "header_match",
    "sheet",
    "skip_footer_rows",
    "stop_when_blank",
    "date_format",
    "locale",
    "amount_remove",
    "sign",
    "debit_values",
    "credit_values",
    "charges_sign",
    "currency",
    "account",
    "header_signature",
    "auto_detect",
    "columns",
    "preamble",
    "balances",
}


class _Checker:
    """Reads typed values out of the parsed TOML, naming the key in every error."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, key: str, message: str) -> ProfileError:
        return ProfileError(f"{self.where}: key '{key}': {message}")

    def text(self, data: dict[str, Any], key: str, default: str | None = None) -> str | None:
        value = data.get(key, default)
        if value is None or isinstance(value, str):
            return value
        raise self.fail(key, f"expected text, got {_kind(value)}")

    def integer(self, data: dict[str, Any], key: str, default: int, minimum: int = 0) -> int:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"expected a whole number, got {_kind(value)}")
        if value < minimum:
            raise self.fail(key, f"must be at least {minimum}, got {value}")
        return value

    def boolean(self, data: dict[str, Any], key: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {_kind(value)}")
        return value

    def texts(self, data: dict[str, Any], key: str, default: Sequence[str] = ()) -> tuple[str, ...]:
        value = data.get(key, default)
        if isinstance(value, str):
            return (value,)
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise self.fail(key, f"expected text or a list of texts, got {_kind(value)}")

    def choice(self, data: dict[str, Any], key: str, default: str, allowed: Iterable[str]) -> str:
        value = self.text(data, key, default)
        allowed = tuple(allowed)
        if value not in allowed:
            raise self.fail(key, f"must be one of {', '.join(allowed)}, got {value!r}")
        return value

    def regex(self, data: dict[str, Any], key: str) -> str | None:
        value = self.text(data, key)
        if value is None:
            return None
        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise self.fail(key, f"not a valid regular expression: {exc}") from None
        if compiled.groups < 1:
            raise self.fail(key, "the regular expression needs one (group) around the value")
        return value


def _kind(value: object) -> str:
    return {
        bool: "true/false",
        int: "a number",
        float: "a decimal number",
        str: "text",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def _column_ref(check: _Checker, key: str, value: object) -> ColumnRef:
    if isinstance(value, bool):
        raise check.fail(key, "expected a header name or a column number")
    if isinstance(value, int):
        if value < 1:
            raise check.fail(key, "column numbers start at 1")
        return value
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise check.fail(key, f"expected a header name or a column number, got {_kind(value)}")


def _parse_columns(check: _Checker, raw: object) -> Columns:
    if not isinstance(raw, dict):
        raise check.fail("columns", "expected a [columns] table")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        target = _COLUMN_ALIASES.get(key, key)
        qualified = f"columns.{key}"
        if target in values:
            raise check.fail(qualified, f"'{target}' is given twice")
        if target in _SINGLE_COLUMNS:
            values[target] = _column_ref(check, qualified, value)
        elif target in _MULTI_COLUMNS:
            items = value if isinstance(value, list) else [value]
            if not items:
                raise check.fail(qualified, "the list of columns is empty")
            values[target] = tuple(_column_ref(check, qualified, v) for v in items)
        else:
            known = ", ".join(_SINGLE_COLUMNS + _MULTI_COLUMNS)
            raise check.fail(qualified, f"unknown column field (known: {known})")
    if "date" not in values:
        raise check.fail("columns.date", "every profile must say which column holds the date")
    amount_ways = [
        "amount" in values,
        "amount_in" in values or "amount_out" in values,
    ]
    if sum(amount_ways) != 1:
        raise check.fail(
            "columns.amount",
            "give either 'amount' (a signed amount, optionally with 'dc_indicator') "
            "or 'amount_in'/'amount_out' (also spelt 'credit'/'debit'), not both or neither",
        )
    if "dc_indicator" in values and "amount" not in values:
        raise check.fail("columns.dc_indicator", "a debit/credit indicator needs 'amount'")
    return Columns(**values)


def parse_profile(data: dict[str, Any], where: str = "<profile>") -> Profile:
    """Validate parsed TOML ``data`` and build a :class:`Profile`.

    ``where`` names the source in error messages.  Raises :class:`ProfileError`
    naming the offending key.
    """
    check = _Checker(where)
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise check.fail(unknown[0], f"unknown key (known: {', '.join(sorted(_TOP_KEYS))})")
    name = check.text(data, "name")
    if not name or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise check.fail("name", "required: letters, digits, '-', '_' or '.', e.g. 'my-bank-fr'")

    fmt = data.get("format", "csv")
    formats = check.texts({"format": fmt}, "format")
    for f in formats:
        if f not in FORMATS:
            raise check.fail("format", f"must be csv or xlsx (or a list of both), got {f!r}")

    encoding = check.choice(data, "encoding", "utf-8", ENCODINGS)
    delimiter = check.text(data, "delimiter", ",") or ""
    if delimiter in ("\\t", "tab"):
        delimiter = "\t"
    if len(delimiter) != 1:
        raise check.fail("delimiter", f"must be one character, got {delimiter!r}")
    quotechar = check.text(data, "quotechar", '"') or ""
    if len(quotechar) != 1 or quotechar == delimiter:
        raise check.fail("quotechar", "must be one character, different from the delimiter")

    has_header = check.boolean(data, "header", True)
    skip_rows = check.integer(data, "skip_rows", 0)
    header_match = check.texts(data, "header_match", ())
    if header_match and not has_header:
        raise check.fail("header_match", "cannot look for a header row when header = false")

    sheet = data.get("sheet")
    if sheet is not None and (
        isinstance(sheet, bool) or not isinstance(sheet, (str, int)) or sheet == 0
    ):
        raise check.fail("sheet", "expected a sheet name or a 1-based sheet number")

    date_formats = check.texts(data, "date_format", ("%Y-%m-%d",))
    if not date_formats:
        raise check.fail("date_format", "give at least one format, e.g. '%d/%m/%Y'")
    for f in date_formats:
        if "%" not in f:
            raise check.fail("date_format", f"{f!r} has no % directive (e.g. '%d/%m/%Y')")

    locale = check.text(data, "locale")
    if locale in ("", "C", "plain"):
        locale = None
    if locale is not None:
        try:
            Locale.parse(locale)
        except (UnknownLocaleError, ValueError, TypeError) as exc:
            raise check.fail("locale", f"unknown locale {locale!r} ({exc})") from None

    currency = check.text(data, "currency")
    if currency is not None:
        try:
            currency = check_currency(currency)
        except MoneyError as exc:
            raise check.fail("currency", str(exc)) from None

    columns = _parse_columns(check, data.get("columns"))
    if not has_header:
        for fname in _SINGLE_COLUMNS + _MULTI_COLUMNS:
            value = getattr(columns, fname)
            for ref in value if isinstance(value, tuple) else (value,):
                if isinstance(ref, str):
                    raise check.fail(
                        f"columns.{fname}",
                        "with header = false, name columns by number (1, 2, ...)",
                    )

    preamble = data.get("preamble", {})
    if not isinstance(preamble, dict):
        raise check.fail("preamble", "expected a [preamble] table")
    extra = sorted(set(preamble) - {"account", "currency"})
    if extra:
        raise check.fail(f"preamble.{extra[0]}", "unknown key (known: account, currency)")
    balances = data.get("balances", {})
    if not isinstance(balances, dict):
        raise check.fail("balances", "expected a [balances] table")
    extra = sorted(set(balances) - {"opening_label", "closing_label"})
    if extra:
        raise check.fail(
            f"balances.{extra[0]}", "unknown key (known: opening_label, closing_label)"
        )

    pcheck = _Checker(where)
    return Profile(
        name=name,
        columns=columns,
        description=check.text(data, "description", "") or "",
        formats=formats,
        encoding=encoding,
        delimiter=delimiter,
        quotechar=quotechar,
        has_header=has_header,
        skip_rows=skip_rows,
        header_match=header_match,
        sheet=sheet,
        skip_footer_rows=check.integer(data, "skip_footer_rows", 0),
        stop_when_blank=check.boolean(data, "stop_when_blank", False),
        date_formats=date_formats,
        locale=locale,
        amount_remove=check.texts(data, "amount_remove", ()),
        sign=check.choice(data, "sign", "normal", ("normal", "inverse")),
        debit_values=check.texts(data, "debit_values", ("D", "DR", "DEBIT")),
        credit_values=check.texts(data, "credit_values", ("C", "CR", "CREDIT")),
        charges_sign=check.choice(data, "charges_sign", "positive", ("positive", "negative")),
        currency=currency,
        account=check.text(data, "account", "") or "",
        header_signature=check.texts(data, "header_signature", ()),
        auto_detect=check.boolean(data, "auto_detect", True),
        preamble_account=pcheck.regex(preamble, "account"),
        preamble_currency=pcheck.regex(preamble, "currency"),
        opening_balance_label=check.text(balances, "opening_label"),
        closing_balance_label=check.text(balances, "closing_label"),
        source=where,
    )


# -- loading and searching ------------------------------------------------------


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ProfileError(f"{path}: profiles must be UTF-8 ({exc.reason})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message ends "(at line L, column C)": turn it into file:line.
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)$", msg)
        if m:
            msg = msg[: m.start()].rstrip()
            raise ProfileError(f"{path}:{m.group(1)}: {msg} (column {m.group(2)})") from None
        raise ProfileError(f"{path}: {msg}") from None


def load_profile_file(path: str | Path, *, shipped: bool = False) -> Profile:
    """Load and validate one profile file; raise :class:`ProfileError` if it is unusable."""
    p = Path(path)
    profile = parse_profile(_read_toml(p), str(p))
    if shipped:
        object.__setattr__(profile, "shipped", True)
    return profile


def user_profile_dir() -> Path:
    """The user's profiles: $SOLIDARITY_PROFILE_DIR, default ~/.config/solidarity/profiles."""
    raw = os.environ.get("SOLIDARITY_PROFILE_DIR")
    if raw:
        return Path(raw).expanduser()
    return Path("~/.config/solidarity/profiles").expanduser()


def _profile_files() -> list[tuple[Path, bool]]:
    found: list[tuple[Path, bool]] = [(p, True) for p in sorted(SHIPPED_DIR.glob("*.toml"))]
    user = user_profile_dir()
    if user.is_dir():
        found += [(p, False) for p in sorted(user.glob("*.toml"))]
    return found


def list_profiles(*, errors: list[ProfileError] | None = None) -> list[Profile]:
    """Every usable profile, shipped then user's, a user profile replacing a shipped namesake.

    A broken user profile is left out (and appended to ``errors`` when given)
    so one bad file does not stop every import; a broken shipped profile is a
    bug and raises.
    """
    by_name: dict[str, Profile] = {}
    for path, shipped in _profile_files():
        try:
            profile = load_profile_file(path, shipped=shipped)
        except ProfileError as exc:
            if shipped:
                raise
            if errors is not None:
                errors.append(exc)
            continue
        by_name[profile.name] = profile
    return sorted(by_name.values(), key=lambda p: p.name)


def load_profile(name_or_path: str | Path) -> Profile:
    """A profile by name (user's first, then shipped) or by the path of a ``.toml`` file."""
    text = str(name_or_path)
    p = Path(text).expanduser()
    if text.endswith(".toml") or os.sep in text or p.is_file():
        if not p.is_file():
            raise ProfileError(f"{p}: no such profile file")
        return load_profile_file(p)
    errors: list[ProfileError] = []
    for profile in list_profiles(errors=errors):
        if profile.name == text:
            return profile
    for err in errors:
        # The wanted profile may be the broken one: say why rather than "not found".
        if f"/{text}.toml" in str(err) or f"{os.sep}{text}.toml" in str(err):
            raise err
    names = ", ".join(p.name for p in list_profiles())
    raise ProfileError(f"no profile named {text!r} (known: {names})")


# -- header matching --------------------------------------------------------------


def normalise_cell(value: object) -> str:
    """Header comparison key: trimmed, inner spaces collapsed, case-folded."""
    if value is None:
        return ""
    return " ".join(str(value).split()).casefold()


def match_header(profile: Profile, cells: Sequence[object]) -> bool:
    """True when ``cells`` (one row) contains every cell of the profile's header test.

    ``header_match`` when given, else the signature.
    """
    wanted = profile.header_match or profile.signature
    if not wanted:
        return False
    have = {normalise_cell(c) for c in cells}
    return all(normalise_cell(w) in have for w in wanted)


def find_profile_by_header(
    cells: Sequence[object],
    profiles: Sequence[Profile] | None = None,
    *,
    fmt: str | None = None,
) -> Profile | None:
    """The auto-detectable profile whose header signature best fits ``cells``.

    Every signature cell must be present; the longest matching signature wins
    (the most specific layout).  A tie between different layouts returns
    ``None`` rather than a guess.
    """
    candidates = [
        p
        for p in (list_profiles() if profiles is None else profiles)
        if p.auto_detect and p.signature and (fmt is None or fmt in p.formats)
    ]
    have = {normalise_cell(c) for c in cells}
    best: list[Profile] = []
    best_len = 0
    for p in candidates:
        sig = {normalise_cell(s) for s in p.signature}
        if sig <= have:
            if len(sig) > best_len:
                best, best_len = [p], len(sig)
            elif len(sig) == best_len:
                best.append(p)
    return best[0] if len(best) == 1 else None
