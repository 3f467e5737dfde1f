"""The home page: columns of gadgets, their chrome, iframes and headers."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client

from container import home
from container.models import InstalledGadget
from container.tests.conftest import PLAIN_URL
from gadgets.iframe_url import Locale
from gadgets.security_token import decode_token

pytestmark = pytest.mark.django_db


def iframe_src(html: str, module_id: int) -> str:
    match = re.search(
        rf'<iframe id="remote_iframe_{module_id}" name="remote_iframe_{module_id}" '
        r'src="([^"]+)"',
        html,
    )
    assert match, f"no iframe for module {module_id}"
    return match.group(1).replace("&amp;", "&")


def test_anonymous_visitor_sees_the_welcome_page(client: Client) -> None:
    response = client.get("/")

    assert response.status_code == 200
    assert b"Sign up" in response.content
    assert b"remote_iframe" not in response.content


def test_home_shows_each_gadget_in_an_iframe_named_after_its_module_id(
    owner_client: Client, weather: InstalledGadget, plain: InstalledGadget
) -> None:
    html = owner_client.get("/").content.decode()

    for gadget in (weather, plain):
        src = iframe_src(html, gadget.module_id)
        query = parse_qs(urlsplit(src).query)
        assert query["mid"] == [str(gadget.module_id)]
        assert query["view"] == ["home"]


def test_iframe_runs_on_the_gadgets_own_origin_with_owner_and_viewer_in_the_token(
    owner_client: Client, weather: InstalledGadget
) -> None:
    src = iframe_src(owner_client.get("/").content.decode(), weather.module_id)

    parts = urlsplit(src)
    fragment = parse_qs(parts.fragment)
    token = decode_token(fragment["st"][0])
    assert parts.netloc.endswith(".gadgets.localhost:8000")
    assert (token.owner, token.viewer) == ("owner", "owner")
    assert token.module_id == weather.module_id
    assert fragment["rpctoken"][0]


def test_height_comes_from_the_views_preferred_height(
    owner_client: Client, weather: InstalledGadget
) -> None:
    html = owner_client.get("/").content.decode()

    assert re.search(r'id="remote_iframe_1"[^>]*height="180"', html.replace("\n", " "))


def test_height_falls_back_to_the_module_prefs_height(owner: User, specs: Any) -> None:
    specs.add(
        "http://gadgets.example/tall.xml",
        '<Module><ModulePrefs title="Tall" height="333"/><Content>x</Content></Module>',
    )
    gadget = home.add_gadget(owner, "http://gadgets.example/tall.xml")

    [tile] = home.home_page(owner, owner).tiles

    assert tile.gadget == gadget
    assert tile.height_px == 333


def test_title_is_localised_with_the_saved_prefs(
    owner_client: Client, weather: InstalledGadget
) -> None:
    weather.prefs = {"city": "Oslo"}
    weather.save()

    html = owner_client.get("/").content.decode()

    assert 'id="remote_iframe_1_title"' in html
    assert "Weather for Oslo" in html


def test_settings_link_only_for_gadgets_with_visible_prefs(
    owner_client: Client, weather: InstalledGadget, plain: InstalledGadget
) -> None:
    html = owner_client.get("/").content.decode()

    assert f"/gadget/{weather.pk}/settings" in html
    assert f"/gadget/{plain.pk}/settings" not in html


def test_canvas_link_only_for_gadgets_with_a_canvas_view(
    owner_client: Client, weather: InstalledGadget, plain: InstalledGadget
) -> None:
    html = owner_client.get("/").content.decode()

    assert f'href="/gadget/{weather.pk}/canvas"' in html
    assert f'href="/gadget/{plain.pk}/canvas"' not in html


def test_a_gadget_whose_spec_breaks_shows_a_sentence_not_an_error_page(
    owner_client: Client, owner: User, specs: Any
) -> None:
    InstalledGadget.objects.create(
        owner=owner,
        spec_url="http://gadgets.example/gone.xml",
        module_id=9,
        title="Gone",
    )

    response = owner_client.get("/")

    assert response.status_code == 200
    assert b"Gone" in response.content
    assert b"could not be fetched" in response.content
    assert b'remote_iframe_9"' not in response.content


def test_warm_home_page_fetches_no_spec(
    owner_client: Client, weather: InstalledGadget, plain: InstalledGadget, specs: Any
) -> None:
    owner_client.get("/")
    calls = len(specs.calls)

    owner_client.get("/")

    assert len(specs.calls) == calls


def test_home_page_shows_only_the_owners_gadgets(
    outsider_client: Client, weather: InstalledGadget
) -> None:
    html = outsider_client.get("/").content.decode()

    assert "remote_iframe_" not in html
    assert "Weather" not in html


def test_container_pages_send_csp_and_deny_framing(
    owner_client: Client, weather: InstalledGadget
) -> None:
    response = owner_client.get("/")

    policy = response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-src http://*.gadgets.localhost:8000" in policy
    assert "script-src 'self' http://localhost:8000;" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy


@pytest.mark.parametrize(
    "path", ["/", "/add/", "/connected-services/", "/accounts/login/"]
)
def test_every_page_has_a_csp_and_no_inline_script(
    owner_client: Client, path: str
) -> None:
    response = owner_client.get(path)

    assert "default-src 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    scripts = re.findall(r"<script([^>]*)>", response.content.decode())
    for attributes in scripts:
        assert "src=" in attributes or 'type="application/json"' in attributes


def test_page_data_lists_each_gadgets_rpc_setup(
    owner_client: Client, weather: InstalledGadget
) -> None:
    response = owner_client.get("/")

    [entry] = response.context["page_data"]["gadgets"]
    assert entry["iframeId"] == "remote_iframe_1"
    assert entry["origin"].endswith(".gadgets.localhost:8000")
    assert entry["rpcToken"]
    assert entry["prefsUrl"] == f"/gadget/{weather.pk}/prefs"


def test_returning_from_canvas_passes_view_params_to_that_gadget(
    owner_client: Client, weather: InstalledGadget, plain: InstalledGadget
) -> None:
    url = f'/?gadget={weather.pk}&view-params={{"from":"canvas"}}'

    html = owner_client.get(url).content.decode()

    weather_fragment = parse_qs(urlsplit(iframe_src(html, weather.module_id)).fragment)
    plain_fragment = parse_qs(urlsplit(iframe_src(html, plain.module_id)).fragment)
    assert weather_fragment["view-params"] == ['{"from":"canvas"}']
    assert "view-params" not in plain_fragment


def test_malformed_view_params_are_refused_with_a_sentence(
    owner_client: Client, weather: InstalledGadget
) -> None:
    response = owner_client.get(f"/?gadget={weather.pk}&view-params=[1")

    assert response.status_code == 400
    assert b"view-params must be a JSON object." in response.content


def test_warm_home_page_makes_a_fixed_number_of_queries(
    owner_client: Client,
    owner: User,
    specs: Any,
    django_assert_max_num_queries: Any,
) -> None:
    for _ in range(5):
        home.add_gadget(owner, PLAIN_URL)
    owner_client.get("/")

    # Session, user and the gadgets: the same for 5 gadgets as for 1.
    with django_assert_max_num_queries(3):
        response = owner_client.get("/")

    assert len(response.context["page"].tiles) == 5


@pytest.mark.parametrize(
    ("header", "lang", "country"),
    [
        ("de-AT,de;q=0.9,en;q=0.5", "de", "AT"),
        ("fr", "fr", "ALL"),
        ("pt_br", "pt", "BR"),
        ("", "all", "ALL"),
        ("*", "all", "ALL"),
        ("x-klingon-1234", "all", "ALL"),
    ],
)
def test_locale_comes_from_the_first_accepted_language(
    header: str, lang: str, country: str
) -> None:
    assert home.locale_from_header(header) == Locale(lang, country)


def test_gadgets_render_in_the_readers_language(
    owner_client: Client, owner: User, specs: Any
) -> None:
    specs.add(
        "http://gadgets.example/hello.xml",
        "<Module><ModulePrefs title='__MSG_hi__'>"
        "<Locale><msg name='hi'>Hello</msg></Locale>"
        "<Locale lang='de'><msg name='hi'>Hallo</msg></Locale>"
        "</ModulePrefs><Content>x</Content></Module>",
    )
    gadget = home.add_gadget(owner, "http://gadgets.example/hello.xml")

    response = owner_client.get("/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.8")

    html = response.content.decode()
    query = parse_qs(urlsplit(iframe_src(html, gadget.module_id)).query)
    assert (query["lang"], query["country"]) == (["de"], ["DE"])
    assert "Hallo" in html
