"""The hardened XML parser: encodings, BOMs, limits, and its uniqueness."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from gadgets.errors import SpecError
from gadgets.xml import parse_xml

REPO = Path(__file__).resolve().parents[2]
PARSER_CONSTRUCTION = re.compile(
    r"XMLParser\(|etree\.fromstring\(|etree\.parse\(|etree\.XML\(|"
    r"etree\.iterparse\(|etree\.XMLPullParser\(|"
    r"(from|import)\s+(xml\.(dom|sax|etree)|defusedxml)"
)


def parse(data: bytes | str, max_bytes: int = 10_000) -> etree._Element:
    return parse_xml(data, what="Test doc", max_bytes=max_bytes)


def test_no_other_module_constructs_an_xml_parser() -> None:
    offenders = []
    for app in ("container", "gadgets", "oauthproxy", "sandbox"):
        for path in (REPO / app).rglob("*.py"):
            if path == REPO / "gadgets" / "xml.py" or "tests" in path.parts:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if PARSER_CONSTRUCTION.search(line):
                    offenders.append(f"{path.relative_to(REPO)}:{number}: {line}")
    assert offenders == [], "parse XML only through gadgets.xml.parse_xml"


def test_declared_latin1_encoding_is_honoured() -> None:
    data = '<?xml version="1.0" encoding="ISO-8859-1"?><a>é</a>'.encode("latin-1")
    assert parse(data).text == "é"


def test_utf16_with_bom_is_read() -> None:
    assert parse("<a>ü</a>".encode("utf-16")).text == "ü"


def test_text_input_ignores_its_declared_encoding() -> None:
    assert parse('<?xml version="1.0" encoding="ISO-8859-1"?><a>é</a>').text == "é"


def test_utf8_bom_and_bom_entity_are_stripped() -> None:
    assert parse(b"\xef\xbb\xbf<a/>").tag == "a"
    assert parse(b"&#xFEFF;<a/>").tag == "a"
    assert parse(b"  &#xfeff;\n<a/>").tag == "a"


def test_bare_doctype_is_tolerated() -> None:
    assert parse(b"<!DOCTYPE a>\n<a/>").tag == "a"


def test_comments_and_processing_instructions_are_dropped() -> None:
    root = parse(b"<a>x<!-- hidden -->y<?pi z?></a>")
    assert root.text == "xy"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "Test doc: the document is empty"),
        (b"   \n", "Test doc: the document is empty"),
        (b"<a>", "Test doc: not well-formed XML: "),
        (
            b'<?xml version="1.0" encoding="klingon"?><a/>',
            "Test doc: the bytes do not match the declared encoding, or it is not "
            "supported: Unsupported encoding: klingon (line 1)",
        ),
        (b"<a>\n\xff</a>", "the bytes do not match the declared encoding"),
        (b"<a>\n<b></a>", "(line 2)"),
    ],
)
def test_bad_documents_are_spec_errors(data: bytes, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse(data)
    assert message in caught.value.message


def test_size_is_checked_before_parsing() -> None:
    with pytest.raises(SpecError) as caught:
        parse(b"<a>" + b"x" * 100 + b"</a>", max_bytes=50)
    assert caught.value.message == (
        "Test doc: the document is 107 bytes, over the limit of 50 bytes"
    )
