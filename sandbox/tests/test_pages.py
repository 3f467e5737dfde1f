"""The provider user's pages: tokens and revocation, sign-in, independence."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.test import Client

from sandbox.models import AccessToken

from .conftest import (
    GRACE_PASSWORD,
    HMAC_SECRET,
    HOST,
    Signer,
    dance,
    log_in,
    with_token,
)

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
PLATFORM_APPS = {"gadgets", "oauthproxy", "container"}


def test_the_tokens_page_lists_consumers_holding_tokens(
    ada: object, hmac_signer: Signer, provider: Client
) -> None:
    tokens = dance(hmac_signer, provider)

    response = provider.get("/tokens")

    text = response.content.decode()
    assert response.status_code == 200
    assert "Contacts gadget" in text
    assert "Gadget container demo" in text
    assert tokens["oauth_token"] not in text
    assert tokens["oauth_token_secret"] not in text
    assert HMAC_SECRET not in text


def test_revoking_on_the_page_stops_the_consumer(
    ada: object, hmac_signer: Signer, hmac_consumer: object, provider: Client
) -> None:
    tokens = dance(hmac_signer, provider)

    response = provider.post("/tokens", {"consumer": hmac_consumer.pk})  # type: ignore[attr-defined]
    answer = hmac_signer.send("/api/contacts", **with_token(hmac_signer, tokens))

    assert "Revoked 1 token of Contacts gadget." in response.content.decode()
    assert b"No consumer holds a token" in response.content
    assert answer.problem == "token_revoked"


def test_revoking_touches_only_the_signed_in_person_s_tokens(
    ada: object, grace: object, hmac_signer: Signer, hmac_consumer: object
) -> None:
    ada_browser, grace_browser = Client(HTTP_HOST=HOST), Client(HTTP_HOST=HOST)
    dance(hmac_signer, ada_browser)
    grace_tokens = dance(hmac_signer, grace_browser, username="grace")

    ada_browser.post("/tokens", {"consumer": hmac_consumer.pk})  # type: ignore[attr-defined]

    assert AccessToken.objects.live().get().token == grace_tokens["oauth_token"]


def test_the_tokens_page_needs_a_provider_login(provider: Client) -> None:
    response = provider.get("/tokens")

    assert response.status_code == 302
    assert response["Location"] == "/login?next=%2Ftokens"


def test_a_container_login_means_nothing_at_the_provider(
    client: Client, django_user_model: object
) -> None:
    django_user_model.objects.create_user("ada", password=GRACE_PASSWORD)  # type: ignore[attr-defined]
    client.login(username="ada", password=GRACE_PASSWORD)

    response = client.get("/tokens", HTTP_HOST=HOST)

    assert response.status_code == 302


def test_signing_out_ends_the_provider_session(ada: object, provider: Client) -> None:
    log_in(provider)

    provider.post("/logout")

    assert provider.get("/tokens").status_code == 302


def test_pages_forbid_framing_and_carry_a_policy(provider: Client) -> None:
    response = provider.get("/login")

    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_the_public_news_feed_is_atom(hmac_consumer: object, provider: Client) -> None:
    response = provider.get("/feeds/news.atom")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    assert b"New consumer: Contacts gadget" in response.content


def _imported_apps(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_the_sandbox_imports_no_platform_app() -> None:
    for path in (ROOT / "sandbox").rglob("*.py"):
        assert not _imported_apps(path) & PLATFORM_APPS, path


def test_no_platform_app_imports_the_sandbox() -> None:
    for app in PLATFORM_APPS:
        for path in (ROOT / app).rglob("*.py"):
            assert "sandbox" not in _imported_apps(path), path


def test_no_secret_or_token_reaches_the_logs(
    ada: object,
    hmac_signer: Signer,
    provider: Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")

    tokens = dance(hmac_signer, provider)
    hmac_signer.send("/api/contacts", tamper=True, **with_token(hmac_signer, tokens))

    logged = caplog.text
    assert "sandbox refused consumer=hmac-consumer problem=signature_invalid" in logged
    for secret in (
        HMAC_SECRET,
        "ada-provider-password",
        tokens["oauth_token"],
        tokens["oauth_token_secret"],
        tokens["oauth_session_handle"],
    ):
        assert secret not in logged
