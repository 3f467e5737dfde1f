"""The other sample gadgets of static/gadgets/, in Chromium against the app.

Each spec is served by the local gadget host with its sandbox URLs pointed
at this app's port (tests/live.py), exactly as a gadget developer would
host a copy: signed fetch verified by the sandbox's echo endpoint, a feed
read through contentType FEED, and a note kept in user prefs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.test_oauth_contacts import SPEC_SANDBOX, add_gadget, sign_up
from tests.live import ROOT, BrowserPage, GadgetHost, LiveApp, run_app

pytestmark = pytest.mark.browser

SAMPLES = ("signed-fetch.xml", "feed-reader.xml", "prefs-views.xml")


@pytest.fixture(autouse=True)
def _patient_expect() -> Iterator[None]:
    expect.set_options(timeout=20_000)
    yield
    expect.set_options(timeout=5_000)


@pytest.fixture(scope="module")
def samples(
    gadget_host: GadgetHost, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveApp, dict[str, str]]]:
    var_dir = tmp_path_factory.mktemp("samples-app")
    allowlist = [f"127.0.0.1:{gadget_host.port}"]
    with run_app(var_dir, allowlist, allow_sandbox=True) as app:
        urls = {}
        for name in SAMPLES:
            spec = (ROOT / "static" / "gadgets" / name).read_text()
            spec = spec.replace(SPEC_SANDBOX, app.sandbox_origin)
            urls[name] = gadget_host.add(f"samples/{name}", spec, "application/xml")
        _register_signed_fetch(app, var_dir, urls["signed-fetch.xml"])
        yield app, urls


def _register_signed_fetch(app: LiveApp, var_dir: Path, spec_url: str) -> None:
    consumer = {"key": "e2e-signed", "secret": "e2e-signed-shared-secret"}
    app.manage("seed_sandbox", "--consumers-json", json.dumps([consumer]))
    entry = {"consumer_key": "e2e-signed", "consumer_secret": consumer["secret"]}
    (var_dir / "oauth.json").write_text(json.dumps({spec_url: {"": entry}}))
    app.manage("import_oauth_config", str(var_dir / "oauth.json"))


def test_signed_fetch_shows_the_owner_and_viewer_the_provider_verified(
    browser_page: BrowserPage, samples: tuple[LiveApp, dict[str, str]]
) -> None:
    app, urls = samples
    page = browser_page.page
    page.set_default_timeout(20_000)
    sign_up(page, app, "hank")

    frame = add_gadget(page, app, urls["signed-fetch.xml"])

    expect(frame.locator("#status")).to_have_text(
        "The sandbox checked the signature and read:"
    )
    expect(frame.locator("#owner")).to_have_text("hank")
    expect(frame.locator("#viewer")).to_have_text("hank")
    expect(frame.locator("#consumer")).to_have_text("e2e-signed with HMAC-SHA1")


def test_the_feed_reader_lists_the_sandbox_news(
    browser_page: BrowserPage, samples: tuple[LiveApp, dict[str, str]]
) -> None:
    app, urls = samples
    page = browser_page.page
    page.set_default_timeout(20_000)
    sign_up(page, app, "iris")

    frame = add_gadget(page, app, urls["feed-reader.xml"])

    expect(frame.locator("#feed li").first).to_contain_text("New consumer: e2e-signed")
    expect(page.locator("#remote_iframe_1_title")).to_have_text("Sandbox news")


def test_the_note_gadget_keeps_its_text_in_user_prefs(
    browser_page: BrowserPage, samples: tuple[LiveApp, dict[str, str]]
) -> None:
    app, urls = samples
    page = browser_page.page
    page.set_default_timeout(20_000)
    sign_up(page, app, "jack")
    frame = add_gadget(page, app, urls["prefs-views.xml"])
    expect(frame.locator("#note")).to_have_text("Write something here.")

    frame.locator("#edit").click()
    frame.locator("#text").fill("Buy milk")
    with page.expect_response(lambda r: r.url.endswith("/prefs")) as saved:
        frame.locator("button[type=submit]").click()
    assert saved.value.status == 200
    page.reload()

    expect(page.frame_locator("#remote_iframe_1").locator("#note")).to_have_text(
        "Buy milk"
    )
    assert browser_page.errors == []
