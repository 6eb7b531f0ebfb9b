"""``XmlDocument.extract``: the values of child paths under many elements.

The Python code in :mod:`imports.xmlsafe` is the specification; the optional C
build (``imports._xmlpath``, see setup.py) must give exactly the same values.
Both are checked against written-out expectations, then against each other on
generated documents and paths, and the camt reader must read every sample,
edge case and mutated file the same with either.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imports import camt, xmlsafe
from imports.xmlsafe import ATTR, CHILDREN, COUNT, TEXT, TEXTS, PathSpec, parse_bytes
from tests.helpers import mutate
from tests.unit.test_camt_engines import CASES, SAMPLES, SEEDS, outcome

pytestmark = pytest.mark.skipif(not xmlsafe.have_lxml(), reason="lxml not installed")

needs_c = pytest.mark.skipif(
    xmlsafe._xmlpath is None,
    reason="the C build of imports._xmlpath is not installed (no compiler at install time)",
)

NS = "urn:example:x"

DOC = f"""<?xml version="1.0" encoding="UTF-8"?>
<r:Root xmlns:r="{NS}" xmlns:o="urn:other"><r:E>
  <r:A Ccy=" EUR " o:Ccy="USD">  12.50 </r:A>
  <r:B><r:C>first</r:C><r:C> second </r:C><r:C/><o:C>other</o:C><r:D>x</r:D></r:B>
  <r:B><r:C>later B</r:C></r:B>
  <r:T>a &amp; <![CDATA[<b>]]> c</r:T>
  <r:U>\u00a0caf\u00e9\u2003</r:U>
  <r:W><r:P><r:Q>no</r:Q></r:P><r:P><r:X><r:Y>yes</r:Y></r:X></r:P></r:W>
  <o:A>not ours</o:A>
</r:E><r:E/></r:Root>
"""


def _doc(text: str = DOC) -> xmlsafe.XmlDocument:
    return parse_bytes(text.encode(), "t.xml", prefer_lxml=True)


def _both(doc: xmlsafe.XmlDocument, elements: list[Any], specs: list[PathSpec]) -> list[list[Any]]:
    python = doc.extract(elements, specs, accelerated=False)
    if xmlsafe._xmlpath is not None:
        assert doc.extract(elements, specs) == python
    return python


def _entries(doc: xmlsafe.XmlDocument) -> list[Any]:
    return list(doc.root.findall(doc.q("E")))


def test_each_mode_on_both_implementations() -> None:
    doc = _doc()
    assert doc.is_lxml
    specs: list[PathSpec] = [
        (TEXT, ("A",), None),  # stripped
        (ATTR, ("A",), "Ccy"),  # as written; the namespaced attribute is not it
        (ATTR, ("A",), "Missing"),
        (TEXT, ("B", "C"), None),  # first B, first C
        (TEXT, ("Nope",), None),
        (TEXTS, ("B", "C"), None),  # children of the first B, in its namespace only
        (COUNT, ("B", "C"), None),
        (COUNT, ("B",), None),
        (CHILDREN, ("B",), None),
        (TEXT, ("T",), None),  # entities and CDATA joined
        (TEXT, ("U",), None),  # Unicode whitespace stripped as str.strip does
        (TEXT, ("W", "*", "X", "Y"), None),  # the first part with X/Y
        (TEXT, ("W", "P", "X", "Y"), None),  # no backtracking without "*"
        (TEXT, (), None),
        (CHILDREN, (), None),
    ]
    first, empty = (list(column) for column in zip(*_both(doc, _entries(doc), specs), strict=True))
    assert first == [
        "12.50", " EUR ", "", "first", None,
        ["first", " second ", ""], 3, 2, 5,
        "a & <b> c", "caf\u00e9", "yes", None, "", 7,
    ]
    assert empty == [None, None, None, None, None, [], 0, 0, 0, None, None, None, None, "", 0]


def test_a_document_without_namespace() -> None:
    doc = _doc('<Root><E><A Ccy="EUR">1</A><x:A xmlns:x="urn:x">2</x:A></E></Root>')
    assert _both(doc, list(doc.root), [(TEXT, ("A",), None), (COUNT, ("A",), None)]) == [
        ["1"], [1]]


def test_no_elements_give_empty_columns() -> None:
    doc = _doc()
    assert _both(doc, [], [(TEXT, ("A",), None), (TEXTS, ("B", "C"), None)]) == [[], []]


@pytest.mark.parametrize("accelerated", [False, pytest.param(True, marks=needs_c)])
@pytest.mark.parametrize(
    "spec",
    [(9, ("A",), None), (TEXTS, ("B", "*"), None), (COUNT, ("*",), None)],
    ids=["unknown mode", "TEXTS of *", "COUNT of *"],
)
def test_bad_specs_are_refused(spec: PathSpec, accelerated: bool) -> None:
    doc = _doc()
    with pytest.raises(ValueError):
        doc.extract(_entries(doc), [spec], accelerated=accelerated)


@needs_c
def test_the_c_build_takes_only_lxml_elements() -> None:
    import xml.etree.ElementTree as ET

    assert xmlsafe._xmlpath is not None
    from lxml import etree

    with pytest.raises(TypeError):
        xmlsafe._xmlpath.extract([ET.Element("A")], [(TEXT, ("A",), None)], "", etree._Element)
    with pytest.raises(ValueError):  # an ATTR spec without its attribute
        xmlsafe._xmlpath.extract([], [(ATTR, ("A",), None)], "", etree._Element)


def test_an_elementtree_document_reads_with_the_python_code() -> None:
    utf16 = DOC.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    doc = parse_bytes(utf16, "t.xml", prefer_lxml=True)  # UTF-16 goes to ElementTree
    assert not doc.is_lxml
    assert doc.extract(_entries(doc), [(TEXT, ("A",), None), (TEXT, ("W", "*", "X", "Y"), None)]
                       ) == [["12.50", None], ["yes", None]]


# -- generated documents and paths: the C build and the Python code agree

_NAMES = ["A", "B", "C"]


@st.composite
def _element(draw: st.DrawFn, depth: int = 0) -> str:
    name = draw(st.sampled_from(_NAMES))
    prefix = draw(st.sampled_from(["", "", "", "o:"]))  # now and then another namespace
    attrs = draw(st.sampled_from(["", ' Ccy="EUR"', ' Ccy=" x&amp;y "', ' o:Ccy="Z"']))
    text = draw(st.sampled_from(["", " ", "v", " v w ", "\u00e9\u00a0", "a&amp;b",
                                 "<![CDATA[ c ]]>", "t<!-- c -->u", "\t\n"]))
    children = ""
    if depth < 3:
        children = "".join(draw(st.lists(_element(depth + 1), max_size=3)))
    tail = draw(st.sampled_from(["", " ", "k"]))
    return f"<{prefix}{name}{attrs}>{text}{children}</{prefix}{name}>{tail}"


_specs = st.lists(
    st.tuples(
        st.sampled_from([TEXT, ATTR, TEXTS, COUNT, CHILDREN]),
        st.lists(st.sampled_from([*_NAMES, "*"]), max_size=4).map(tuple),
    ).filter(lambda s: s[0] not in (TEXTS, COUNT) or (s[1] and s[1][-1] != "*"))
    .map(lambda s: (s[0], s[1], "Ccy" if s[0] == ATTR else None)),
    min_size=1,
    max_size=8,
)


@needs_c
@settings(max_examples=int(os.environ.get("SOLIDARITY_FUZZ_EXAMPLES", "150")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(elements=st.lists(_element(), min_size=1, max_size=4), specs=_specs,
       namespaced=st.booleans())
def test_the_c_build_agrees_with_the_python_code(
    elements: list[str], specs: list[PathSpec], namespaced: bool
) -> None:
    ns = f' xmlns="{NS}"' if namespaced else ""
    doc = _doc(f'<Root{ns} xmlns:o="urn:other">{"".join(elements)}</Root>')
    assert doc.is_lxml
    children = [el for el in doc.root if isinstance(el.tag, str)]
    assert doc.extract(children, specs) == doc.extract(children, specs, accelerated=False)


# -- the camt reader reads the same with either


def _same_without_c(data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    accelerated = outcome(data, lxml=True)
    with monkeypatch.context() as m:
        m.setattr(xmlsafe, "_xmlpath", None)
        assert outcome(data, lxml=True) == accelerated


@needs_c
@pytest.mark.parametrize("sample", SAMPLES, ids=[p.name for p in SAMPLES])
def test_every_camt_sample_reads_the_same_without_the_c_build(
    sample: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _same_without_c(sample.read_bytes(), monkeypatch)


@needs_c
@pytest.mark.parametrize("name", sorted(CASES))
def test_camt_edge_cases_read_the_same_without_the_c_build(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _same_without_c(CASES[name], monkeypatch)


@needs_c
@settings(max_examples=int(os.environ.get("SOLIDARITY_FUZZ_EXAMPLES", "60")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_camt_files_read_the_same_without_the_c_build(
    data: st.DataObject, monkeypatch: pytest.MonkeyPatch
) -> None:
    interesting = b"<>/:!&;#-\n 0123456789.CDNtryEURAmtDtlsTxDtlsCcyXchg"
    _same_without_c(mutate(data, data.draw(st.sampled_from(SEEDS)), interesting, 4), monkeypatch)


def test_the_entry_specs_fit_the_c_build() -> None:
    # the C build reads at most 128 specs of at most 16 steps
    assert len(camt._ENTRY_SPECS) <= 128
    assert max(len(steps) for _, steps, _ in camt._ENTRY_SPECS) <= 16


@needs_c
@pytest.mark.parametrize("steps", [("A", 3), (3,), ("A",) * 17], ids=["int step", "only int",
                                                                     "17 steps"])
def test_the_c_build_refuses_bad_steps(steps: tuple[Any, ...]) -> None:
    from lxml import etree

    assert xmlsafe._xmlpath is not None
    doc = _doc()
    for mode in (TEXT, COUNT):
        with pytest.raises((TypeError, ValueError)):
            xmlsafe._xmlpath.extract(_entries(doc), [(mode, steps, None)], NS, etree._Element)


@needs_c
def test_the_c_build_checks_lxml_layout() -> None:
    from lxml import etree

    assert xmlsafe._xmlpath is not None
    probe = etree.Element("probe")
    assert xmlsafe._xmlpath.layout_ok(probe, "probe", etree._Element)
    assert not xmlsafe._xmlpath.layout_ok(probe, "other", etree._Element)
    assert not xmlsafe._xmlpath.layout_ok(object(), "probe", etree._Element)
