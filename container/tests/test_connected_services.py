"""The "Connected services" page (empty until the OAuth token store lands)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from container import home

pytestmark = pytest.mark.django_db


def test_connected_services_lists_nothing_without_tokens(owner: User) -> None:
    assert home.connected_services(owner) == []


def test_connected_services_page_shows_the_empty_state(owner_client: Client) -> None:
    response = owner_client.get("/connected-services/")

    assert response.status_code == 200
    assert b"No gadget is connected to another service" in response.content


def test_disconnecting_an_unknown_token_is_404(owner_client: Client) -> None:
    response = owner_client.post("/connected-services/12345/disconnect")

    assert response.status_code == 404


def test_disconnect_needs_post_and_csrf(owner: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)

    assert client.get("/connected-services/1/disconnect").status_code == 405
    assert client.post("/connected-services/1/disconnect").status_code == 403


def test_connected_services_needs_a_login(client: Client) -> None:
    response = client.get("/connected-services/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
