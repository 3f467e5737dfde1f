"""Small builders shared by the rendering, iframe URL and metadata tests."""

from __future__ import annotations

import re
from typing import Any

import pytest

from gadgets import specfetch
from gadgets.locked_domain import locked_host
from gadgets.spec import parse_spec
from gadgets.spec_model import Spec

SPEC_URL = "http://gadgets.example.com/hello.xml"
HELLO_BODY = '<Content type="html"><![CDATA[<p id="hi">Hello</p>]]></Content>'


def spec_xml(
    content: str = HELLO_BODY,
    *,
    module_prefs: str = "",
    title: str = "Hello",
    user_prefs: str = "",
    module_attrs: str = "",
) -> str:
    """A spec with the given pieces; every other part is the minimum."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Module {module_attrs}>'
        f'<ModulePrefs title="{title}">{module_prefs}</ModulePrefs>'
        f"{user_prefs}{content}</Module>"
    )


def spec_of(xml: str, url: str = SPEC_URL) -> Spec:
    return parse_spec(xml, url)


def host_for(url: str = SPEC_URL) -> str:
    return locked_host(url)


def use_spec(monkeypatch: pytest.MonkeyPatch, xml: str, url: str = SPEC_URL) -> Spec:
    """Make ``specfetch.get_spec`` answer with this spec, no DB or network."""
    spec = spec_of(xml, url)
    seen: list[tuple[str, bool]] = []

    async def get_spec(asked: str, *, nocache: bool = False) -> Spec:
        seen.append((asked, nocache))
        return spec

    monkeypatch.setattr(specfetch, "get_spec", get_spec)
    monkeypatch.setattr(specfetch, "get_spec_calls", seen, raising=False)
    return spec


def script_json_of(html: str, call: str) -> Any:
    """The JSON argument of ``call(`` in the page, parsed."""
    import json

    match = re.search(re.escape(call) + r"\((.*?)\);", html, re.DOTALL)
    assert match, f"{call} not found in page"
    return json.loads(match.group(1))
