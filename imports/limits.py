"""Limits on untrusted input files, applied before any parser sees them."""

from __future__ import annotations

import os
from pathlib import Path

from imports.model import ImportFileError
from ledger.bulk import gc_paused

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_UNPACKED_BYTES", "MAX_COMPRESSION_RATIO",
           "check_size", "gc_paused", "max_bytes", "read_limited"]

#: Largest file accepted by default (bytes); override with SOLIDARITY_MAX_IMPORT_BYTES.
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
#: Largest total unpacked size of an XLSX (zip) archive.
DEFAULT_MAX_UNPACKED_BYTES = 1024 * 1024 * 1024
#: Largest unpacked/packed ratio of an XLSX archive before it is treated as a zip bomb.
MAX_COMPRESSION_RATIO = 200


def max_bytes() -> int:
    """The configured maximum file size in bytes."""
    raw = os.environ.get("SOLIDARITY_MAX_IMPORT_BYTES")
    if raw:
        try:
            value = int(raw)
        except ValueError:
            raise ImportFileError(
                f"SOLIDARITY_MAX_IMPORT_BYTES must be a whole number of bytes, not {raw!r}"
            ) from None
        if value > 0:
            return value
    return DEFAULT_MAX_BYTES


def check_size(path: str | Path, limit: int | None = None) -> int:
    """Refuse a file larger than ``limit`` (default :func:`max_bytes`); return its size."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise ImportFileError(f"{p}: cannot read: {exc.strerror or exc}") from None
    cap = max_bytes() if limit is None else limit
    if size > cap:
        raise ImportFileError(f"{p}: file is {size} bytes, above the limit of {cap} bytes")
    return size


def read_limited(path: str | Path) -> bytes:
    """The bytes of a file within the size limit; :class:`ImportFileError` otherwise."""
    check_size(path)
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
