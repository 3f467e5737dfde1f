"""A gadget in the preview page, end to end, in headless Chromium.

The showcase gadget (tests/gadgets/showcase.xml) is served by the local
gadget host and rendered by the real app under uvicorn; the browser loads
/preview on the container origin. Everything a gadget relies on is in play:
the locked host, the feature JavaScript, makeRequest through the guarded
client, and gadgets.rpc between the gadget frame and the container page.

``UPDATE_SCREENSHOTS=1`` rewrites docs/screenshots/preview.png.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from tests.live import ROOT, BrowserPage, GadgetHost, LiveApp

pytestmark = pytest.mark.browser

# The docs' screenshot is rewritten only when asked, so an ordinary test
# run leaves the committed image alone.
SCREENSHOT = ROOT / "docs" / "screenshots" / "preview.png"
UPDATE_SCREENSHOTS = os.environ.get("UPDATE_SCREENSHOTS") == "1"
IFRAME = "#remote_iframe_0"


def open_preview(
    browser_page: BrowserPage, live_app: LiveApp, spec_url: str, **params: str
) -> Any:
    query = urlencode({"url": spec_url, "nocache": "1", **params})
    browser_page.page.goto(live_app.url(f"preview?{query}"))
    return browser_page.page.frame_locator(IFRAME)


def gadget_frame(page: Any) -> Any:
    frame = page.frame(name="remote_iframe_0")
    assert frame is not None, "the gadget iframe is not on the page"
    return frame


def iframe_height(page: Any) -> int:
    return int(page.eval_on_selector(IFRAME, "frame => frame.offsetHeight"))


def wait_for_data(browser_page: BrowserPage, live_app: LiveApp) -> None:
    """Wait until the gadget shows its fetched data; explain a timeout."""
    data = browser_page.page.frame_locator(IFRAME).locator("#data")
    try:
        expect(data).to_have_text("Fetched from the gadget host", timeout=15_000)
    except AssertionError as error:
        raise AssertionError(
            f"{error}\nconsole: {browser_page.console}\n"
            f"page errors: {browser_page.errors}\n"
            f"server log:\n{live_app.log_tail()}"
        ) from None


def test_gadget_runs_on_its_locked_origin_and_shows_fetched_data(
    browser_page: BrowserPage, live_app: LiveApp, gadget_host: GadgetHost
) -> None:
    spec_url = gadget_host.url("showcase.xml")
    gadget = open_preview(browser_page, live_app, spec_url)
    page = browser_page.page

    wait_for_data(browser_page, live_app)
    origin = gadget_frame(page).evaluate("location.origin")
    assert origin == live_app.gadget_origin(spec_url)
    assert origin != live_app.container_origin
    assert page.evaluate("location.origin") == live_app.container_origin
    expect(gadget.locator("#greeting")).to_have_text("Hello, World!")
    expect(gadget.locator("#colour")).to_have_text("blue")
    expect(gadget.locator("#view-name")).to_have_text("default")


def test_title_bar_shows_the_title_the_gadget_set(
    browser_page: BrowserPage, live_app: LiveApp, gadget_host: GadgetHost
) -> None:
    open_preview(browser_page, live_app, gadget_host.url("showcase.xml"))
    wait_for_data(browser_page, live_app)

    expect(browser_page.page.locator("#remote_iframe_0_title")).to_have_text(
        "Showcase for World"
    )


def test_iframe_grows_to_the_content_after_adjust_height(
    browser_page: BrowserPage,
    live_app: LiveApp,
    gadget_host: GadgetHost,
    tmp_path: Path,
) -> None:
    open_preview(browser_page, live_app, gadget_host.url("showcase.xml"))
    page = browser_page.page

    # The spec asks for 120 px; the gadget then adds 320 px and calls
    # adjustHeight once its data is in.
    assert page.get_attribute(IFRAME, "height") == "120"
    wait_for_data(browser_page, live_app)
    page.wait_for_function(
        "document.querySelector('#remote_iframe_0').offsetHeight > 400"
    )
    content_height = gadget_frame(page).evaluate(
        "document.documentElement.scrollHeight"
    )
    assert abs(iframe_height(page) - content_height) <= 20
    path = SCREENSHOT if UPDATE_SCREENSHOTS else tmp_path / SCREENSHOT.name
    page.screenshot(path=str(path), full_page=True)


def test_changing_a_pref_rerenders_the_gadget_with_the_new_value(
    browser_page: BrowserPage, live_app: LiveApp, gadget_host: GadgetHost
) -> None:
    open_preview(browser_page, live_app, gadget_host.url("showcase.xml"))
    page = browser_page.page

    page.fill("input[name=up_name]", "Ada")
    page.select_option("select[name=up_colour]", "green")
    page.click("#prefs-form button[type=submit]")

    page.wait_for_url(re.compile(r"up_name=Ada"))
    gadget = page.frame_locator(IFRAME)
    expect(gadget.locator("#greeting")).to_have_text("Hello, Ada!")
    expect(gadget.locator("#colour")).to_have_text("green")
    expect(page.locator("#remote_iframe_0_title")).to_have_text("Showcase for Ada")


def test_set_pref_from_the_gadget_updates_the_form(
    browser_page: BrowserPage, live_app: LiveApp, gadget_host: GadgetHost
) -> None:
    gadget = open_preview(browser_page, live_app, gadget_host.url("showcase.xml"))
    page = browser_page.page
    wait_for_data(browser_page, live_app)

    gadget.locator("#remember").click()

    expect(page.locator("input[name=up_name]")).to_have_value("Grace")
    page.click("#prefs-form button[type=submit]")
    expect(page.frame_locator(IFRAME).locator("#greeting")).to_have_text(
        "Hello, Grace!"
    )


def test_request_navigate_to_switches_to_canvas_and_back(
    browser_page: BrowserPage, live_app: LiveApp, gadget_host: GadgetHost
) -> None:
    gadget = open_preview(browser_page, live_app, gadget_host.url("showcase.xml"))
    page = browser_page.page
    wait_for_data(browser_page, live_app)

    gadget.locator("#to-canvas").click()

    page.wait_for_url(re.compile(r"view=canvas"))
    canvas = page.frame_locator(IFRAME)
    expect(canvas.locator("#view-name")).to_have_text("canvas")
    expect(canvas.locator("#canvas-heading")).to_have_text("The big picture")
    expect(canvas.locator("#from")).to_have_text("default")
    expect(page.locator(".views a[aria-current=page]")).to_have_text("canvas")

    canvas.locator("#to-default").click()

    page.wait_for_url(re.compile(r"view=default"))
    expect(page.frame_locator(IFRAME).locator("#view-name")).to_have_text("default")


def test_view_switcher_keeps_prefs_the_gadget_set(
    browser_page: BrowserPage, live_app: LiveApp, gadget_host: GadgetHost
) -> None:
    gadget = open_preview(browser_page, live_app, gadget_host.url("showcase.xml"))
    page = browser_page.page
    wait_for_data(browser_page, live_app)
    gadget.locator("#remember").click()
    expect(page.locator("input[name=up_name]")).to_have_value("Grace")

    page.click(".views a[data-view=canvas]")

    page.wait_for_url(
        re.compile(r"view=canvas.*up_name=Grace|up_name=Grace.*view=canvas")
    )
    expect(page.frame_locator(IFRAME).locator("#view-name")).to_have_text("canvas")


def test_broken_spec_url_is_a_sentence_on_the_page(
    browser_page: BrowserPage, live_app: LiveApp, gadget_host: GadgetHost
) -> None:
    open_preview(browser_page, live_app, gadget_host.url("no-such-gadget.xml"))

    error = browser_page.page.locator("#preview-error")
    expect(error).to_contain_text("no-such-gadget.xml")
    assert browser_page.page.locator("iframe").count() == 0


def test_bundled_demo_gadget_previews_on_its_own_origin(
    browser_page: BrowserPage, live_app: LiveApp
) -> None:
    spec_url = live_app.url("static/gadgets/hello.xml")
    gadget = open_preview(browser_page, live_app, spec_url)
    page = browser_page.page

    expect(gadget.locator("h2")).to_have_text("Hello, world!")
    expect(page.locator("#remote_iframe_0_title")).to_have_text("Hello, world")
    origin = gadget_frame(page).evaluate("location.origin")
    assert origin == live_app.gadget_origin(spec_url)
