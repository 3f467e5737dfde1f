"""The one place the project turns untrusted bytes into an XML tree.

Gadget specs and message bundles are written by strangers, so every XML
document the server reads goes through ``parse_xml``. CVE-2013-4295 let a
gadget spec read the renderer's files through an external entity; Java
Shindig had been hardened years earlier, the PHP port had not. One factory
and one test that greps for any other parser keep that from recurring here.

What the parser refuses, and why:

* documents over ``max_bytes`` -- checked before libxml2 sees a byte;
* any DOCTYPE with an internal subset that declares entities, and any
  DOCTYPE naming an external DTD -- specs never need them, and they are the
  road to file disclosure, billion laughs and quadratic blowup;
* trees deeper than libxml2's default limit (``huge_tree`` stays off);
* a declared encoding the bytes do not match, or one libxml2 lacks.

A bare ``<!DOCTYPE Module>`` is tolerated, as Shindig tolerates it. For
example::

    >>> parse_xml(b"<Module/>", what="Gadget spec", max_bytes=100).tag
    'Module'
    >>> parse_xml(b"<Module>", what="Gadget spec", max_bytes=100)
    Traceback (most recent call last):
    ...
    gadgets.errors.SpecError: Gadget spec: not well-formed XML: ... (line 1)
"""

from __future__ import annotations

import re

from lxml import etree

from .errors import SpecError

_UTF8_BOM = b"\xef\xbb\xbf"
# Shindig strips this spelled-out byte order mark; some spec editors wrote it.
_BOM_ENTITY = re.compile(rb"^\s*&#[xX]0*[fF][eE][fF][fF];")
_LXML_POSITION = re.compile(r",? line \d+, column \d+.*$", re.DOTALL)
# The prolog of an ASCII-compatible document: declaration, comments, PIs,
# whitespace, then perhaps a DOCTYPE. Checked before parsing so a hostile
# DTD is refused without libxml2 ever expanding or fetching anything.
_PROLOG_ITEM = re.compile(rb"\s+|<\?.*?\?>|<!--.*?-->", re.DOTALL)
_DOCTYPE = re.compile(rb"<!DOCTYPE\b")
_ENCODING_DECLARATION = re.compile(
    rb"<\?xml[^>]*?\sencoding\s*=\s*[\"']([A-Za-z0-9._:-]{1,40})[\"']"
)


def _parser(*, force_utf8: bool) -> etree.XMLParser:
    return etree.XMLParser(
        encoding="utf-8" if force_utf8 else None,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )


def parse_xml(data: bytes | str, *, what: str, max_bytes: int) -> etree._Element:
    """Parse ``data`` safely and return its root element.

    ``what`` names the document in error messages ("Gadget spec at ...").
    A ``str`` is taken as already decoded: its declared encoding is ignored.
    """
    force_utf8 = isinstance(data, str)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise SpecError(
            f"{what}: the document is {len(raw)} bytes, over the limit of "
            f"{max_bytes} bytes"
        )
    raw = _strip_bom(raw)
    if not raw.strip():
        raise SpecError(f"{what}: the document is empty")
    _refuse_hostile_doctype(_prolog_text(raw), what)
    root = _parse(raw, what, force_utf8=force_utf8)
    _check_tree(root, what)
    return root


def _strip_bom(raw: bytes) -> bytes:
    if raw.startswith(_UTF8_BOM):
        raw = raw[len(_UTF8_BOM) :]
    match = _BOM_ENTITY.match(raw)
    return raw[match.end() :] if match else raw


def _prolog_text(raw: bytes) -> bytes:
    """The document's opening bytes, as ASCII-compatible bytes."""
    head = raw[:4096]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head[:4]:
        # UTF-16 or UTF-32: re-encode the start so the scan below sees ASCII.
        for codec in ("utf-16", "utf-32", "utf-16-le", "utf-16-be"):
            try:
                return raw[:65536].decode(codec).encode("utf-8", "replace")
            except UnicodeDecodeError:
                continue
    return raw


def _refuse_hostile_doctype(raw: bytes, what: str) -> None:
    position = 0
    while match := _PROLOG_ITEM.match(raw, position):
        position = match.end()
    if not _DOCTYPE.match(raw, position):
        return
    end = _doctype_end(raw, position)
    doctype = raw[position:end]
    if b"<!ENTITY" in doctype:
        raise SpecError(
            f"{what}: the DOCTYPE declares entities, which are not allowed "
            f"(line {_line_of(raw, position)})"
        )
    if re.search(rb"\b(SYSTEM|PUBLIC)\b", doctype):
        raise SpecError(
            f"{what}: the DOCTYPE refers to an external DTD, which is not "
            f"allowed; remove the DOCTYPE (line {_line_of(raw, position)})"
        )


def _doctype_end(raw: bytes, start: int) -> int:
    """Where the DOCTYPE ends, skipping a bracketed internal subset."""
    bracket = raw.find(b"[", start)
    close = raw.find(b">", start)
    if close == -1:
        return len(raw)
    if bracket != -1 and bracket < close:
        subset_end = raw.find(b"]", bracket)
        if subset_end == -1:
            return len(raw)
        close = raw.find(b">", subset_end)
    return len(raw) if close == -1 else close + 1


def _line_of(raw: bytes, position: int) -> int:
    return raw.count(b"\n", 0, position) + 1


def _parse(raw: bytes, what: str, *, force_utf8: bool) -> etree._Element:
    try:
        return etree.fromstring(raw, _parser(force_utf8=force_utf8))
    except etree.XMLSyntaxError as error:
        problem = _LXML_POSITION.sub("", str(error.msg or error)).strip()
        problem = problem.replace(", use XML_PARSE_HUGE option", "")
        line = error.lineno or 1
        if "encoding" in problem.lower() or "bytes in character" in problem:
            raise SpecError(
                f"{what}: the bytes do not match the declared encoding, or it is "
                f"not supported: {problem} (line {line})"
            ) from None
        declared = _declared_encoding(raw)
        if line == 1 and declared and declared.lower() not in ("utf-8", "utf8"):
            problem += f" (the document declares the encoding {declared})"
        raise SpecError(
            f"{what}: not well-formed XML: {problem} (line {line})"
        ) from None
    except (etree.LxmlError, ValueError, LookupError) as error:
        raise SpecError(f"{what}: the document could not be read: {error}") from None


def _declared_encoding(raw: bytes) -> str:
    match = _ENCODING_DECLARATION.match(raw)
    return match.group(1).decode("ascii") if match else ""


def _check_tree(root: etree._Element, what: str) -> None:
    """Second line of defence, for encodings the prolog scan cannot read."""
    docinfo = root.getroottree().docinfo
    dtd = docinfo.internalDTD
    entities = dtd.iterentities() if dtd is not None else ()  # type: ignore[attr-defined]
    if any(True for _ in entities):
        raise SpecError(f"{what}: the DOCTYPE declares entities, which are not allowed")
    if docinfo.system_url or docinfo.public_id:  # type: ignore[attr-defined]
        raise SpecError(
            f"{what}: the DOCTYPE refers to an external DTD, which is not allowed"
        )
    for entity in root.iter(etree.Entity):
        raise SpecError(
            f"{what}: undefined entity reference {entity.text} "
            f"(line {entity.sourceline})"
        )
