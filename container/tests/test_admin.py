"""The admin of installed gadgets and the gallery."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from container.models import GalleryEntry, InstalledGadget
from container.tests.conftest import WEATHER_URL

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(db: None) -> Client:
    admin = User.objects.create_superuser("operator", "op@example.com", "op-pass-123")
    client = Client()
    client.force_login(admin)
    return client


def test_installed_gadgets_list_filters_and_searches(
    admin_client_: Client, weather: InstalledGadget
) -> None:
    response = admin_client_.get(
        "/admin/container/installedgadget/?q=weather&is_minimised__exact=0"
    )

    assert response.status_code == 200
    assert b"Weather for Paris" in response.content


def test_gallery_action_fills_in_entries_from_the_spec(
    admin_client_: Client, specs: Any
) -> None:
    entry = GalleryEntry.objects.create(spec_url=WEATHER_URL)

    response = admin_client_.post(
        "/admin/container/galleryentry/",
        {"action": "fill_in_from_spec", "_selected_action": [entry.pk]},
    )

    entry.refresh_from_db()
    assert response.status_code == 302
    assert entry.title == "Weather for Paris"
    assert entry.description == "Today's weather."
    assert entry.author == "Ada"
    assert entry.screenshot_url == "http://gadgets.example/shots/weather.png"


def test_gallery_action_reports_a_broken_spec(
    admin_client_: Client, specs: Any
) -> None:
    entry = GalleryEntry.objects.create(spec_url="http://gadgets.example/gone.xml")

    response = admin_client_.post(
        "/admin/container/galleryentry/",
        {"action": "fill_in_from_spec", "_selected_action": [entry.pk]},
        follow=True,
    )

    assert b"could not be fetched" in response.content
