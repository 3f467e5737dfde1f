"""Adding a gadget by URL or from the gallery: validated first, all or nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from container.models import GalleryEntry, InstalledGadget
from container.tests.conftest import PLAIN_URL, REQUIRED_URL, WEATHER_URL

pytestmark = pytest.mark.django_db


def test_adding_by_url_puts_the_gadget_top_left(
    owner_client: Client, owner: User, plain: InstalledGadget, specs: Any
) -> None:
    response = owner_client.post("/add/", {"url": WEATHER_URL})

    added = InstalledGadget.objects.get(owner=owner, spec_url=WEATHER_URL)
    assert response.status_code == 302
    assert response["Location"] == f"/#gadget-{added.pk}"
    assert (added.column, added.position) == (0, 0)
    assert added.module_id == plain.module_id + 1
    assert added.title == "Weather for Paris"
    plain.refresh_from_db()
    assert (plain.column, plain.position) == (0, 1)


def test_the_spec_url_is_stored_in_its_canonical_form(
    owner_client: Client, owner: User, specs: Any
) -> None:
    owner_client.post("/add/", {"url": "HTTP://Gadgets.Example:80/plain.xml#x"})

    assert InstalledGadget.objects.get(owner=owner).spec_url == PLAIN_URL


def test_the_same_spec_twice_gets_two_module_ids(
    owner_client: Client, owner: User, specs: Any
) -> None:
    owner_client.post("/add/", {"url": PLAIN_URL})
    owner_client.post("/add/", {"url": PLAIN_URL})

    ids = sorted(InstalledGadget.objects.values_list("module_id", flat=True))
    assert ids == [1, 2]


@pytest.mark.parametrize(
    ("url", "sentence"),
    [
        ("ftp://gadgets.example/x.xml", "must be an absolute http or https URL"),
        ("http://gadgets.example/missing.xml", "could not be fetched"),
        ("http://gadgets.example/broken.xml", "gadgets.example/broken.xml"),
        ("http://gadgets.example/notfound.xml", "answered 404"),
    ],
)
def test_a_bad_url_or_spec_is_refused_with_a_sentence_and_nothing_added(
    owner_client: Client, specs: Any, url: str, sentence: str
) -> None:
    specs.add("http://gadgets.example/broken.xml", "<Module><ModulePrefs")
    specs.add("http://gadgets.example/notfound.xml", "gone", status=404)

    response = owner_client.post("/add/", {"url": url})

    assert response.status_code == 400
    assert sentence in response.content.decode()
    assert InstalledGadget.objects.count() == 0


def test_a_spec_that_is_not_a_gadget_is_refused(
    owner_client: Client, specs: Any
) -> None:
    specs.add("http://gadgets.example/feed.xml", "<rss><channel/></rss>")

    response = owner_client.post("/add/", {"url": "http://gadgets.example/feed.xml"})

    assert response.status_code == 400
    assert b'class="form-error"' in response.content
    assert InstalledGadget.objects.count() == 0


def test_an_empty_url_is_refused(owner_client: Client) -> None:
    response = owner_client.post("/add/", {"url": ""})

    assert response.status_code == 400
    assert b"This field is required." in response.content


def test_a_gadget_with_a_required_pref_and_no_default_opens_its_settings(
    owner_client: Client, owner: User, specs: Any
) -> None:
    response = owner_client.post("/add/", {"url": REQUIRED_URL})

    added = InstalledGadget.objects.get(owner=owner)
    assert response["Location"] == f"/gadget/{added.pk}/settings"


def test_adding_needs_a_login(client: Client, specs: Any) -> None:
    response = client.post("/add/", {"url": PLAIN_URL})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert InstalledGadget.objects.count() == 0


def test_adding_without_a_csrf_token_is_refused(owner: User, specs: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)

    response = client.post("/add/", {"url": PLAIN_URL})

    assert response.status_code == 403
    assert InstalledGadget.objects.count() == 0


def test_gallery_lists_entries_escaped(owner_client: Client) -> None:
    GalleryEntry.objects.create(
        spec_url=WEATHER_URL,
        title="<b>Weather</b>",
        description="<script>alert(1)</script>",
        author="Ada & Co",
        screenshot_url="https://img.example/w.png",
    )
    GalleryEntry.objects.create(spec_url=PLAIN_URL, title="Hidden", is_listed=False)

    response = owner_client.get("/add/")

    html = response.content.decode()
    assert "&lt;b&gt;Weather&lt;/b&gt;" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Ada &amp; Co" in html
    assert "Hidden" not in html
    assert (
        "img-src 'self' data: https://img.example;"
        in response["Content-Security-Policy"]
    )


def test_adding_from_the_gallery(owner_client: Client, owner: User, specs: Any) -> None:
    entry = GalleryEntry.objects.create(spec_url=PLAIN_URL, title="Plain")

    response = owner_client.post(f"/add/gallery/{entry.pk}")

    assert response.status_code == 302
    assert InstalledGadget.objects.get(owner=owner).spec_url == PLAIN_URL


def test_an_unlisted_gallery_entry_cannot_be_added(
    owner_client: Client, specs: Any
) -> None:
    entry = GalleryEntry.objects.create(spec_url=PLAIN_URL, is_listed=False)

    response = owner_client.post(f"/add/gallery/{entry.pk}")

    assert response.status_code == 404
    assert InstalledGadget.objects.count() == 0


def test_a_gallery_entry_whose_spec_broke_is_refused_with_a_sentence(
    owner_client: Client, specs: Any
) -> None:
    entry = GalleryEntry.objects.create(spec_url="http://gadgets.example/gone.xml")

    response = owner_client.post(f"/add/gallery/{entry.pk}")

    assert response.status_code == 400
    assert b"could not be fetched" in response.content
    assert InstalledGadget.objects.count() == 0
