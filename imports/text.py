"""Decoding line-based bank files whose encoding is not declared (MT940, QIF)."""

from __future__ import annotations

from imports.model import ImportFileError, ReadResult, Severity


def decode_text(data: bytes, file: str, encoding: str | None, result: ReadResult) -> str:
    """The text of a line-based bank file (MT940, QIF).

    An explicit ``encoding`` must work (else :class:`ImportFileError`); by
    default UTF-8 (a BOM is dropped), else Windows-1252, else Latin-1, with a
    warning that accents may be wrong.
    """
    if encoding:
        try:
            return data.decode(encoding)
        except (LookupError, UnicodeDecodeError) as exc:
            raise ImportFileError(f"{file}: cannot decode as {encoding}: {exc}") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    for fallback, label in (("cp1252", "Windows-1252"), ("latin-1", "Latin-1")):
        try:
            text = data.decode(fallback)
        except UnicodeDecodeError:
            continue
        result.report(file, None, f"the file is not UTF-8; read as {label} (accents may be wrong)",
                      Severity.WARNING)
        return text
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover
