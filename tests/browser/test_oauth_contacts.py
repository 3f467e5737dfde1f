"""The OAuth dance end to end: container, gadget, proxy and sandbox provider.

Everything is real: the app under uvicorn (tests/live.py) serves the
container, the gadget hosts and the sandbox provider; the proxy reaches the
sandbox over HTTP; headless Chromium clicks through as a person would.
The gadget is ``static/gadgets/contacts.xml`` itself, served by the local
gadget host with its sandbox URLs pointed at this app's port.

Personas: carol and dave are container users; ada is carol's account at
the provider.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.live import ROOT, BrowserPage, GadgetHost, LiveApp, run_app

pytestmark = pytest.mark.browser

PASSWORD = "a-long-pass-phrase-42"
SPEC_SANDBOX = "http://provider.localhost:8000"
CONSUMER_KEY = "e2e-contacts"
CONSUMER_SECRET = "e2e-contacts-shared-secret"


@pytest.fixture(autouse=True)
def _patient_expect() -> Iterator[None]:
    expect.set_options(timeout=20_000)
    yield
    expect.set_options(timeout=5_000)


@pytest.fixture(scope="module")
def oauth_app(
    gadget_host: GadgetHost, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveApp, str]]:
    """The app with the sandbox reachable, the contacts gadget served and
    its consumer key known at both ends; yields the app and the spec URL."""
    var_dir = tmp_path_factory.mktemp("oauth-app")
    allowlist = [f"127.0.0.1:{gadget_host.port}"]
    with run_app(var_dir, allowlist, allow_sandbox=True) as app:
        spec = (ROOT / "static" / "gadgets" / "contacts.xml").read_text()
        spec_url = gadget_host.add(
            "contacts.xml",
            spec.replace(SPEC_SANDBOX, app.sandbox_origin),
            "application/xml",
        )
        _register(app, var_dir, spec_url)
        yield app, spec_url


def _register(app: LiveApp, var_dir: Path, spec_url: str) -> None:
    consumer = {
        "key": CONSUMER_KEY,
        "secret": CONSUMER_SECRET,
        "display_name": "Contacts gadget",
        "container_name": "the test container",
    }
    app.manage("seed_sandbox", "--consumers-json", json.dumps([consumer]))
    oauth_json = var_dir / "oauth.json"
    oauth_json.write_text(
        json.dumps(
            {
                spec_url: {
                    "contacts": {
                        "consumer_key": CONSUMER_KEY,
                        "consumer_secret": CONSUMER_SECRET,
                        "key_type": "HMAC_SYMMETRIC",
                    }
                }
            }
        )
    )
    app.manage("import_oauth_config", str(oauth_json))


def sign_up(page: Any, app: LiveApp, username: str) -> None:
    page.goto(app.url("accounts/signup/"))
    page.fill("#id_username", username)
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator(".whoami")).to_have_text(username)


def add_gadget(page: Any, app: LiveApp, spec_url: str) -> Any:
    page.goto(app.url("/"))
    page.fill("#id_url", spec_url)
    page.click(".add-inline button[type=submit]")
    expect(page.locator(".message")).to_contain_text("Added")
    return page.frame_locator("#remote_iframe_1")


def approve_in_popup(page: Any, frame: Any, *, sign_in: bool) -> Any:
    """Click "Personalize this gadget", then sign in and allow in the popup."""
    with page.expect_popup() as opened:
        frame.locator("#personalize").click()
    popup = opened.value
    popup.set_default_timeout(20_000)
    if sign_in:
        popup.fill("#sandbox-username", "ada")
        popup.fill("#sandbox-password", "ada-sandbox-password")
        popup.click("button[type=submit]")
    expect(popup.locator(".question")).to_contain_text(
        "Can Contacts gadget on the test container read your contacts?"
    )
    popup.click("#allow")
    return popup


def explain(browser: BrowserPage, app: LiveApp) -> str:
    return (
        f"\nconsole: {browser.console}\npage errors: {browser.errors}\n"
        f"server log:\n{app.log_tail(60)}"
    )


def test_approve_in_the_popup_then_contacts_stay_until_revoked(
    browser_page: BrowserPage, oauth_app: tuple[LiveApp, str]
) -> None:
    app, spec_url = oauth_app
    page = browser_page.page
    page.set_default_timeout(20_000)
    sign_up(page, app, "carol")
    frame = add_gadget(page, app, spec_url)
    expect(frame.locator("#personalize")).to_be_visible()

    popup = approve_in_popup(page, frame, sign_in=True)

    try:
        expect(frame.locator("#contacts")).to_contain_text(
            "Charles Babbage <charles@engine.example>"
        )
    except AssertionError as error:
        raise AssertionError(f"{error}{explain(browser_page, app)}") from None
    expect(frame.locator("#owner")).to_have_text(
        "Contacts of Ada Lovelace at the sandbox provider"
    )
    # The callback page told the gadget frame and closed its window.
    if not popup.is_closed():
        popup.wait_for_event("close")

    # A reload finds the stored token: no new approval.
    page.reload()
    frame = page.frame_locator("#remote_iframe_1")
    expect(frame.locator("#contacts li")).to_have_count(3)
    expect(frame.locator("#personalize")).to_be_hidden()

    # Revoked at the provider: the gadget asks again.
    provider = page.context.new_page()
    provider.goto(f"{app.sandbox_origin}/tokens")
    expect(provider.locator(".consumer-name")).to_have_text("Contacts gadget")
    provider.click(".revoke")
    expect(provider.locator("#no-tokens")).to_be_visible()
    provider.close()
    page.reload()
    frame = page.frame_locator("#remote_iframe_1")
    expect(frame.locator("#personalize")).to_be_visible()
    assert browser_page.errors == [], explain(browser_page, app)


def test_another_container_user_does_not_get_the_first_user_s_token(
    chromium: Any, oauth_app: tuple[LiveApp, str]
) -> None:
    app, spec_url = oauth_app
    first = chromium.new_context()
    second = chromium.new_context()
    try:
        page = first.new_page()
        page.set_default_timeout(20_000)
        sign_up(page, app, "erin")
        frame = add_gadget(page, app, spec_url)
        approve_in_popup(page, frame, sign_in=True)
        expect(frame.locator("#contacts li")).to_have_count(3)

        other = second.new_page()
        other.set_default_timeout(20_000)
        sign_up(other, app, "dave")
        other_frame = add_gadget(other, app, spec_url)

        expect(other_frame.locator("#personalize")).to_be_visible()
        expect(other_frame.locator("#contacts li")).to_have_count(0)
    finally:
        first.close()
        second.close()
