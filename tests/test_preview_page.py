"""The gadget preview page (/preview) as the server renders it.

What the browser does with the page (rpc, resizing, navigation) is in
tests/browser/test_gadget_render.py; these tests pin the HTML, the headers
and the errors, with the network replaced at the guarded client.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from gadgets.locked_domain import gadget_origin
from gadgets.security_token import decode_token

SPEC_URL = "http://gadgets.example.com/showcase.xml"
SHOWCASE = (Path(__file__).parent / "gadgets" / "showcase.xml").read_text()

pytestmark = pytest.mark.django_db


@pytest.fixture
def showcase(fake_upstream: Any) -> Any:
    fake_upstream.add(SPEC_URL, SHOWCASE, headers=[("Content-Type", "text/xml")])
    return fake_upstream


def iframe_src(body: str) -> str:
    match = re.search(r'<iframe id="remote_iframe_\d+"[^>]*\ssrc="([^"]+)"', body)
    assert match, "no gadget iframe on the page"
    return html.unescape(match.group(1))


def fragment(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).fragment).items()}


def all_params(url: str) -> dict[str, str]:
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    return {**query, **fragment(url)}


def test_page_without_url_offers_the_spec_form(client: Client) -> None:
    response = client.get("/preview")

    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="url"' in body
    assert "<iframe" not in body
    assert "frame-src 'none'" in response["Content-Security-Policy"]


def test_gadget_renders_in_an_iframe_on_its_locked_host(
    client: Client, showcase: Any
) -> None:
    response = client.get("/preview", {"url": SPEC_URL})

    assert response.status_code == 200
    src = iframe_src(response.content.decode())
    assert src.startswith(gadget_origin(SPEC_URL) + "/gadgets/ifr?")
    assert 'name="remote_iframe_0"' in response.content.decode()
    assert all_params(src)["url"] == SPEC_URL


def test_page_policy_allows_only_its_own_scripts_and_the_gadget_frame(
    client: Client, showcase: Any
) -> None:
    response = client.get("/preview", {"url": SPEC_URL})

    policy = response["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert f"frame-src {gadget_origin(SPEC_URL)};" in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    scripts = re.findall(r"<script([^>]*)>", response.content.decode())
    assert scripts, "the page loads its script"
    for attributes in scripts:
        assert "src=" in attributes or 'type="application/json"' in attributes


def test_title_and_prefs_form_come_from_the_spec(client: Client, showcase: Any) -> None:
    body = client.get("/preview", {"url": SPEC_URL}).content.decode()

    assert '<span class="title" id="remote_iframe_0_title">Showcase</span>' in body
    assert re.search(r'<input name="up_name" value="World">', body)
    assert '<option value="blue" selected>Blue</option>' in body
    assert '<option value="orange">Orange</option>' in body


def test_prefs_from_the_query_reach_the_form_and_the_gadget(
    client: Client, showcase: Any
) -> None:
    response = client.get(
        "/preview", {"url": SPEC_URL, "up_name": "Ada", "up_colour": "green"}
    )

    body = response.content.decode()
    assert '<input name="up_name" value="Ada">' in body
    assert '<option value="green" selected>Green</option>' in body
    params = all_params(iframe_src(body))
    assert params["up_name"] == "Ada"
    assert params["up_colour"] == "green"


def test_view_switcher_links_each_view_of_the_spec(
    client: Client, showcase: Any
) -> None:
    body = client.get(
        "/preview", {"url": SPEC_URL, "view-params": '{"a": 1}'}
    ).content.decode()

    links = dict(re.findall(r'<a href="([^"]+)" data-view="(\w+)"', body))
    assert sorted(links.values()) == ["canvas", "default"]
    canvas = next(href for href, view in links.items() if view == "canvas")
    assert "view=canvas" in html.unescape(canvas)
    assert "view-params" not in html.unescape(canvas)


def test_requested_view_and_view_params_reach_the_iframe(
    client: Client, showcase: Any
) -> None:
    response = client.get(
        "/preview",
        {"url": SPEC_URL, "view": "canvas", "view-params": '{"from": "default"}'},
    )

    body = response.content.decode()
    params = all_params(iframe_src(body))
    assert params["view"] == "canvas"
    assert params["view-params"] == '{"from":"default"}'
    assert 'data-view="canvas" aria-current="page"' in body


def test_anonymous_visitor_renders_with_empty_owner_and_viewer(
    client: Client, showcase: Any
) -> None:
    body = client.get("/preview", {"url": SPEC_URL}).content.decode()

    token = decode_token(fragment(iframe_src(body))["st"])
    assert (token.owner, token.viewer) == ("", "")
    assert token.gadget_url == SPEC_URL
    assert "an anonymous viewer" in body


def test_signed_in_developer_is_owner_and_viewer(client: Client, showcase: Any) -> None:
    developer = get_user_model().objects.create_user("developer", password="pw-1")
    client.force_login(developer)

    body = client.get("/preview", {"url": SPEC_URL, "mid": "7"}).content.decode()

    assert 'id="remote_iframe_7"' in body
    token = decode_token(fragment(iframe_src(body))["st"])
    assert (token.owner, token.viewer, token.module_id) == (
        "developer",
        "developer",
        7,
    )


def test_page_data_for_the_script_is_json_not_script(
    client: Client, showcase: Any
) -> None:
    body = client.get("/preview", {"url": SPEC_URL}).content.decode()

    match = re.search(
        r'<script id="preview-data" type="application/json">(.*?)</script>', body
    )
    assert match
    assert '"iframeId": "remote_iframe_0"' in match.group(1)
    assert gadget_origin(SPEC_URL) in match.group(1)


@pytest.mark.parametrize(
    ("query", "status", "sentence"),
    [
        ({"url": "ftp://example.com/g.xml"}, 400, "must be an absolute http"),
        ({"url": "http://gadgets.example.com/missing.xml"}, 502, "missing.xml"),
        ({"url": SPEC_URL, "mid": "seven"}, 400, "module id (mid) must be"),
        ({"url": SPEC_URL, "mid": "²"}, 400, "module id (mid) must be"),
        ({"url": SPEC_URL, "mid": "9" * 5000}, 400, "module id (mid) must be"),
        ({"url": SPEC_URL, "view-params": "[1, 2]"}, 400, "must be a JSON object"),
    ],
)
def test_bad_requests_are_a_sentence_on_the_page(
    client: Client, showcase: Any, query: dict[str, str], status: int, sentence: str
) -> None:
    response = client.get("/preview", query)

    assert response.status_code == status
    body = html.unescape(response.content.decode())
    assert sentence in body
    assert "<iframe" not in body
    assert "Traceback" not in body


def test_unparseable_spec_is_explained_not_a_server_error(
    client: Client, fake_upstream: Any
) -> None:
    fake_upstream.add(SPEC_URL, "<Module><ModulePrefs title='x'>")

    response = client.get("/preview", {"url": SPEC_URL})

    assert response.status_code == 400
    assert 'id="preview-error"' in response.content.decode()


def test_everything_from_the_request_is_escaped(client: Client) -> None:
    hostile = 'http://x.example.com/"><script>alert(1)</script>'

    response = client.get("/preview", {"url": hostile})

    body = response.content.decode()
    assert "<script>alert(1)" not in body
    assert "&lt;script&gt;alert(1)" in body


def test_pref_values_in_the_title_are_escaped_once(
    client: Client, fake_upstream: Any
) -> None:
    fake_upstream.add(
        SPEC_URL,
        '<Module><ModulePrefs title="Hello, __UP_name__"/>'
        '<UserPref name="name" default_value="world"/>'
        "<Content>hi</Content></Module>",
    )

    body = client.get(
        "/preview", {"url": SPEC_URL, "up_name": "O'Brien <b>"}
    ).content.decode()

    title = re.search(r'id="remote_iframe_0_title">([^<]*)</span>', body)
    assert title
    assert html.unescape(title.group(1)) == "Hello, O'Brien <b>"


def test_page_answers_only_get(client: Client) -> None:
    response = client.post("/preview", {"url": SPEC_URL})

    assert response.status_code == 405
