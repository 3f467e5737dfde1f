"""The canvas view: one gadget full width, with view params, and back."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from container.models import InstalledGadget

pytestmark = pytest.mark.django_db


def test_canvas_page_renders_the_canvas_view_full_width(
    owner_client: Client, weather: InstalledGadget
) -> None:
    response = owner_client.get(f"/gadget/{weather.pk}/canvas")

    tile = response.context["tile"]
    html = response.content.decode()
    assert response.status_code == 200
    assert parse_qs(urlsplit(tile.iframe_src).query)["view"] == ["canvas"]
    assert 'class="gadget canvas"' in html
    assert f'href="/#gadget-{weather.pk}"' in html
    assert 'id="remote_iframe_1"' in html
    assert response["X-Frame-Options"] == "DENY"
    assert (
        "frame-src http://*.gadgets.localhost:8000"
        in response["Content-Security-Policy"]
    )


def test_canvas_passes_view_params_in_the_fragment(
    owner_client: Client, weather: InstalledGadget
) -> None:
    response = owner_client.get(
        f'/gadget/{weather.pk}/canvas?view-params={{"day":"monday"}}'
    )

    fragment = parse_qs(urlsplit(response.context["tile"].iframe_src).fragment)
    assert fragment["view-params"] == ['{"day":"monday"}']


def test_canvas_of_a_gadget_without_one_falls_back_to_its_default_view(
    owner_client: Client, plain: InstalledGadget
) -> None:
    response = owner_client.get(f"/gadget/{plain.pk}/canvas")

    assert response.status_code == 200
    assert response.context["tile"].iframe_src


@pytest.mark.parametrize("raw", ["[1,2]", "{bad", "x" * 3000])
def test_bad_view_params_are_refused_with_a_sentence(
    owner_client: Client, weather: InstalledGadget, raw: str
) -> None:
    response = owner_client.get(f"/gadget/{weather.pk}/canvas?view-params={raw}")

    assert response.status_code == 400
    assert b"view-params" in response.content


def test_an_outsider_cannot_open_the_canvas(
    outsider_client: Client, weather: InstalledGadget
) -> None:
    response = outsider_client.get(f"/gadget/{weather.pk}/canvas")

    assert response.status_code == 404
