"""Hostile gadget specs: each is a SpecError, quickly, and leaks nothing.

CVE-2013-4295 was a gadget spec reading the server's files through an
external entity. The canary file below stands for such a file: its content
must appear neither in a parsed spec nor in an error message.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from gadgets.errors import SpecError
from gadgets.spec import parse_spec

URL = "http://evil.example.com/spec.xml"
CANARY = "CANARY-7f3e9c-do-not-leak"


@pytest.fixture
def canary(tmp_path: Path) -> str:
    path = tmp_path / "secret.txt"
    path.write_text(CANARY)
    return path.as_uri()


def module(content: str, doctype: str = "") -> bytes:
    return (
        f'<?xml version="1.0"?>\n{doctype}\n<Module><ModulePrefs title="t"/>'
        f'<Content type="html">{content}</Content></Module>'
    ).encode()


def hostile_documents(canary_uri: str) -> dict[str, bytes]:
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    return {
        "external entity": module(
            "&xxe;", f'<!DOCTYPE Module [<!ENTITY xxe SYSTEM "{canary_uri}">]>'
        ),
        "external entity in attribute": (
            f'<!DOCTYPE Module [<!ENTITY xxe SYSTEM "{canary_uri}">]>'
            '<Module><ModulePrefs title="&xxe;"/><Content/></Module>'
        ).encode(),
        "parameter entity": module(
            "x",
            f'<!DOCTYPE Module [<!ENTITY % p SYSTEM "{canary_uri}"> %p;]>',
        ),
        "external DTD": module("&x;", f'<!DOCTYPE Module SYSTEM "{canary_uri}">'),
        "public DTD": module(
            "&x;", f'<!DOCTYPE Module PUBLIC "-//evil//x" "{canary_uri}">'
        ),
        "billion laughs": module(
            "&l9;", f'<!DOCTYPE Module [<!ENTITY l0 "ha">{laughs}]>'
        ),
        "quadratic blowup": module(
            "&a;" * 20_000, f'<!DOCTYPE Module [<!ENTITY a "{"x" * 20_000}">]>'
        ),
        "entity declared in lower case doctype": module(
            "&e;", '<!DOCTYPE Module [<!ENTITY e "x">]>'
        ),
        "deep nesting": b"<Module>" + b"<a>" * 300_000 + b"</a>" * 300_000,
        "nesting past the depth limit": module("<a>" * 1000 + "</a>" * 1000),
        "oversized": module("x" * 600_000),
        "wrong declared encoding": b'<?xml version="1.0" encoding="UTF-16"?>'
        + module("x"),
        "unsupported encoding": b'<?xml version="1.0" encoding="x-evil"?><Module/>',
        "invalid utf-8": module("x").replace(b">x<", b">\xff\xfe<"),
        "junk": b"\x00\x01\x02 not xml at all",
        "empty": b"",
        "html page": b"<!DOCTYPE html><html><head><title>x</title></head>"
        b"<body><p>Not a spec<br></body></html>",
        "xhtml page": b"<html><body><p>Not a spec</p></body></html>",
        "json": b'{"Module": {"Content": "x"}}',
        "undefined entity": module("&nope;"),
    }


CASES = list(hostile_documents("file:///x"))


@pytest.mark.parametrize("case", CASES)
def test_hostile_spec_is_refused_quickly_without_leaking(
    case: str, canary: str
) -> None:
    document = hostile_documents(canary)[case]
    started = time.monotonic()
    with pytest.raises(SpecError) as caught:
        parse_spec(document, URL)
    elapsed = time.monotonic() - started
    assert elapsed < 1.0, f"{case} took {elapsed:.2f}s"
    assert CANARY not in caught.value.message
    assert caught.value.message.startswith(f"Gadget spec at {URL}: ")


def test_doctype_with_entities_is_named_in_the_error(canary: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(hostile_documents(canary)["external entity"], URL)
    assert "the DOCTYPE declares entities, which are not allowed (line 2)" in (
        caught.value.message
    )


def test_xinclude_is_inert_and_never_reads_the_file(canary: str) -> None:
    document = (
        b'<Module xmlns:xi="http://www.w3.org/2001/XInclude"><ModulePrefs/>'
        b'<Content><xi:include href="' + canary.encode() + b'" parse="text"/>'
        b"</Content></Module>"
    )
    spec = parse_spec(document, URL)
    assert CANARY not in repr(spec)


def test_utf16_document_declaring_entities_is_refused(canary: str) -> None:
    document = (
        f'<!DOCTYPE Module [<!ENTITY xxe SYSTEM "{canary}">]>'
        "<Module><ModulePrefs/><Content>&xxe;</Content></Module>"
    ).encode("utf-16")
    with pytest.raises(SpecError) as caught:
        parse_spec(document, URL)
    assert "declares entities" in caught.value.message


def test_300000_nested_elements_hit_the_depth_limit_not_just_the_size_cap(
    settings: Any,
) -> None:
    settings.GADGETS = {**settings.GADGETS, "SPEC_MAX_BYTES": 8 * 1024 * 1024}
    document = module("<a>" * 300_000 + "</a>" * 300_000)
    started = time.monotonic()
    with pytest.raises(SpecError) as caught:
        parse_spec(document, URL)
    assert time.monotonic() - started < 1.0
    assert "Excessive depth" in caught.value.message


def test_wrong_declared_encoding_names_the_declared_encoding() -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(hostile_documents("file:///x")["wrong declared encoding"], URL)
    assert "(the document declares the encoding UTF-16)" in caught.value.message
