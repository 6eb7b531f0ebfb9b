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
camt.053 in ~10 s.  Here the C parser builds the tree (~1 s) and a byte scan
finds the start tag of each element the reader asks for ("Ntry", "TxDtls",
"STMTTRN", ...), which gives its exact line and source text.  Matching the
k-th start tag in the bytes with the k-th element of the tree is exact for
well-formed XML (a ``<`` outside markup, comments, CDATA and processing
instructions always starts a tag); comments and CDATA are masked first, and
if the counts ever disagree the lines are left unknown rather than guessed.

This module must not import anything from ``ledger``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.parsers import expat

from defusedxml.common import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from imports.limits import gc_paused
from imports.model import ImportFileError

__all__ = ["XmlDocument", "XmlSyntaxError", "gc_paused", "local_name", "parse_bytes"]



class XmlSyntaxError(Exception):
    """The bytes are not well-formed XML (readers report it as a diagnostic)."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class _PrologDone(Exception):
    """Internal: the root element was reached, the prolog is clean."""


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


class XmlDocument:
    """A parsed document: the ElementTree root, its namespace, lines and raw text of tags asked for."""

    def __init__(self, root: ET.Element, data: bytes, encoding: str, prefix: str) -> None:
        self.root = root
        self.data = data
        self.encoding = encoding
        self._prefix = prefix  # "camt:" when the root is written <camt:Document>
        tag = root.tag
        self.namespace = tag[1 : tag.index("}")] if tag.startswith("{") else ""
        self._q = "{" + self.namespace + "}" if self.namespace else ""
        self._where: dict[ET.Element, tuple[int, int]] = {}
        self._pending: list[tuple[int, ET.Element]] = []
        self._masked: list[tuple[int, int]] | None = None
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

    def locate(self, tag: str, elements: list[ET.Element] | None = None) -> None:
        """Record the line and byte offset of every element named ``tag`` (a local name).

        ``elements`` must be all of them in document order; readers that already
        collected them pass the list (cheaper than walking the whole tree again).
        """
        if not self._ascii_compatible:
            return  # byte offsets cannot be matched in UTF-16/32 documents
        if elements is None:
            elements = list(self.root.iter(self.q(tag)))
        if not elements:
            return
        data = self.data
        if self._masked is None:
            self._masked = []
            if b"<!--" in data or b"<![CDATA[" in data or data.count(b"<?") > 1:
                self._masked = [m.span() for m in _MASK.finditer(data)]
        offsets = self._start_offsets(tag, self._masked)
        if len(offsets) != len(elements):
            return  # never guess: leave these lines unknown
        self._pending.extend(zip(offsets, elements))

    def _resolve(self) -> None:
        # Line numbers are counted once for every located element, in byte order.
        found = self._pending
        found.extend((off, el) for el, (_, off) in self._where.items())
        found.sort(key=lambda pair: pair[0])
        data = self.data
        newline = b"\n" if b"\n" in data else b"\r"
        line, prev = 1, 0
        where = self._where
        for off, el in found:
            line += data.count(newline, prev, off)
            prev = off
            where[el] = (line, off)
        self._pending = []

    def _start_offsets(self, tag: str, masked: list[tuple[int, int]]) -> list[int]:
        data = self.data
        needle = ("<" + self._prefix + tag).encode("ascii")
        n = len(needle)
        out: list[int] = []
        i = data.find(needle)
        while i >= 0:
            if data[i + n : i + n + 1] in (b">", b" ", b"/", b"\t", b"\n", b"\r"):
                out.append(i)
            i = data.find(needle, i + n)
        if masked and out:
            out = [o for o in out if not _inside(o, masked)]
        return out

    def line(self, el: ET.Element) -> int | None:
        """1-based line of a located element's start tag, or None."""
        if self._pending:
            self._resolve()
        w = self._where.get(el)
        return w[0] if w else None

    def raw(self, el: ET.Element) -> str:
        """The exact source text of a located element (start tag to end tag)."""
        if self._pending:
            self._resolve()
        w = self._where.get(el)
        if w is None:
            return ET.tostring(el, encoding="unicode")
        start = w[1]
        data = self.data
        gt = data.find(b">", start)
        if gt > 0 and data[gt - 1 : gt] == b"/":
            end = gt + 1
        else:
            name = (self._prefix + local_name(el.tag)).encode("ascii")
            end = data.find(b"</" + name + b">", start)
            if end >= 0:
                end += len(name) + 3
            else:  # "</Ntry >": rare, worth a regex only then
                m = re.compile(b"</" + re.escape(name) + rb"\s*>").search(data, start)
                end = m.end() if m else len(data)
        try:
            return data[start:end].decode(self.encoding, errors="replace")
        except LookupError:
            return data[start:end].decode("utf-8", errors="replace")


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


def parse_bytes(data: bytes, file: str | Path) -> XmlDocument:
    """Parse ``data`` safely into an :class:`XmlDocument`.

    Raises :class:`ImportFileError` (``file:line: ...``) for a DOCTYPE, entity
    declarations or external references, and :class:`XmlSyntaxError` for bytes
    that are not well-formed XML.  Call :meth:`XmlDocument.locate` for the
    elements whose line numbers you need.
    """
    fname = str(file)
    root_name = _check_prolog(data, fname)
    prefix = root_name.rpartition(":")[0]
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
    return XmlDocument(root, data, _declared_encoding(data), prefix + ":" if prefix else "")
