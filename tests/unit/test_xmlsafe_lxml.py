"""imports.xmlsafe: the lxml tree, child paths on both trees, lines located on demand."""

from __future__ import annotations

from typing import Any

import pytest

from imports import xmlsafe
from imports.model import ImportFileError
from imports.xmlsafe import XmlDocument, parse_bytes

needs_lxml = pytest.mark.skipif(not xmlsafe.have_lxml(), reason="lxml not installed")
ENGINES = [pytest.param(True, marks=needs_lxml, id="lxml"), pytest.param(False, id="etree")]

DOC = b"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:a">
<A><B>first</B></A>
<A><B>second</B><C>c</C></A>
<X xmlns="urn:other"><B>foreign</B></X>
<X><B>one</B><B>two</B><B>three</B></X>
<Y><B>only</B></Y>
</Document>
"""


def parse(data: bytes, lxml: bool) -> XmlDocument:
    doc = parse_bytes(data, "t.xml", prefer_lxml=lxml)
    assert doc.is_lxml is lxml
    return doc


def texts(elements: list[Any]) -> list[str]:
    return [el.text for el in elements]


def text(doc: XmlDocument, *tags: str) -> str | None:
    """The text at ``tags`` under the root, or None when there is no such element."""
    el = doc.path(*tags)(doc.root, None)
    return None if el is None else el.text


@pytest.mark.parametrize("lxml", ENGINES)
def test_a_path_follows_the_first_match_of_each_step_like_find(lxml: bool) -> None:
    doc = parse(DOC, lxml)
    assert text(doc, "A", "B") == "first"
    assert doc.path("A", "C")(doc.root, None) is None  # the first A has no C: no backtracking
    assert text(doc, "X", "B") == "one"  # the X in another namespace is skipped
    assert doc.path("Nowhere")(doc.root, None) is None


@pytest.mark.parametrize("lxml", ENGINES)
def test_children_are_found_like_findall(lxml: bool) -> None:
    doc = parse(DOC, lxml)
    xs = doc.root.findall(doc.q("X"))
    b = doc.children("B")
    assert [texts(b(x)) for x in xs] == [["one", "two", "three"]]
    assert texts(b(doc.path("Y")(doc.root, None))) == ["only"]
    assert b(doc.root) == []


@pytest.mark.parametrize("lxml", ENGINES)
def test_paths_in_a_document_without_namespace_skip_namespaced_elements(lxml: bool) -> None:
    doc = parse(b'<D><A xmlns="urn:o">x</A><A>y</A><A>z</A></D>', lxml)
    assert text(doc, "A") == "y"
    assert texts(doc.children("A")(doc.root)) == ["y", "z"]


@pytest.mark.parametrize("lxml", ENGINES)
def test_paths_in_a_prefixed_document_use_its_namespace(lxml: bool) -> None:
    doc = parse(b'<p:D xmlns:p="urn:a"><p:A><p:B>x</p:B></p:A><A><B>no</B></A></p:D>', lxml)
    assert text(doc, "A", "B") == "x"
    assert texts(doc.children("A")(doc.root)) == [None]


@needs_lxml
@pytest.mark.parametrize(
    ("data", "lxml"),
    [
        (b'<?xml version="1.0" encoding="utf-8"?><D/>', True),
        (b'<?xml version="1.0" encoding="ISO-8859-1"?><D>\xe9</D>', True),
        (b'<?xml version="1.0"?><D/>', True),
        (b"\xef\xbb\xbf<D/>", True),
        (b"<D/>", True),
        (b'<?xml version="1.0" encoding="windows-1252"?><D>\x80</D>', False),
        (b'\xef\xbb\xbf<?xml version="1.0" encoding="ISO-8859-1"?><D/>', False),
        ('<?xml version="1.0" encoding="UTF-16"?><D/>'.encode("utf-16"), False),
        (b'<?xml version="1.0"' + b" " * 1100 + b'encoding="windows-1252"?><D/>', False),
        (b'<?xml-stylesheet href="s"?><D/>', True),
    ],
)
def test_lxml_reads_only_the_encodings_it_decodes_as_expat_does(data: bytes, lxml: bool) -> None:
    assert parse_bytes(data, "t.xml", prefer_lxml=True).is_lxml is lxml


@needs_lxml
def test_what_libxml2_refuses_is_parsed_by_elementtree() -> None:
    deep = b"<D>" + b"<E>" * 300 + b"x" + b"</E>" * 300 + b"</D>"
    assert parse_bytes(deep, "t.xml", prefer_lxml=True).is_lxml is False


@needs_lxml
def test_a_doctype_is_refused_before_lxml_sees_the_file() -> None:
    data = b'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<d>&x;</d>'
    with pytest.raises(ImportFileError, match=r"t\.xml:2: .*DOCTYPE"):
        parse_bytes(data, "t.xml", prefer_lxml=True)


@needs_lxml
def test_syntax_errors_are_worded_by_expat_whichever_tree_was_asked_for() -> None:
    data = b"<D>\n<E>&nope;</E></D>"
    with pytest.raises(xmlsafe.XmlSyntaxError) as fast:
        parse_bytes(data, "t.xml", prefer_lxml=True)
    with pytest.raises(xmlsafe.XmlSyntaxError) as reference:
        parse_bytes(data, "t.xml")
    assert (fast.value.line, fast.value.message) == (reference.value.line, reference.value.message)


@pytest.mark.parametrize("lxml", ENGINES)
def test_lines_and_raw_text_of_located_elements(lxml: bool) -> None:
    doc = parse(DOC, lxml)
    a_s = doc.root.findall(doc.q("A"))
    doc.locate("A", a_s)
    assert [doc.line(a) for a in a_s] == [3, 4]
    assert doc.line_and_raw(a_s[1]) == (4, "<A><B>second</B><C>c</C></A>")


@pytest.mark.parametrize("lxml", ENGINES)
def test_elements_located_on_demand_are_scanned_only_when_asked_for(lxml: bool) -> None:
    doc = parse(DOC, lxml)
    calls: list[str] = []

    def collect_b() -> list[object]:
        calls.append("B")
        return list(doc.root.iter(doc.q("B")))

    doc.locate_on_demand("B", collect_b)
    doc.locate_on_demand("C", list)  # nothing to locate: nothing to scan
    assert calls == []
    b_first = doc.path("A", "B")(doc.root, None)
    assert doc.line(b_first) is None  # the foreign <B> makes the counts differ: never guess
    assert calls == ["B"]
    assert doc.line(doc.root) is None


@pytest.mark.parametrize("lxml", ENGINES)
def test_an_element_that_cannot_be_located_is_serialised_as_elementtree_does(lxml: bool) -> None:
    doc = parse(b'<D xmlns="urn:a">\n <E k="v">t<F/>\n  <G> </G>\n </E>\n</D>', lxml)
    e = doc.path("E")(doc.root, None)
    assert doc.raw(e) == '<ns0:E xmlns:ns0="urn:a" k="v">t<ns0:F />\n  <ns0:G> </ns0:G>\n </ns0:E>\n'
    assert text(doc, "E", "G") == " "  # blank text alone in an element stays


def test_has_finds_a_needle_wherever_it_starts() -> None:
    data = b"<?xml?><a>!?<b/><!-- c --></a>"
    assert xmlsafe._has(data, b"<!--")
    assert not xmlsafe._has(data, b"<![CDATA[")
    assert xmlsafe._has(data, b"<?", 0)
    assert not xmlsafe._has(data, b"<?", 2)
    assert xmlsafe._has(b"<?", b"<?") and not xmlsafe._has(b"<", b"<?")
