"""Detached elements: a document parsed without its many entries, read a slice at a time.

``parse_bytes(..., detach=Detach("Ntry", ...))`` leaves each run of sibling
``<Ntry>`` elements out of the tree when their tags can be told from the bytes
alone; :meth:`XmlDocument.detached` then gives the same elements, lines and raw
text as the whole tree, a slice at a time.  Anything it cannot do exactly it
refuses: ``_cut`` returns None (the whole tree is built) or a slice raises
:class:`DetachFailed` (the reader parses the whole tree again).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imports import xmlsafe
from imports.xmlsafe import Detach, DetachFailed, parse_bytes

pytestmark = pytest.mark.skipif(not xmlsafe.have_lxml(), reason="lxml not installed")

NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
DETACH = Detach("Ntry", ("TxDtls",))


def entry(n: int, details: int = 0) -> str:
    txs = "".join(f"<TxDtls><Refs><EndToEndId>{n}.{j}</EndToEndId></Refs></TxDtls>"
                  for j in range(details))
    return f"<Ntry><Amt Ccy=\"EUR\">{n}.00</Amt><NtryDtls>{txs}</NtryDtls></Ntry>"


def document(*statements: str, decl: str = '<?xml version="1.0" encoding="UTF-8"?>\n') -> bytes:
    body = "".join(f"<Stmt><Id>S{i}</Id>\n{s}\n</Stmt>\n" for i, s in enumerate(statements))
    return f'{decl}<Document xmlns="{NS}"><BkToCstmrStmt>\n{body}</BkToCstmrStmt></Document>\n'.encode()


TWO_STATEMENTS = document(
    "\n".join(entry(n, n % 3) for n in range(7)),
    entry(10) + "<Bal/>" + entry(11) + "  \n " + entry(12, 2),  # two runs in one statement
)


def reading(data: bytes, *, cut: bool, chunk: int = 2) -> list[Any]:
    """(statement, [(line, raw, tag, first TxDtls line)]) as the reader would see them."""
    doc = parse_bytes(data, "t.xml", prefer_lxml=True, detach=DETACH._replace(cut=cut))
    assert doc.detached_reads is (cut and b"<Ntry>" in data.replace(b"<c:", b"<"))
    out = []
    doc.locate("Stmt", list(doc.root.iter(doc.q("Stmt"))))
    for stmt in doc.root.iter(doc.q("Stmt")):
        entries = doc.detached(stmt)
        seen = []
        for lo in range(0, len(entries), chunk):
            for el in entries.read(lo, lo + chunk):
                tx = el.find(f"{{{NS}}}NtryDtls/{{{NS}}}TxDtls")
                seen.append((doc.line(el), doc.raw(el), el.tag, tx is not None and doc.line(tx),
                             tx is not None and doc.raw(tx)))
        doc.release()
        out.append((doc.line(stmt), seen))
    return out


@pytest.mark.parametrize("chunk", [1, 2, 3, 100])
def test_detached_entries_read_as_the_whole_tree_gives_them(chunk: int) -> None:
    detached, whole = reading(TWO_STATEMENTS, cut=True, chunk=chunk), reading(TWO_STATEMENTS, cut=False)
    assert detached == whole
    assert [len(s) for _, s in detached] == [7, 3]
    line, raw, *_ = detached[1][1][2]
    assert line == TWO_STATEMENTS[: TWO_STATEMENTS.index(b"12.00")].count(b"\n") + 1
    assert raw == entry(12, 2)


def test_the_outline_keeps_everything_but_the_entries() -> None:
    doc = parse_bytes(TWO_STATEMENTS, "t.xml", prefer_lxml=True, detach=DETACH)
    stmts = list(doc.root.iter(doc.q("Stmt")))
    doc.locate("Stmt", stmts)
    assert [len(doc.detached(s)) for s in stmts] == [7, 3]
    assert not list(doc.root.iter(doc.q("Ntry")))  # not in memory
    assert stmts[1].find(doc.q("Bal")) is not None
    assert doc.line(stmts[1]) == TWO_STATEMENTS[: TWO_STATEMENTS.index(b"<Stmt><Id>S1")].count(b"\n") + 1


def test_a_slice_releases_the_one_before() -> None:
    doc = parse_bytes(TWO_STATEMENTS, "t.xml", prefer_lxml=True, detach=DETACH)
    entries = doc.detached(next(doc.root.iter(doc.q("Stmt"))))
    first = entries.read(0, 3)
    assert all(doc._slice_where.get(el) for el in first)
    entries.read(3, 5)
    assert len(doc._slice_where) == 2 and not any(el in doc._slice_where for el in first)
    doc.release()
    assert not doc._slice_where


@pytest.mark.parametrize(
    "change",
    [
        ("<Id>S0</Id>", "<Id>S0</Id><!-- <Ntry> -->"),  # a comment: "<" may not start a tag
        ("<Id>S0</Id>", "<Id><![CDATA[S0]]></Id>"),
        ("<Id>S0</Id>", "<Id>S0<?pi x?></Id>"),
        ("<Ntry>", '<Ntry a="1">'),
        ("<Ntry>", "<Ntry >"),
        ("</Ntry>", "</Ntry >"),
        ("<Bal/>", "<Ntry/>"),
        ("<Bal/>", "<Ntry><Ntry></Ntry></Ntry>"),  # nested
        ("</Ntry>", "</Ntry></Ntry>"),  # more end tags than start tags
    ],
)
def test_tags_the_bytes_cannot_tell_leave_the_whole_tree(change: tuple[str, str]) -> None:
    data = TWO_STATEMENTS.replace(change[0].encode(), change[1].encode(), 1)
    assert xmlsafe._cut(data, "", "Ntry") is None


def test_entries_in_another_namespace_leave_the_whole_tree() -> None:
    data = TWO_STATEMENTS.replace(b"<Stmt>", b'<Stmt xmlns="urn:other">', 1)
    doc = parse_bytes(data, "t.xml", prefer_lxml=True, detach=DETACH)
    assert not doc.detached_reads


def test_a_prefixed_latin_1_document_is_detached_with_its_declarations() -> None:
    text = TWO_STATEMENTS.decode().replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
    text = text.replace("<", "<c:").replace("<c:/", "</c:").replace("<c:?", "<?")
    text = text.replace(' xmlns="', ' xmlns:c="').replace("1.00<", "1.00 é<")
    data = text.encode("latin-1")
    detached, whole = reading(data, cut=True), reading(data, cut=False)
    assert detached == whole and "é" in detached[0][1][1][1]


def test_a_slice_that_does_not_parse_on_its_own_fails_the_detached_reading() -> None:
    data = TWO_STATEMENTS.replace(b"3.00</Amt>", b"3.00</Amtx>", 1)  # not well-formed
    doc = parse_bytes(data, "t.xml", prefer_lxml=True, detach=DETACH)
    entries = doc.detached(next(doc.root.iter(doc.q("Stmt"))))
    assert entries.read(0, 2)
    with pytest.raises(DetachFailed):
        entries.read(2, 4)


def test_inner_tags_the_slice_does_not_match_fail_the_detached_reading() -> None:
    # a <TxDtls> start tag in another namespace: counted by the scan, not by the tree
    data = TWO_STATEMENTS.replace(b"<NtryDtls><TxDtls>", b'<NtryDtls><TxDtls xmlns="urn:x"/><TxDtls>', 1)
    doc = parse_bytes(data, "t.xml", prefer_lxml=True, detach=DETACH)
    (el,) = doc.detached(next(doc.root.iter(doc.q("Stmt")))).read(1, 2)
    tx = el.find(f"{{{NS}}}NtryDtls/{{{NS}}}TxDtls")
    with pytest.raises(DetachFailed):
        doc.line(tx)


def test_detached_is_asked_of_a_document_that_was_told_what_to_detach() -> None:
    doc = parse_bytes(TWO_STATEMENTS, "t.xml", prefer_lxml=True)
    with pytest.raises(ValueError, match="detach"):
        doc.detached(doc.root)


@settings(max_examples=60, deadline=None)
@given(
    statements=st.lists(st.lists(st.tuples(st.integers(0, 3), st.booleans()), max_size=6),
                        min_size=1, max_size=3),
    chunk=st.integers(1, 4),
)
def test_any_layout_of_entries_reads_as_the_whole_tree(statements: list[Any], chunk: int) -> None:
    parts = []
    for s in statements:
        parts.append("".join(entry(n, d) + ("<Bal/>" if gap else "\n")
                             for n, (d, gap) in enumerate(s)))
    data = document(*parts)
    assert reading(data, cut=True, chunk=chunk) == reading(data, cut=False, chunk=chunk)


def test_slices_read_out_of_order_keep_their_lines() -> None:
    doc = parse_bytes(TWO_STATEMENTS, "t.xml", prefer_lxml=True, detach=DETACH)
    whole = parse_bytes(TWO_STATEMENTS, "t.xml", prefer_lxml=True, detach=DETACH._replace(cut=False))
    expected = [whole.line(el) for el in whole.detached(next(whole.root.iter(whole.q("Stmt")))).read(0, 7)]
    entries = doc.detached(next(doc.root.iter(doc.q("Stmt"))))
    for lo, hi in [(4, 7), (0, 2), (2, 4), (0, 7)]:
        assert [doc.line(el) for el in entries.read(lo, hi)] == expected[lo:hi]
