"""Safe XML parsing for bank files (camt, OFX 2), with line numbers and raw fragments.

Bank files are untrusted.  This module is the one place where the project
parses XML, and it refuses every construct that can make a parser read other
files, reach the network or blow up memory: a DOCTYPE (and with it every
entity declaration, the "billion laughs" among them) and any external entity
reference.  The refusal happens in a first expat pass over the prolog, with
the same hooks and exceptions as defusedxml, and is reported as
:class:`~imports.model.ImportFileError` with ``file:line``.  A DOCTYPE can only
appear before the root element, so once the prolog is clean the document can
declare no entity at all and the fast C ElementTree parser is safe to use.

Why not ``defusedxml.ElementTree`` for the whole document: it cannot tell the
line of an element, and its pure-Python parser builds a 100,000-entry
camt.053 in ~10 s.  Here the C parser builds the tree (~1.5 s) and a byte scan
finds the start tag of each element the reader asks for ("Ntry", "TxDtls",
"STMTTRN", ...), which gives its exact line and source text.  Matching the
k-th start tag in the bytes with the k-th element of the tree is exact for
well-formed XML (a ``<`` outside markup, comments, CDATA and processing
instructions always starts a tag); comments and CDATA are masked first, and
if the counts ever disagree the lines are left unknown rather than guessed.
One pass of a regular expression finds the start tags of every name asked
for, when the first line is asked for.

``parse_bytes(..., prefer_lxml=True)`` (the camt reader) builds an lxml tree
instead when lxml is installed: libxml2 builds the 100,000-entry tree in
0.5-1 s and frees it in 0.06 s, where ElementTree takes 1.5-2 s and 0.3 s;
its elements are slower to reach one by one, yet the whole read takes half
the time.  It only ever sees documents whose prolog passed the check above,
with entity resolution, DTD loading and network access off and libxml2's size
limits on.  Anything libxml2 refuses, well-formed or not, is parsed again by
ElementTree, so errors keep expat's wording and a document past libxml2's
limits reads as before; only UTF-8, ASCII and Latin-1 documents go to lxml,
the encodings both decode alike.  Comments and processing instructions are
dropped as ElementTree drops them, and so is blank text between tags (half
of the nodes), which no reader looks at.  Lines still come from the byte
scan: lxml's ``sourceline`` is off by one past line 65,535.  lxml's ``find``
runs Python code, so :meth:`XmlDocument.path` and :meth:`XmlDocument.children`
give lookups that walk children in C on either tree
(``lxml.objectify.ObjectPath``).  :meth:`XmlDocument.extract` reads many paths
under many elements at once (the camt reader's entries): its Python code is the
specification, and ``imports/_xmlpath.c``, built at install time when a C
compiler is there (``setup.py``), does the same without a Python step per value.

A big statement need not be one tree.  ``parse_bytes(..., detach=...)`` cuts
the runs of entries out of the bytes when their tags can be told without
parsing (no comment, CDATA or processing instruction; each ``<Ntry>`` closed by
``</Ntry>`` before the next), parses the outline left, and
:meth:`XmlDocument.detached` parses the entries a slice at a time (the reader
asks for a few hundred), each slice freed before the next.  A 100,000-entry
camt.053 then takes a few MiB of tree at a time instead of ~600 MiB, and the
page faults of building and freeing one big tree (over a second of system time
in a fresh process) are gone.  The elements, lines and raw text are those of
the whole tree; anything a slice cannot give exactly raises
:class:`DetachFailed`, and the reader parses the whole tree instead.

This module must not import the database layer (it uses ``ledger.bulk``'s
``gc_paused`` through ``imports.limits``, which loads no database code).
"""

from __future__ import annotations

import operator
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple, cast
from xml.parsers import expat

from defusedxml.common import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from imports.limits import gc_paused
from imports.model import ImportFileError

try:
    from lxml import etree as lxml_etree
    from lxml.objectify import ObjectPath
except ImportError:  # pragma: no cover - lxml is optional: ElementTree reads everything
    lxml_etree = None

_xmlpath: ModuleType | None
try:  # the optional C build of XmlDocument.extract (setup.py)
    from imports import _xmlpath
except ImportError:  # pragma: no cover - no compiler at install time: Python does it
    _xmlpath = None
if _xmlpath is not None and (
    lxml_etree is None
    or not _xmlpath.layout_ok(lxml_etree.Element("probe"), "probe", lxml_etree._Element)
):  # pragma: no cover - lxml missing, or changed since the C build: Python does it
    _xmlpath = None

__all__ = [
    "ATTR",
    "CHILDREN",
    "COUNT",
    "TEXT",
    "TEXTS",
    "ChildPath",
    "Children",
    "Detach",
    "DetachFailed",
    "Detached",
    "Element",
    "PathSpec",
    "XmlDocument",
    "XmlSyntaxError",
    "gc_paused",
    "have_lxml",
    "local_name",
    "parse_bytes",
]

#: An element of either tree (``xml.etree.ElementTree.Element`` or lxml's).
Element = Any
#: ``path(el, None)``: the first child of ``el`` named by the path's first step, its
#: first child named by the second step... or None (``Element.find`` one step at a
#: time).  The second argument is what to return when there is no such child; it is
#: explicit because lxml's ObjectPath takes it so, and a wrapper would cost a call.
ChildPath = Callable[[Element, None], Element | None]
#: ``children(el)``: the children of ``el`` with one name, in order (``Element.findall``).
Children = Callable[[Element], list[Element]]


#: Modes of a :data:`PathSpec` (see :meth:`XmlDocument.extract`).
TEXT, ATTR, TEXTS, COUNT, CHILDREN = range(5)
#: ``(mode, steps, attribute)``: what :meth:`XmlDocument.extract` takes from an element.
PathSpec = tuple[int, tuple[str, ...], str | None]


class XmlSyntaxError(Exception):
    """The bytes are not well-formed XML (readers report it as a diagnostic)."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class Detach(NamedTuple):
    """What :func:`parse_bytes` may leave out of the tree, to be read a slice at a time.

    ``tag`` names the many elements (a local name: ``"Ntry"``), ``inner`` the
    elements under them whose lines may be asked for (``("TxDtls",)``).
    """

    tag: str
    inner: tuple[str, ...] = ()
    #: False: parse the whole tree all the same (what a reader does after DetachFailed)
    cut: bool = True


class DetachFailed(Exception):
    """A detached slice does not read as it would in the whole tree (never seen in a
    well-formed bank file): the reader reads the document again, whole."""


class _PrologDone(Exception):
    """Internal: the root element was reached, the prolog is clean."""


def _namespace(tag: str) -> str:
    """``"{urn:...}Document"`` → ``"urn:..."``; ``""`` for a tag in no namespace."""
    return tag[1 : tag.index("}")] if tag.startswith("{") else ""


def local_name(tag: str) -> str:
    """``"{urn:...}Ntry"`` or ``"camt:Ntry"`` → ``"Ntry"``."""
    return tag.rpartition("}")[2].rpartition(":")[2]


def _check_prolog(data: bytes, fname: str) -> str:
    """Refuse DTDs and entities; return the qualified name of the root element."""
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    root_name = ""

    def start_doctype(name: str, sysid: str | None, pubid: str | None, internal: int) -> None:
        raise DTDForbidden(name, sysid, pubid)

    def entity_decl(name: str, *args: object) -> None:
        raise EntitiesForbidden(name, None, None, None, None, None)

    def external_ref(context: str, base: str | None, sysid: str | None, pubid: str | None) -> int:
        raise ExternalReferenceForbidden(context, base, sysid, pubid)

    def start(name: str, attrs: object) -> None:
        nonlocal root_name
        root_name = name
        raise _PrologDone

    parser.StartDoctypeDeclHandler = start_doctype
    parser.EntityDeclHandler = entity_decl
    parser.UnparsedEntityDeclHandler = entity_decl
    parser.ExternalEntityRefHandler = external_ref
    parser.StartElementHandler = start
    where = lambda: f"{fname}:{parser.CurrentLineNumber}"
    try:
        parser.Parse(data, True)
    except _PrologDone:
        return root_name
    except DTDForbidden:
        raise ImportFileError(
            f"{where()}: the file declares a DOCTYPE; bank files never need one "
            "and it is refused for safety"
        ) from None
    except EntitiesForbidden:
        raise ImportFileError(f"{where()}: the file declares XML entities; refused") from None
    except ExternalReferenceForbidden:
        raise ImportFileError(
            f"{where()}: the file refers to an external entity; refused"
        ) from None
    except expat.ExpatError as exc:
        raise XmlSyntaxError(
            exc.lineno, f"not well-formed XML: {expat.ErrorString(exc.code)}"
        ) from None
    except (ValueError, LookupError) as exc:
        raise XmlSyntaxError(1, f"cannot read the XML encoding: {exc}") from None
    raise XmlSyntaxError(1, "no XML element found")


def _declared_encoding(data: bytes) -> str:
    head = data[:200]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if head.startswith(b"<?xml"):
        m = re.search(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""", head)
        if m:
            return m.group(1).decode("ascii")
    return "utf-8"


_MASK = re.compile(rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>", re.DOTALL)

#: ``(start, end, line at start)`` of the bytes of a detached slice.
_Span = tuple[int, int, int]
#: The element that stands for a run of detached elements in the outline (in no
#: namespace; its ``n`` is the run's index).
_PLACEHOLDER = "solidarity-detached-run"


class _Outline(NamedTuple):
    """Where the detached elements are in the bytes (see :func:`parse_bytes`)."""

    starts: list[int]  # offset of each one's start tag, in document order
    ends: list[int]  # offset just past each one's end tag
    runs: list[tuple[int, int]]  # [first, stop) of each run of siblings
    head: bytes  # the byte order mark and XML declaration, for the slices


def _needs_mask(data: bytes) -> bool:
    """True when ``data`` holds a comment, CDATA or a processing instruction (other
    than the XML declaration): a ``<`` there does not start a tag."""
    first_pi = data.find(b"<?")
    return (
        _has(data, b"<!--")
        or _has(data, b"<![CDATA[")
        or (first_pi >= 0 and _has(data, b"<?", first_pi + 2))
    )


def _attribute(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


def _cut(data: bytes, prefix: str, tag: str) -> tuple[bytes, _Outline] | None:
    """``data`` with each run of sibling ``tag`` elements replaced by a placeholder,
    and where they were; None when the tags cannot be told from the bytes alone.

    The cut is exact when every ``<tag`` is written ``<tag>`` and closed by
    ``</tag>`` before the next one opens, outside any comment, CDATA or processing
    instruction (there is none): each run is then a row of whole elements, and the
    document parses as its outline with each run parsed in its place.
    """
    if _needs_mask(data):
        return None
    try:
        name = re.escape((prefix + tag).encode("ascii"))
    except UnicodeEncodeError:
        return None
    # two searches: the optional "/" of one pattern would cost the literal prefix
    if any(re.search(b + name + rb"[/ \t\n\r]", data) for b in (b"<", b"</")):
        return None  # attributes, "<tag/>" or "</tag >": not worth the exceptions
    starts = [m.start() for m in re.finditer(b"<" + name + b">", data)]
    ends = [m.end() for m in re.finditer(b"</" + name + b">", data)]
    if not starts or len(starts) != len(ends):
        return None
    if not all(map(operator.lt, starts, ends)) or not all(map(operator.le, ends, starts[1:])):
        return None  # nested, or an end tag before its start tag
    runs, first = [], 0
    for k in range(1, len(starts)):
        if data[ends[k - 1] : starts[k]].strip(b" \t\r\n"):  # not siblings side by side
            runs.append((first, k))
            first = k
    runs.append((first, len(starts)))
    pieces: list[bytes] = []
    prev = 0
    for n, (first, stop) in enumerate(runs):
        pieces += (data[prev : starts[first]], b'<%s xmlns="" n="%d"/>' % (_PLACEHOLDER.encode(), n))
        prev = ends[stop - 1]
    pieces.append(data[prev:])
    bom = b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""
    head = bom
    if data.startswith(b"<?xml", len(bom)):
        head = data[: data.index(b"?>") + 2]
    return b"".join(pieces), _Outline(starts, ends, runs, head)


def _outline_fits(root: Element, outline: _Outline, prefix: str) -> bool:
    """True when the outline's placeholders are its runs, in order, each where the
    detached elements are in the document's namespace."""
    placeholders = list(root.iter(_PLACEHOLDER))
    if len(placeholders) != len(outline.runs):
        return False
    namespace = _namespace(root.tag)
    key = prefix[:-1] or None
    for n, p in enumerate(placeholders):
        parent = p.getparent()
        if p.get("n") != str(n) or parent is None or (parent.nsmap.get(key) or "") != namespace:
            return False
    return True


class Detached:
    """The children of one element named by :attr:`Detach.tag`, read a slice at a time.

    On a whole tree they are its children.  On an outline (:func:`parse_bytes`
    with ``detach``), :meth:`read` parses the bytes of just that slice into a tree
    of its own and locates its elements; the slice read before is released then,
    so hold no element of a slice past the next read (or :meth:`XmlDocument.release`).
    """

    def __init__(
        self,
        doc: XmlDocument,
        elements: list[Element] | None,
        runs: list[tuple[int, int]],
        wrapper: tuple[bytes, bytes, int],
    ) -> None:
        self._doc = doc
        self._elements = elements
        self._runs = runs
        self._wrapper = wrapper
        self._length = len(elements) if elements is not None else sum(b - a for a, b in runs)

    def __len__(self) -> int:
        return self._length

    def read(self, lo: int, hi: int) -> list[Element]:
        """Elements ``lo`` to ``hi`` (as ``findall(...)[lo:hi]``)."""
        if self._elements is not None:
            return self._elements[lo:hi]
        doc = self._doc
        doc.release()
        out: list[Element] = []
        base = 0
        for first, stop in self._runs:
            a, b = max(lo, base), min(hi, base + stop - first)
            if a < b:
                out += doc._read_detached(first + a - base, first + b - base, self._wrapper)
            base += stop - first
        return out


class XmlDocument:
    """A parsed document: its root, its namespace, lines and raw text of tags asked for.

    The root is an ElementTree element, or an lxml one when :func:`parse_bytes`
    was asked for lxml; both answer ``find``, ``findall``, ``findtext``, ``get``,
    ``text`` and ``tag`` alike.  :meth:`path` and :meth:`children` give lookups
    that are fast on either tree (lxml's ``find`` goes through Python code).
    """

    def __init__(
        self,
        root: Element,
        data: bytes,
        encoding: str,
        prefix: str,
        *,
        detach: Detach | None = None,
        outline: _Outline | None = None,
    ) -> None:
        self.root = root
        self.is_lxml = lxml_etree is not None and not isinstance(root, ET.Element)
        self.data = data
        self.encoding = encoding
        self._prefix = prefix  # "camt:" when the root is written <camt:Document>
        self.namespace = _namespace(root.tag)
        self._q = "{" + self.namespace + "}" if self.namespace else ""
        self._where: dict[Element, tuple[int, ...]] = {}
        # elements to locate, in the whole document (span None) or in the span of
        # the detached slice read last (start, end, line at start)
        self._pending: list[tuple[str, list[Element], _Span | None]] = []
        self._deferred: list[tuple[str, Callable[[], list[Element]], _Span | None]] = []
        self._masked: list[tuple[int, int]] | None = None
        self._offsets: dict[str, list[int]] = {}
        #: what may be detached (see parse_bytes); ``detached_reads`` is True when it was
        self.detach = detach
        self._outline = outline
        self.detached_reads = outline is not None
        # the last slice's places: (line, start, end) of its elements, lines of inner ones
        self._slice_where: dict[Element, tuple[int, ...]] = {}
        self._line_mark = (0, 1)  # (offset, its line): slices count newlines from there
        self._whole_located = False
        self._end_tags: dict[str, bytes] = {}
        self._twin_root: ET.Element | None = None
        self._newline = b"\n" if b"\n" in data else b"\r"
        self._ascii_compatible = encoding.lower().replace("_", "-") not in {
            "utf-16",
            "utf-16le",
            "utf-16be",
            "utf-32",
            "utf-32le",
            "utf-32be",
        }

    def q(self, tag: str) -> str:
        """The qualified ElementTree name of ``tag`` in the document's namespace."""
        return self._q + tag

    def path(self, *tags: str) -> ChildPath:
        """A :data:`ChildPath` through children named ``tags`` (local names).

        ``doc.path("BookgDt", "Dt")(ntry, None)`` is
        ``ntry.find(q("BookgDt")).find(q("Dt"))``, None as soon as a step finds nothing.
        """
        compiled = self._object_path(tags)
        if compiled is not None:
            return cast(ChildPath, compiled)
        names = [self.q(t) for t in tags]

        def find(el: Element, default: None) -> Element | None:
            for name in names:
                el = el.find(name)
                if el is None:
                    return default
            return el

        return find

    def children(self, tag: str) -> Children:
        """A :data:`Children` function for the children named ``tag`` (a local name)."""
        name = self.q(tag)
        first, second = self._object_path((tag,)), self._object_path((tag,), index=1)
        if first is None or second is None:
            return operator.methodcaller("findall", name)

        def findall(el: Element) -> list[Element]:
            # Most holders have none or one: two lookups in C instead of a findall.
            one = first(el, None)
            if one is None:
                return []
            if len(el) == 1 or second(el, None) is None:
                return [one]
            return list(el.findall(name))

        return findall

    def extract(
        self, elements: list[Element], specs: list[PathSpec], *, accelerated: bool = True
    ) -> list[list[Any]]:
        """One column per spec: its value under each of ``elements``, in order.

        A spec is ``(mode, steps, attribute)``; ``steps`` are local names followed
        one child at a time like :meth:`path` (the first child of that name at each
        step).  A step ``"*"`` is any element child: the first one under which the
        rest of the steps lead somewhere (``("AmtDtls", "*", "CcyXchg")``: the
        ``CcyXchg`` of the first part of ``AmtDtls`` that has one).  Modes:

        * ``TEXT``: the element's text stripped, ``""`` when it has none, None when
          there is no such element;
        * ``ATTR``: its attribute ``attribute`` as written, ``""`` when absent, None
          when there is no such element;
        * ``TEXTS``: the texts (not stripped, ``""`` for none) of every child named by
          the last step under the element the other steps reach, ``[]`` without one;
        * ``COUNT``: how many such children there are;
        * ``CHILDREN``: how many element children the element has, 0 without it.

        On an lxml tree the C build (``imports._xmlpath``) reads all the values
        without a Python step per lookup, element by element while its nodes are in
        the processor's cache; this Python code is its specification and its
        fallback (``accelerated=False`` forces it; the tests compare the two).
        """
        if accelerated and _xmlpath is not None and self.is_lxml:
            return cast(
                list[list[Any]],
                _xmlpath.extract(elements, specs, self.namespace, lxml_etree._Element),
            )
        # Each distinct prefix of the paths is followed once per element (a spec's
        # value is then read off the element its prefix reached), element by element
        # as the C build does.
        index: dict[tuple[str, ...], int] = {(): 0}
        plan: list[tuple[int, ChildPath]] = []
        finishers: list[tuple[int, Callable[[Element | None], Any]]] = []
        for spec in specs:
            mode, steps, _ = spec
            if mode in (TEXTS, COUNT):
                if not steps or steps[-1] == "*":
                    raise ValueError("the last step of TEXTS and COUNT names the children")
                steps = steps[:-1]
            shared = steps[: steps.index("*")] if "*" in steps else steps
            for k in range(1, len(shared) + 1):
                if shared[:k] not in index:
                    index[shared[:k]] = len(plan) + 1
                    plan.append((index[shared[:k - 1]], self.path(shared[k - 1])))
            finishers.append((index[shared], self._finisher(spec, steps[len(shared):])))
        rows = []
        for el in elements:
            reached = [el]
            for parent, step in plan:
                holder = reached[parent]
                reached.append(None if holder is None else step(holder, None))
            rows.append([finish(reached[k]) for k, finish in finishers])
        return [list(column) for column in zip(*rows)] if rows else [[] for _ in specs]

    def _finisher(self, spec: PathSpec, rest: tuple[str, ...]) -> Callable[[Element | None], Any]:
        """The value of ``spec`` from the element its first steps reached (None: none);
        ``rest`` are its steps from the first ``"*"`` on."""
        mode, steps, attribute = spec
        value = self._value(mode, steps[-1] if steps else "", attribute)
        if not rest:
            return value
        reach = self._reach(rest)
        return lambda el: value(None if el is None else reach(el))

    def _value(self, mode: int, last: str, attribute: str | None) -> Callable[[Element | None], Any]:
        if mode in (TEXTS, COUNT):
            children = self.children(last)
            if mode == COUNT:
                return lambda h: 0 if h is None else len(children(h))
            return lambda h: [] if h is None else [c.text or "" for c in children(h)]
        if mode == TEXT:
            return lambda x: None if x is None else (x.text or "").strip()
        if mode == ATTR:
            key = attribute or ""
            return lambda x: None if x is None else x.get(key, "")
        if mode == CHILDREN:
            return lambda x: 0 if x is None else sum(isinstance(c.tag, str) for c in x)
        raise ValueError(f"unknown mode {mode}")

    def _reach(self, steps: tuple[str, ...]) -> Callable[[Element], Element | None]:
        """The element ``steps`` lead to from an element (``"*"`` as in :meth:`extract`)."""
        if not steps:
            return lambda el: el
        if "*" not in steps:
            path = self.path(*steps)
            return lambda el: path(el, None)
        star = steps.index("*")
        before, after = self._reach(steps[:star]), self._reach(steps[star + 1 :])

        def reach(el: Element) -> Element | None:
            holder = before(el)
            if holder is None:
                return None
            for child in holder:
                if isinstance(child.tag, str) and (found := after(child)) is not None:
                    return found
            return None

        return reach

    def _object_path(self, tags: tuple[str, ...], index: int = 0) -> Any:
        # lxml.objectify.ObjectPath walks children in C.  Every step names its
        # namespace ("{}" for none): a step without one would match any namespace.
        if not self.is_lxml:
            return None
        ns = "{" + self.namespace + "}"
        spec = ".".join(ns + t for t in tags)
        try:
            return ObjectPath(f".{spec}[{index}]" if index else f".{spec}")
        except (ValueError, SyntaxError):  # a name it cannot spell: find() still can
            return None

    def locate(self, tag: str, elements: list[Element] | None = None) -> None:
        """Record the line and byte offset of every element named ``tag`` (a local name).

        ``elements`` must be all of them in document order; readers that already
        collected them pass the list (cheaper than walking the whole tree again).
        The bytes are scanned when a line is first asked for, once for all the
        tags located by then.
        """
        if not self._ascii_compatible:
            return  # byte offsets cannot be matched in UTF-16/32 documents
        if elements is None:
            elements = list(self.root.iter(self.q(tag)))
        if elements:
            self._pending.append((tag, elements, None))

    def locate_on_demand(self, tag: str, collect: Callable[[], list[Element]]) -> None:
        """Like :meth:`locate`, but only when a line or raw text is asked for an element
        not located otherwise; ``collect`` then returns all the ``tag`` elements."""
        self._deferred.append((tag, collect, None))

    def _known(self, el: Element) -> tuple[int, ...] | None:
        w = self._where.get(el)
        return w if w is not None else self._slice_where.get(el)

    def _place(self, el: Element) -> tuple[int, ...] | None:
        """``(line, start[, end])`` of a located element's source, or None."""
        w = self._known(el)
        if w is None and self._pending:
            self._resolve()
            w = self._known(el)
        if w is None and self._deferred:
            deferred, self._deferred = self._deferred, []
            for tag, collect, span in deferred:
                if self._ascii_compatible and (elements := collect()):
                    self._pending.append((tag, elements, span))
            self._resolve()
            w = self._known(el)
        return w

    def _resolve(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        offsets = self._start_offsets({tag for tag, _, span in pending if span is None})
        for tag, elements, span in pending:
            if span is None:
                found, where, line, prev = offsets[tag], self._where, 1, 0
            else:
                start, end, line = span
                found, where, prev = self._scan({tag}, start, end)[tag], self._slice_where, start
            if len(found) != len(elements):
                if span is not None:
                    raise DetachFailed(f"{len(found)} <{tag}> tags for {len(elements)} elements")
                continue  # never guess: leave these lines unknown
            where.update(zip(elements, zip(self._count_lines(found, prev, line), found)))

    def _start_offsets(self, tags: set[str]) -> dict[str, list[int]]:
        # One pass over the bytes finds the start tags of every name asked for.
        if missing := tags - self._offsets.keys():
            self._offsets.update(self._scan(missing, 0, len(self.data)))
        return self._offsets

    def _scan(self, tags: set[str], start: int, end: int) -> dict[str, list[int]]:
        """The offsets of the start tags named ``tags`` in ``data[start:end]``."""
        data = self.data
        if self._masked is None:
            self._masked = [m.span() for m in _MASK.finditer(data)] if _needs_mask(data) else []
        names = b"|".join(re.escape(t.encode("ascii")) for t in sorted(tags, key=len, reverse=True))
        prefix = re.escape(("<" + self._prefix).encode("ascii"))
        start_tag = re.compile(prefix + b"(" + names + rb")[>/ \t\n\r]")
        out: dict[str, list[int]] = {tag: [] for tag in tags}
        by_name = {tag.encode("ascii"): out[tag].append for tag in tags}
        masked = self._masked
        for m in start_tag.finditer(data, start, end):
            if not masked or not _inside(m.start(), masked):
                by_name[m.group(1)](m.start())
        return out

    # -- detached elements ----------------------------------------------------------
    def detached(self, holder: Element) -> Detached:
        """The children of ``holder`` named by :attr:`detach` (``holder.findall``), in
        order, to be read a slice at a time (see :class:`Detached`)."""
        if self.detach is None:
            raise ValueError("parse_bytes was not asked to detach anything")
        tag = self.detach.tag
        outline = self._outline
        if outline is None:  # the whole tree: its elements, located with the others
            if not self._whole_located:
                self._whole_located = True
                self.locate(tag)
                for inner in self.detach.inner:
                    name = self.q(inner)
                    self.locate_on_demand(inner, partial(_descendants, [self.root], name))
            return Detached(self, holder.findall(self.q(tag)), [], (b"", b"", 0))
        runs = [outline.runs[int(p.get("n"))] for p in holder.findall(_PLACEHOLDER)]
        if not runs:
            return Detached(self, [], [], (b"", b"", 0))
        depth = sum(1 for _ in holder.iterancestors()) + 1
        declared = "".join(
            f' xmlns{":" + k if k else ""}="{_attribute(v)}"' for k, v in holder.nsmap.items()
        )
        try:
            wrapper = (
                outline.head + f"<w{declared}>{'<w>' * (depth - 1)}".encode(self.encoding),
                b"</w>" * depth,
                depth,
            )
        except (LookupError, UnicodeError) as exc:
            raise DetachFailed(str(exc)) from None
        return Detached(self, None, runs, wrapper)

    def release(self) -> None:
        """Forget the detached slice read last (its elements can be freed)."""
        if self._slice_where:
            self._slice_where = {}
        self._pending = [p for p in self._pending if p[2] is None]
        self._deferred = [d for d in self._deferred if d[2] is None]

    def _read_detached(self, first: int, stop: int, wrapper: tuple[bytes, bytes, int]) -> list[Element]:
        """Detached elements ``first`` to ``stop`` (of one run), parsed from their bytes."""
        outline = self._outline
        assert outline is not None and self.detach is not None
        start, end = outline.starts[first], outline.ends[stop - 1]
        root = _parse_lxml(wrapper[0] + self.data[start:end] + wrapper[1])
        if root is None:
            raise DetachFailed(f"the bytes {start}-{end} do not parse on their own")
        for _ in range(wrapper[2] - 1):
            root = root[0]
        elements = list(root)
        if len(elements) != stop - first:
            raise DetachFailed(f"{len(elements)} elements in a slice of {stop - first}")
        starts = outline.starts[first:stop]
        lines = self._lines_at(starts)
        self._slice_where.update(zip(elements, zip(lines, starts, outline.ends[first:stop])))
        span = (start, end, lines[0])
        for inner in self.detach.inner:
            name = self.q(inner)
            self._deferred.append((inner, partial(_descendants, elements, name), span))
        return elements

    def line(self, el: Element) -> int | None:
        """1-based line of a located element's start tag, or None."""
        w = self._place(el)
        return w[0] if w else None

    def raw(self, el: Element) -> str:
        """The exact source text of a located element (start tag to end tag).

        An element that could not be located is serialised as ElementTree does
        (from an ElementTree parse when the tree is lxml's).
        """
        w = self._place(el)
        if w is None:
            return self._serialised(el)
        return self._source(el, w)

    def line_and_raw(self, el: Element) -> tuple[int | None, str]:
        """:meth:`line` and :meth:`raw` at once."""
        w = self._place(el)
        if w is None:
            return None, self._serialised(el)
        return w[0], self._source(el, w)

    def _count_lines(self, offsets: list[int], prev: int, line: int) -> list[int]:
        """The lines of ``offsets`` (ascending, none before ``prev``, which is on ``line``)."""
        count, newline = self.data.count, self._newline
        lines = []
        for off in offsets:
            line += count(newline, prev, off)
            prev = off
            lines.append(line)
        return lines

    def _lines_at(self, offsets: list[int]) -> list[int]:
        """The lines of ``offsets`` (ascending), counted from the last ones asked for."""
        prev, line = self._line_mark
        if offsets[0] < prev:
            prev, line = 0, 1
        lines = self._count_lines(offsets, prev, line)
        self._line_mark = (offsets[-1], lines[-1])
        return lines

    def lines_and_raws(self, elements: list[Element]) -> tuple[list[int | None], list[str]]:
        """:meth:`line` and :meth:`raw` of each of ``elements`` (one call for many)."""
        if self._pending:
            self._resolve()
        where, source = self._slice_where or self._where, self._source
        lines: list[int | None] = []
        raws: list[str] = []
        for el in elements:
            w = where.get(el)
            if w is None:
                line, raw = self.line_and_raw(el)
            else:
                line, raw = w[0], source(el, w)
            lines.append(line)
            raws.append(raw)
        return lines, raws

    def _serialised(self, el: Element) -> str:
        if self.detached_reads:  # the outline's paths are not the document's
            raise DetachFailed("an element could not be located")
        if self.is_lxml:
            el = self._elementtree_twin(el)
        return ET.tostring(el, encoding="unicode")

    def _elementtree_twin(self, el: Element) -> Element:
        # The lxml tree has no blank text nodes (indentation), which ElementTree keeps
        # and serialises: the same element of an ElementTree parse gives the same
        # text whichever tree the reader used.  Rare (UTF-8 documents whose tags the
        # byte scan could not match), so the second parse is paid only then.
        if self._twin_root is None:
            parser = ET.XMLParser()
            try:
                with gc_paused():
                    parser.feed(self.data)
                    self._twin_root = parser.close()
            except (ET.ParseError, ValueError, LookupError):  # never seen: lxml's own text then
                return ET.fromstring(lxml_etree.tostring(el))
        steps = []
        while (parent := el.getparent()) is not None:
            steps.append(parent.index(el))  # comments and PIs are gone: elements only
            el = parent
        twin = self._twin_root
        for i in reversed(steps):
            twin = twin[i]
        return twin

    def _source(self, el: Element, place: tuple[int, ...]) -> str:
        data = self.data
        start = place[1]
        if len(place) > 2:  # a detached element: where it ends is known
            end = place[2]
        elif (gt := data.find(b">", start)) > 0 and data[gt - 1] == 0x2F:  # "/>": empty
            end = gt + 1
        else:
            end_tag = self._end_tags.get(el.tag)
            if end_tag is None:
                name = self._prefix + local_name(el.tag)
                end_tag = self._end_tags[el.tag] = ("</" + name + ">").encode("ascii")
            end = data.find(end_tag, start)
            if end >= 0:
                end += len(end_tag)
            else:  # "</Ntry >": rare, worth a regex only then
                m = re.compile(re.escape(end_tag[:-1]) + rb"\s*>").search(data, start)
                end = m.end() if m else len(data)
        try:
            return data[start:end].decode(self.encoding, errors="replace")
        except LookupError:
            return data[start:end].decode("utf-8", errors="replace")


def _descendants(elements: list[Element], name: str) -> list[Element]:
    """The elements named ``name`` in each of ``elements`` (itself included), in order."""
    return [x for el in elements for x in el.iter(name)]


def _has(data: bytes, needle: bytes, start: int = 0) -> bool:
    """``needle in data[start:]`` for a needle such as ``<!--`` or ``<?``.

    bytes.find stops at every "<" of an XML file; looking for the needle's rarer
    second byte with memchr first answers the usual "no" in a few milliseconds.
    """
    mark = needle[1:2]
    i = data.find(mark, start + 1)
    while i >= 0:
        if data.startswith(needle, i - 1):
            return True
        i = data.find(mark, i + 1)
    return False


def _inside(offset: int, spans: list[tuple[int, int]]) -> bool:
    # spans are sorted and disjoint; a binary search keeps this cheap
    lo, hi = 0, len(spans)
    while lo < hi:
        mid = (lo + hi) // 2
        s, e = spans[mid]
        if offset < s:
            hi = mid
        elif offset >= e:
            lo = mid + 1
        else:
            return True
    return False


def have_lxml() -> bool:
    """True when lxml is installed (``parse_bytes(..., prefer_lxml=True)`` can use it)."""
    return lxml_etree is not None


#: Encodings both parsers read natively; others go to ElementTree, whose codecs
#: decide as before.
_LXML_ENCODINGS = frozenset({"utf-8", "us-ascii", "iso-8859-1"})
_ENCODING = re.compile(rb"""\sencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def _lxml_reads_as_expat(data: bytes) -> bool:
    # A document lxml decodes exactly as expat does: UTF-8 (with or without BOM),
    # ASCII or Latin-1 by its declaration.  UTF-16 and other codecs stay with expat.
    bom = data.startswith(b"\xef\xbb\xbf")
    head = data[3:1027] if bom else data[:1024]
    if not head.startswith(b"<") or head[1:2] == b"\x00":
        return False
    if not (head.startswith(b"<?xml") and head[5:6] in (b" ", b"\t", b"\r", b"\n")):
        return True  # no XML declaration: UTF-8 for both
    end = head.find(b"?>")
    if end < 0:
        return False  # a declaration this long is not worth deciding about
    m = _ENCODING.search(head, 0, end)
    if m is None:
        return True
    encoding = m.group(1).decode("ascii").lower()
    return encoding == "utf-8" if bom else encoding in _LXML_ENCODINGS


def _parse_lxml(data: bytes) -> Element | None:
    """The lxml tree of ``data``, or None when libxml2 refuses it (ElementTree decides)."""
    parser = lxml_etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,  # ElementTree drops them too, joining the text around
        remove_pis=True,
        remove_blank_text=True,  # half the nodes; see XmlDocument.raw
        collect_ids=False,
    )
    try:
        return lxml_etree.fromstring(data, parser)
    except (lxml_etree.LxmlError, ValueError):
        return None


def parse_bytes(
    data: bytes, file: str | Path, *, prefer_lxml: bool = False, detach: Detach | None = None
) -> XmlDocument:
    """Parse ``data`` safely into an :class:`XmlDocument`.

    Raises :class:`ImportFileError` (``file:line: ...``) for a DOCTYPE, entity
    declarations or external references, and :class:`XmlSyntaxError` for bytes
    that are not well-formed XML.  Call :meth:`XmlDocument.locate` for the
    elements whose line numbers you need.

    ``prefer_lxml``: build an lxml tree when lxml is installed and the document
    is UTF-8, ASCII or Latin-1 (about three times faster to build and to free).
    Whatever libxml2 refuses (bad XML, or past its limits: 256 levels, 10 MB of
    text in one node) is parsed again by ElementTree, so every error and every
    accepted document is exactly what ElementTree alone gives.

    ``detach`` (with ``prefer_lxml``): the elements named ``detach.tag`` (the
    entries of a statement) may be left out of the tree and read a slice at a time
    through :meth:`XmlDocument.detached`, whichever way the document was parsed.
    When their tags can be told from the bytes alone (see :func:`_cut`), the tree
    is the document's outline, without them: a 100,000-entry camt.053 is then
    never in memory at once (a few MiB of tree at a time instead of 600 MiB),
    which spares the page faults of building and freeing one big tree.  A slice that
    does not read as it would in the whole document raises :class:`DetachFailed`;
    the reader then parses again without ``detach``.
    """
    fname = str(file)
    root_name = _check_prolog(data, fname)
    prefix = root_name.rpartition(":")[0]
    prefix = prefix + ":" if prefix else ""
    if prefer_lxml and lxml_etree is not None and _lxml_reads_as_expat(data):
        encoding = _declared_encoding(data)
        if detach is not None and detach.cut and (cut := _cut(data, prefix, detach.tag)):
            outline_bytes, outline = cut
            tree = _parse_lxml(outline_bytes)
            if tree is not None and _outline_fits(tree, outline, prefix):
                return XmlDocument(tree, data, encoding, prefix, detach=detach, outline=outline)
        tree = _parse_lxml(data)
        if tree is not None:
            return XmlDocument(tree, data, encoding, prefix, detach=detach)
    parser = ET.XMLParser()
    try:
        with gc_paused():
            parser.feed(data)
            root = parser.close()
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else None
        msg = str(exc).split(": line")[0]
        raise XmlSyntaxError(line, f"not well-formed XML: {msg}") from None
    except (ValueError, LookupError) as exc:
        raise XmlSyntaxError(1, f"cannot read the XML encoding: {exc}") from None
    return XmlDocument(root, data, _declared_encoding(data), prefix, detach=detach)
