"""The sandbox in Django admin: listed, editable, and never showing secrets."""

from __future__ import annotations

import pytest
from django.test import Client

from sandbox.models import AccessToken, Consumer

from .conftest import HMAC_SECRET, Signer, dance

pytestmark = pytest.mark.django_db


def test_consumer_pages_never_show_the_secret(
    admin_client: Client, hmac_consumer: Consumer
) -> None:
    listing = admin_client.get("/admin/sandbox/consumer/")
    change = admin_client.get(f"/admin/sandbox/consumer/{hmac_consumer.pk}/change/")

    assert listing.status_code == change.status_code == 200
    assert HMAC_SECRET.encode() not in listing.content + change.content


def test_an_empty_secret_field_keeps_the_secret(
    admin_client: Client, hmac_consumer: Consumer
) -> None:
    response = admin_client.post(
        f"/admin/sandbox/consumer/{hmac_consumer.pk}/change/",
        {
            "key": hmac_consumer.key,
            "display_name": "Renamed",
            "container_name": hmac_consumer.container_name,
            "signature_method": "HMAC-SHA1",
            "secret": "",
            "rsa_certificate": "",
            "access_token_lifetime_seconds": "60",
            "authorization_lifetime_seconds": "",
            "issues_session_handle": "on",
            "delay_seconds": "0",
            "problem_location": "header",
        },
    )

    hmac_consumer.refresh_from_db()
    assert response.status_code == 302
    assert hmac_consumer.display_name == "Renamed"
    assert hmac_consumer.secret == HMAC_SECRET
    assert hmac_consumer.access_token_lifetime_seconds == 60


def test_tokens_are_listed_without_their_values_and_can_be_revoked(
    admin_client: Client, ada: object, hmac_signer: Signer, provider: Client
) -> None:
    tokens = dance(hmac_signer, provider)
    token = AccessToken.objects.get()

    listing = admin_client.get("/admin/sandbox/accesstoken/")
    change = admin_client.get(f"/admin/sandbox/accesstoken/{token.pk}/change/")
    admin_client.post(
        "/admin/sandbox/accesstoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
    )

    for name in ("oauth_token", "oauth_token_secret", "oauth_session_handle"):
        assert tokens[name].encode() not in listing.content + change.content
    token.refresh_from_db()
    assert token.revoked_at is not None
