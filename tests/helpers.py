"""Small builders shared by the tests (not fixtures: plain functions)."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from hypothesis import strategies as st
from sqlalchemy import Connection

from ledger import orgs
from ledger.domain import EntryDraft, PostingDraft
from ledger.money import Money


def basic_chart(conn: Connection) -> None:
    """Two organisations and a few accounts in EUR, CAD and XOF."""
    orgs.add_org(conn, "Network", "network", "FR", "EUR")
    orgs.add_org(conn, "CSQ", "union", "CA", "CAD", 48_000, "2026")
    orgs.add_account(conn, "Assets:Bank:Network:EUR", "asset", "EUR", org="Network")
    orgs.add_account(conn, "Assets:Bank:CSQ:CAD", "asset", "CAD", org="CSQ")
    orgs.add_account(conn, "Assets:Bank:Mutual:XOF", "asset", "XOF")
    orgs.add_account(conn, "Income:Contributions", "income", "EUR")
    orgs.add_account(conn, "Income:Contributions:CSQ", "income", "CAD", org="CSQ")
    orgs.add_account(conn, "Expenses:Bank fees", "expense", "EUR")


def eur_entry(day: date, cents: int, key: str | None = None, desc: str = "Contribution") -> EntryDraft:
    """A two-posting euro contribution of ``cents``."""
    m = Money(cents, "EUR")
    return EntryDraft(day, desc, (PostingDraft("Assets:Bank:Network:EUR", m),
                                  PostingDraft("Income:Contributions", -m)),
                      idempotency_key=key)


#: The public bank-export samples (see tests/data/samples/PROVENANCE.md);
#: $SOLIDARITY_SAMPLE_DATA points elsewhere if needed.
SAMPLE_DATA = Path(os.environ.get("SOLIDARITY_SAMPLE_DATA")
                   or Path(__file__).resolve().parent / "data" / "samples")


def mutate(data: st.DataObject, seed: bytes, interesting: bytes, max_edits: int) -> bytes:
    """``seed`` with 1..max_edits bytes replaced, inserted or deleted (drawn by hypothesis),
    the new bytes mostly taken from ``interesting`` (the format's own punctuation)."""
    buf = bytearray(seed)
    for _ in range(data.draw(st.integers(1, max_edits))):
        pos = data.draw(st.integers(0, max(len(buf) - 1, 0)))
        action = data.draw(st.sampled_from(["replace", "insert", "delete"]))
        byte = data.draw(st.sampled_from(list(interesting)) | st.integers(0, 255))
        if action == "replace" and buf:
            buf[pos] = byte
        elif action == "insert":
            buf.insert(pos, byte)
        elif buf:
            del buf[pos]
    return bytes(buf)
