"""The "Connected services" page: a person's stored access tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from container import home
from container.models import InstalledGadget
from container.tests.conftest import WEATHER_URL
from oauthproxy.models import AccessToken, AuditEvent, token_key

pytestmark = pytest.mark.django_db

TOKEN_VALUE = "tok-value-must-never-show"


def store_token(
    viewer: str, service: str, module_id: int = 1, **fields: Any
) -> AccessToken:
    key = token_key(viewer, WEATHER_URL, module_id, service, "")
    token = AccessToken(
        key=key,
        viewer=viewer,
        gadget_url=WEATHER_URL,
        module_id=module_id,
        service_name=service,
        **fields,
    )
    token.set_credentials(TOKEN_VALUE, "secret-value", "")
    token.save()
    return token


def test_no_tokens_shows_the_empty_state(owner_client: Client) -> None:
    response = owner_client.get("/connected-services/")

    assert response.status_code == 200
    assert b"No gadget is connected to another service" in response.content


def test_lists_the_viewers_tokens_by_gadget_and_service_newest_first(
    owner_client: Client, owner: User, weather: InstalledGadget
) -> None:
    older = store_token("owner", "contacts")
    AccessToken.objects.filter(pk=older.pk).update(
        created_at=timezone.now() - timedelta(days=2)
    )
    newer = store_token("owner", "calendar", last_used_at=timezone.now())
    store_token("outsider", "contacts")

    services = home.connected_services(owner)
    html = owner_client.get("/connected-services/").content.decode()

    assert [s.token_id for s in services] == [newer.pk, older.pk]
    assert services[0].gadget_title == "Weather for Paris"
    assert services[0].service_name == "calendar"
    assert "Weather for Paris" in html
    assert "contacts" in html and "calendar" in html
    assert TOKEN_VALUE not in html
    assert html.count("Disconnect</button>") == 2


def test_disconnect_deletes_the_token_at_once_and_audits_it(
    owner_client: Client, weather: InstalledGadget
) -> None:
    token = store_token("owner", "contacts")

    response = owner_client.post(f"/connected-services/{token.pk}/disconnect")

    assert response.status_code == 302
    assert response["Location"] == "/connected-services/"
    assert not AccessToken.objects.filter(pk=token.pk).exists()
    event = AuditEvent.objects.get(kind="token_deleted")
    assert (event.actor, event.service_name) == ("owner", "contacts")
    assert TOKEN_VALUE not in str(event.details)


def test_disconnecting_someone_elses_token_is_404_and_keeps_it(
    outsider_client: Client,
) -> None:
    token = store_token("owner", "contacts")

    response = outsider_client.post(f"/connected-services/{token.pk}/disconnect")

    assert response.status_code == 404
    assert AccessToken.objects.filter(pk=token.pk).exists()


def test_disconnecting_an_unknown_token_is_404(owner_client: Client) -> None:
    response = owner_client.post("/connected-services/12345/disconnect")

    assert response.status_code == 404


def test_disconnect_needs_post_and_csrf(owner: User) -> None:
    token = store_token("owner", "contacts")
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)

    assert client.get(f"/connected-services/{token.pk}/disconnect").status_code == 405
    assert client.post(f"/connected-services/{token.pk}/disconnect").status_code == 403
    assert AccessToken.objects.filter(pk=token.pk).exists()


def test_connected_services_needs_a_login(client: Client) -> None:
    response = client.get("/connected-services/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_removing_a_gadget_deletes_its_tokens_only(
    owner_client: Client, weather: InstalledGadget
) -> None:
    mine = store_token("owner", "contacts", module_id=weather.module_id)
    other_instance = store_token("owner", "contacts", module_id=99)

    owner_client.post(f"/gadget/{weather.pk}/remove")

    assert not AccessToken.objects.filter(pk=mine.pk).exists()
    assert AccessToken.objects.filter(pk=other_instance.pk).exists()
    assert AuditEvent.objects.get().details["reason"] == "gadget removed"
