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

import http.client
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from oauthlib import oauth1
from playwright.sync_api import expect

from tests.live import ROOT, BrowserPage, GadgetHost, LiveApp, run_app

pytestmark = pytest.mark.browser

PASSWORD = "a-long-pass-phrase-42"
# UPDATE_SCREENSHOTS=1 rewrites the README walkthrough's docs/screenshots/dance-*.png.
UPDATE_SCREENSHOTS = os.environ.get("UPDATE_SCREENSHOTS") == "1"
SCREENSHOTS = ROOT / "docs" / "screenshots"
SPEC_SANDBOX = "http://provider.localhost:8000"
# The sandbox's signature method and the container's matching key type.
METHODS = {
    "HMAC-SHA1": "HMAC_SYMMETRIC",
    "RSA-SHA1": "RSA_PRIVATE",
    "PLAINTEXT": "PLAINTEXT",
}
CONSUMER_NAMES = {
    "HMAC-SHA1": "Contacts gadget",
    "RSA-SHA1": "Contacts gadget (RSA)",
    "PLAINTEXT": "Contacts gadget (PLAINTEXT)",
}


@pytest.fixture(autouse=True)
def _patient_expect() -> Iterator[None]:
    expect.set_options(timeout=20_000)
    yield
    expect.set_options(timeout=5_000)


@dataclass
class OAuthWorld:
    """The running app and one contacts gadget URL per signature method."""

    app: LiveApp
    specs: dict[str, str]


@pytest.fixture(scope="module")
def oauth_world(
    gadget_host: GadgetHost, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OAuthWorld]:
    """The app with the sandbox reachable, the contacts gadget served once
    per signature method, and each copy's consumer known at both ends."""
    var_dir = tmp_path_factory.mktemp("oauth-app")
    allowlist = [f"127.0.0.1:{gadget_host.port}"]
    with run_app(var_dir, allowlist, allow_sandbox=True) as app:
        spec = (ROOT / "static" / "gadgets" / "contacts.xml").read_text()
        spec = spec.replace(SPEC_SANDBOX, app.sandbox_origin)
        specs = {
            method: gadget_host.add(f"contacts-{method}.xml", spec, "application/xml")
            for method in METHODS
        }
        _register(app, var_dir, specs)
        yield OAuthWorld(app, specs)


@pytest.fixture
def world(oauth_world: OAuthWorld) -> OAuthWorld:
    return oauth_world


def _rsa_key_files(var_dir: Path) -> tuple[str, str]:
    """A consumer key pair: the private key for the container, the
    certificate's public key for the provider; returns both file names."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (var_dir / "consumer.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (var_dir / "consumer.pub").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
    )
    return "consumer.pem", "consumer.pub"


def _register(app: LiveApp, var_dir: Path, specs: dict[str, str]) -> None:
    private_file, public_file = _rsa_key_files(var_dir)
    sandbox, container = [], {}
    for method, spec_url in specs.items():
        key = f"e2e-{method.lower()}"
        entry: dict[str, str] = {"consumer_key": key, "key_type": METHODS[method]}
        consumer = {
            "key": key,
            "signature_method": method,
            "display_name": CONSUMER_NAMES[method],
            "container_name": "the test container",
        }
        if method == "RSA-SHA1":
            entry["consumer_secret_file"] = private_file
            consumer["certificate_file"] = public_file
        else:
            entry["consumer_secret"] = consumer["secret"] = f"{key}-shared-secret"
        sandbox.append(consumer)
        container[spec_url] = {"contacts": entry}
    (var_dir / "sandbox.json").write_text(json.dumps({"consumers": sandbox}))
    (var_dir / "oauth.json").write_text(json.dumps(container))
    app.manage("seed_sandbox", "--config", str(var_dir / "sandbox.json"))
    app.manage("import_oauth_config", str(var_dir / "oauth.json"))


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


def approve_in_popup(
    page: Any,
    frame: Any,
    *,
    sign_in: bool = True,
    consumer: str = "Contacts gadget",
    screenshot: Path | None = None,
) -> Any:
    """Click "Personalize this gadget", then sign in and allow in the popup.

    With ``screenshot``, the provider's approval page is saved there first.
    """
    with page.expect_popup() as opened:
        frame.locator("#personalize").click()
    popup = opened.value
    popup.set_default_timeout(20_000)
    if sign_in:
        popup.fill("#sandbox-username", "ada")
        popup.fill("#sandbox-password", "ada-sandbox-password")
        popup.click("button[type=submit]")
    expect(popup.locator(".question")).to_have_text(
        f"Can {consumer} on the test container read your contacts?"
    )
    if screenshot is not None:
        popup.set_viewport_size({"width": 640, "height": 480})
        popup.screenshot(path=str(screenshot))
    popup.click("#allow")
    return popup


def expect_contacts(frame: Any, browser: BrowserPage, app: LiveApp) -> None:
    try:
        expect(frame.locator("#contacts")).to_contain_text(
            "Charles Babbage <charles@engine.example>"
        )
    except AssertionError as error:
        raise AssertionError(
            f"{error}\nconsole: {browser.console}\npage errors: {browser.errors}\n"
            f"server log:\n{app.log_tail(60)}"
        ) from None
    expect(frame.locator("#contacts li")).to_have_count(3)


def shot(tmp_path: Path, name: str) -> Path:
    """Where a walkthrough screenshot goes: the README's copy only on demand."""
    return (SCREENSHOTS if UPDATE_SCREENSHOTS else tmp_path) / name


def test_approve_in_the_popup_then_contacts_stay_until_revoked(
    browser_page: BrowserPage, world: OAuthWorld, tmp_path: Path
) -> None:
    app, page = world.app, browser_page.page
    page.set_default_timeout(20_000)
    page.set_viewport_size({"width": 1000, "height": 600})
    sign_up(page, app, "carol")
    frame = add_gadget(page, app, world.specs["HMAC-SHA1"])
    expect(frame.locator("#personalize")).to_be_visible()
    page.screenshot(path=str(shot(tmp_path, "dance-1-ask.png")))

    popup = approve_in_popup(
        page, frame, screenshot=shot(tmp_path, "dance-2-approve.png")
    )

    expect_contacts(frame, browser_page, app)
    page.screenshot(path=str(shot(tmp_path, "dance-3-contacts.png")))
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
    row = provider.locator(".holder").filter(
        has=provider.get_by_text("Contacts gadget", exact=True)
    )
    row.locator(".revoke").click()
    expect(provider.locator(".notice")).to_have_text(
        "Revoked 1 token of Contacts gadget."
    )
    provider.close()
    page.reload()
    frame = page.frame_locator("#remote_iframe_1")
    expect(frame.locator("#personalize")).to_be_visible()
    assert browser_page.errors == []


def test_another_container_user_does_not_get_the_first_user_s_token(
    chromium: Any, world: OAuthWorld
) -> None:
    app = world.app
    first, second = chromium.new_context(), chromium.new_context()
    try:
        page = first.new_page()
        page.set_default_timeout(20_000)
        sign_up(page, app, "erin")
        frame = add_gadget(page, app, world.specs["HMAC-SHA1"])
        approve_in_popup(page, frame)
        expect(frame.locator("#contacts li")).to_have_count(3)

        other = second.new_page()
        other.set_default_timeout(20_000)
        sign_up(other, app, "dave")
        other_frame = add_gadget(other, app, world.specs["HMAC-SHA1"])

        expect(other_frame.locator("#personalize")).to_be_visible()
        expect(other_frame.locator("#contacts li")).to_have_count(0)
    finally:
        first.close()
        second.close()


def test_i_ve_approved_access_finishes_when_the_popup_lost_its_opener(
    browser_page: BrowserPage, world: OAuthWorld
) -> None:
    app, page = world.app, browser_page.page
    page.set_default_timeout(20_000)
    sign_up(page, app, "frank")
    frame = add_gadget(page, app, world.specs["HMAC-SHA1"])
    with page.expect_popup() as opened:
        frame.locator("#personalize").click()
    popup = opened.value
    # What noopener, COOP or a privacy setting does to the popup: the
    # callback page can then neither tell the gadget nor close itself.
    popup.evaluate("window.opener = null")
    popup.fill("#sandbox-username", "ada")
    popup.fill("#sandbox-password", "ada-sandbox-password")
    popup.click("button[type=submit]")
    popup.click("#allow")
    expect(popup.locator("body")).to_contain_text("Access approved.")
    expect(frame.locator("#approvaldone")).to_be_visible()

    frame.locator("#approvaldone").click()

    expect_contacts(frame, browser_page, app)


@pytest.mark.parametrize("method", ["RSA-SHA1", "PLAINTEXT"])
def test_rsa_and_plaintext_registrations_complete_the_dance(
    method: str, browser_page: BrowserPage, world: OAuthWorld
) -> None:
    app, page = world.app, browser_page.page
    page.set_default_timeout(20_000)
    sign_up(page, app, f"grace-{method.lower()}")
    frame = add_gadget(page, app, world.specs[method])

    approve_in_popup(page, frame, consumer=CONSUMER_NAMES[method])

    expect_contacts(frame, browser_page, app)


def switch_faults(app: LiveApp, consumer_key: str, **switches: str) -> dict[str, Any]:
    """Flip the consumer's fault switches over the sandbox's signed API."""
    client = oauth1.Client(consumer_key, client_secret=f"{consumer_key}-shared-secret")
    _, headers, body = client.sign(
        f"{app.sandbox_origin}/api/faults",
        http_method="POST",
        body=urlencode(switches),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    connection = http.client.HTTPConnection("127.0.0.1", app.port, timeout=10)
    try:
        connection.request(
            "POST",
            "/api/faults",
            body=body,
            headers={**headers, "Host": f"provider.localhost:{app.port}"},
        )
        response = connection.getresponse()
        answer = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 200, answer
    return dict(answer)


def test_the_gadget_copes_with_expiry_outage_and_a_rejected_key(
    browser_page: BrowserPage, world: OAuthWorld
) -> None:
    app, page = world.app, browser_page.page
    page.set_default_timeout(20_000)
    sign_up(page, app, "kim")
    frame = add_gadget(page, app, world.specs["HMAC-SHA1"])
    approve_in_popup(page, frame)
    expect_contacts(frame, browser_page, app)
    try:
        # Expired at the provider: the proxy renews with the session handle.
        assert switch_faults(app, "e2e-hmac-sha1", expire_tokens="true")["expired"]
        page.reload()
        expect_contacts(page.frame_locator("#remote_iframe_1"), browser_page, app)

        switch_faults(app, "e2e-hmac-sha1", answers_503="true")
        page.reload()
        message = page.frame_locator("#remote_iframe_1").locator("#message")
        expect(message).to_have_text("The provider answered HTTP 503.")

        switch_faults(app, "e2e-hmac-sha1", answers_503="false", rejects_key="true")
        page.reload()
        message = page.frame_locator("#remote_iframe_1").locator("#message")
        expect(message).to_have_text("The provider no longer accepts this gadget.")
    finally:
        switch_faults(app, "e2e-hmac-sha1", answers_503="false", rejects_key="false")


def test_a_developer_s_generated_key_is_accepted_by_the_provider(
    browser_page: BrowserPage,
    world: OAuthWorld,
    gadget_host: GadgetHost,
    tmp_path: Path,
) -> None:
    """The 2008 question answered end to end: no secret ever travels.

    A developer claims and verifies a copy of the contacts gadget, lets the
    container generate an RSA key pair and downloads only the certificate;
    the provider is given that certificate, accepts RSA-SHA1 requests
    signed with the private key the container kept, and the dashboard then
    shows the connection.
    """
    app, page = world.app, browser_page.page
    page.set_default_timeout(20_000)
    sign_up(page, app, "dora")
    app.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import Group, User; "
        "g, _ = Group.objects.get_or_create(name='gadget-developers'); "
        "User.objects.get(username='dora').groups.add(g)",
    )
    spec = (ROOT / "static" / "gadgets" / "contacts.xml").read_text()
    spec = spec.replace(SPEC_SANDBOX, app.sandbox_origin)
    spec_url = gadget_host.add("contacts-developer.xml", spec, "application/xml")

    # Claim, prove control by putting the verification link in the spec.
    page.goto(app.url("developer/"))
    page.fill("#id_gadget_url", spec_url)
    page.click("text=Claim this gadget")
    token = page.locator("pre.verification").inner_text()
    token = token.split('href="')[1].split('"')[0]
    link = f'<Link rel="gadget-container-verification" href="{token}"/>'
    verified_spec = re.sub(r"(<ModulePrefs\b[^>]*>)", r"\1" + link, spec, count=1)
    gadget_host.add("contacts-developer.xml", verified_spec, "application/xml")
    page.click("button:has-text('Verify')")
    expect(page.locator(".message")).to_contain_text("Verified")

    # Register the service with a key pair the container generates.
    page.select_option("#id_service_name", "contacts")
    page.fill("#id_consumer_key", "developer-rsa")
    page.check("input[name=source][value=generate]")
    page.click("button:has-text('Register')")
    expect(page.locator(".message")).to_contain_text("Registered service")
    registration_page = page.url
    with page.expect_download() as download:
        page.click("text=Download the X.509 certificate")
    certificate = tmp_path / "developer.crt"
    download.value.save_as(certificate)
    assert b"PRIVATE" not in certificate.read_bytes()

    # The provider learns the consumer from the certificate alone.
    consumer = {
        "key": "developer-rsa",
        "signature_method": "RSA-SHA1",
        "display_name": "Dora's contacts gadget",
        "container_name": "the test container",
        "certificate_file": str(certificate),
    }
    app.manage(
        "seed_sandbox", "--consumers-json", json.dumps({"consumers": [consumer]})
    )

    frame = add_gadget(page, app, spec_url)
    approve_in_popup(page, frame, consumer="Dora's contacts gadget")
    expect_contacts(frame, browser_page, app)

    page.goto(registration_page)
    expect(page.get_by_text("People connected now:")).to_contain_text("1")
    today = page.locator(".usage-table tbody tr").last
    expect(today.locator("td").nth(1)).to_have_text("1")  # tokens created
    heights = page.locator("svg.usage-chart rect.bar-created").evaluate_all(
        "bars => bars.map(bar => Number(bar.getAttribute('height')))"
    )
    assert max(heights) > 0
    assert browser_page.errors == []
