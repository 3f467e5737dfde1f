"""The developer dashboard in headless Chromium.

A developer claims a gadget served by the local gadget host, puts the
verification link in its spec, verifies, registers a service with a
generated RSA key pair and downloads the certificate. The API docs page
renders Swagger UI from the installed assets under the page's CSP.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from playwright.sync_api import expect

from tests.live import ROOT, BrowserPage, GadgetHost, LiveApp

pytestmark = pytest.mark.browser

PASSWORD = "a-long-pass-phrase-42"
# UPDATE_SCREENSHOTS=1 rewrites docs/screenshots/developer.png.
UPDATE_SCREENSHOTS = os.environ.get("UPDATE_SCREENSHOTS") == "1"
_developers = itertools.count(1)


@pytest.fixture(autouse=True)
def _patient_expect() -> Iterator[None]:
    expect.set_options(timeout=15_000)
    yield
    expect.set_options(timeout=5_000)


def spec(token: str) -> str:
    link = f'<Link rel="gadget-container-verification" href="{token}"/>'
    return f"""<?xml version="1.0"?><Module><ModulePrefs title="Dev">{link}
<OAuth><Service name="contacts">
<Request url="https://sp.example/request" method="POST"/>
<Access url="https://sp.example/access" method="POST"/>
<Authorization url="https://sp.example/authorize"/></Service></OAuth>
</ModulePrefs><Content type="html">x</Content></Module>"""


def sign_up_developer(page, live_app: LiveApp) -> str:
    username = f"developer{next(_developers)}"
    page.goto(live_app.url("accounts/signup/"))
    page.fill("#id_username", username)
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator(".whoami")).to_have_text(username)
    live_app.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import Group, User; "
        "g, _ = Group.objects.get_or_create(name='gadget-developers'); "
        f"User.objects.get(username='{username}').groups.add(g)",
    )
    return username


def test_claim_verify_generate_and_download_certificate(
    browser_page: BrowserPage,
    live_app: LiveApp,
    gadget_host: GadgetHost,
    tmp_path: Path,
) -> None:
    page = browser_page.page
    page.set_default_timeout(20_000)
    sign_up_developer(page, live_app)
    spec_url = gadget_host.add("dev-dashboard.xml", spec(""), "application/xml")

    page.goto(live_app.url("developer/"))
    page.fill("#id_gadget_url", spec_url)
    page.click("text=Claim this gadget")
    token = page.locator("pre.verification").inner_text().split('href="')[1]
    token = token.split('"')[0]
    assert token.startswith("gcv-")
    gadget_host.add("dev-dashboard.xml", spec(token), "application/xml")
    page.click("button:has-text('Verify')")
    expect(page.locator(".message")).to_contain_text("Verified")

    page.select_option("#id_service_name", "contacts")
    page.fill("#id_consumer_key", "browser-consumer")
    page.check("input[name=source][value=generate]")
    page.click("button:has-text('Register')")
    expect(page.locator(".message")).to_contain_text("Registered service")
    expect(page.locator(".secret-status")).to_contain_text("set (sha256:")

    with page.expect_download() as download_info:
        page.click("text=Download the X.509 certificate")
    path = tmp_path / "consumer.crt"
    download_info.value.save_as(path)
    certificate = x509.load_pem_x509_certificate(path.read_bytes())
    assert certificate.public_key().key_size == 2048
    assert b"PRIVATE" not in path.read_bytes()
    assert not browser_page.errors
    folder = ROOT / "docs" / "screenshots" if UPDATE_SCREENSHOTS else tmp_path
    page.screenshot(path=str(folder / "developer.png"), full_page=True)


def test_api_docs_render_from_local_assets(
    browser_page: BrowserPage, live_app: LiveApp
) -> None:
    page = browser_page.page
    sign_up_developer(page, live_app)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(live_app.url("api/docs/"))

    expect(page.locator(".swagger-ui .info")).to_be_visible()
    assert all(url.startswith(live_app.container_origin) for url in requested)
    assert not [line for line in browser_page.console if "Content Security" in line]
