"""A rendered page in headless Chromium: preloads, messages, onload order.

The app runs under uvicorn (tests/live.py); the iframe URL comes from the
``issue_security_token`` command, as a script would get it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.live import (  # noqa: F401 - fixtures
    BrowserPage,
    GadgetHost,
    LiveApp,
    browser_page,
    chromium,
    gadget_host,
    live_app,
)

pytestmark = pytest.mark.browser

HOSTILE = "</script><script>window.pwned = 1;</script>"

SPEC = """<?xml version="1.0" encoding="UTF-8"?>
<Module>
  <ModulePrefs title="Preloads">
    <Preload href="{data}"/>
    <Locale><msg name="evil">{evil}</msg></Locale>
  </ModulePrefs>
  <UserPref name="who" default_value="World"/>
  <Content type="html"><![CDATA[
    <p id="out">waiting</p>
    <script>
      window.order = ['inline'];
      gadgets.util.registerOnLoadHandler(function () {{
        window.order.push('onload');
        var prefs = new gadgets.Prefs();
        window.evil = prefs.getMsg('evil');
        window.who = prefs.getString('who');
        gadgets.io.makeRequest('{data}', function (r) {{
          document.getElementById('out').textContent = r.data.answer;
        }}, {{'CONTENT_TYPE': 'JSON'}});
      }});
    </script>
  ]]></Content>
</Module>
"""


def test_preload_answers_makerequest_and_messages_cannot_break_out(
    live_app: LiveApp,  # noqa: F811
    gadget_host: GadgetHost,  # noqa: F811
    browser_page: BrowserPage,  # noqa: F811
) -> None:
    data = gadget_host.add_json("render-browser/data.json", {"answer": 42})
    evil = HOSTILE.replace("<", "&lt;").replace(">", "&gt;")
    spec = gadget_host.add(
        "render-browser/spec.xml", SPEC.format(data=data, evil=evil), "text/xml"
    )
    issued: dict[str, Any] = json.loads(
        live_app.manage(
            "issue_security_token", "--owner", "ann", "--viewer", "ann",
            "--gadget", spec, "--module-id", "1",
        )
    )  # fmt: skip

    page = browser_page.page
    page.goto(issued["iframe_url"])
    page.wait_for_function("document.getElementById('out').textContent === '42'")

    assert page.evaluate("window.order") == ["inline", "onload"]
    assert page.evaluate("window.evil") == HOSTILE
    assert page.evaluate("window.who") == "World"
    assert page.evaluate("window.pwned") is None
    assert page.evaluate("document.title") == "Preloads"
    # Fetched once, on the server, for the preload; the gadget's own
    # makeRequest was answered from gadgets.io.preloaded_.
    assert gadget_host.hits["/render-browser/data.json"] == 1
    assert browser_page.errors == []
