"""Cross-Origin-Opener-Policy keeps the OAuth approval popup attached.

gadgets.oauth.Popup opens the provider's page from a gadget frame and
waits for it to report and close. Container pages use
``same-origin-allow-popups`` (plain ``same-origin`` cuts such popups loose
as they open), and every callback answer, the redirect included, says
``unsafe-none`` so the window keeps its opener to the end.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db


def test_container_pages_let_their_popups_keep_the_opener(client: Client) -> None:
    response = client.get("/accounts/login/")

    assert response["Cross-Origin-Opener-Policy"] == "same-origin-allow-popups"


def test_the_callback_on_the_container_host_keeps_the_opener(client: Client) -> None:
    response = client.get("/gadgets/oauthcallback?state=unknown")

    assert response["Cross-Origin-Opener-Policy"] == "unsafe-none"


def test_the_callback_on_a_gadget_host_keeps_the_opener(client: Client) -> None:
    host = f"abc.{settings.GADGET_DOMAIN}"

    response = client.get("/gadgets/oauthcallback?state=unknown", HTTP_HOST=host)

    assert response["Cross-Origin-Opener-Policy"] == "unsafe-none"
