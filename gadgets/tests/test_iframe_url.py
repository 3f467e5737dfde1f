"""``iframe_url``: host, query, fragment and token of a gadget's iframe."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from gadgets import features
from gadgets.errors import SpecError, ViewNotFound
from gadgets.iframe_url import iframe_url, select_view
from gadgets.locked_domain import gadget_origin
from gadgets.security_token import decode_token
from gadgets.tests.render_helpers import SPEC_URL, spec_of, spec_xml

PREFS = (
    '<UserPref name="color" default_value="red"/>'
    '<UserPref name="size" default_value="10"/>'
)


def parts(url: str) -> tuple[str, dict[str, str], dict[str, str]]:
    split = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
    fragment = {
        k: v[0] for k, v in parse_qs(split.fragment, keep_blank_values=True).items()
    }
    return f"{split.scheme}://{split.netloc}{split.path}", query, fragment


def build(xml: str, **kwargs: object):
    fields: dict[str, object] = {"owner": "owner", "viewer": "viewer", "module_id": 3}
    fields.update(kwargs)
    return iframe_url(spec_of(xml), **fields)  # type: ignore[arg-type]


def test_html_view_points_at_ifr_on_the_locked_host(settings) -> None:
    info = build(spec_xml(), view="home", lang="de", country="AT")
    base, query, _ = parts(info.url)
    assert info.origin == gadget_origin(SPEC_URL)
    assert base == f"{info.origin}/gadgets/ifr"
    assert query == {
        "url": SPEC_URL,
        "container": "default",
        "mid": "3",
        "view": "home",
        "lang": "de",
        "country": "AT",
        "nocache": "0",
        "parent": settings.CONTAINER_ORIGIN,
        "v": features.version(),
    }


def test_token_and_rpctoken_are_in_the_fragment_only() -> None:
    info = build(spec_xml(), rpctoken="r123")
    _, query, fragment = parts(info.url)
    assert "st" not in query and "rpctoken" not in query
    assert fragment["st"] == info.security_token
    assert fragment["rpctoken"] == info.rpctoken == "r123"


def test_security_token_names_owner_viewer_gadget_and_module() -> None:
    info = build(spec_xml(), owner="alice", viewer="bob", module_id=9, ttl_seconds=60)
    token = decode_token(info.security_token)
    assert (token.owner, token.viewer, token.gadget_url, token.module_id) == (
        "alice",
        "bob",
        SPEC_URL,
        9,
    )
    assert token.expires_at - token.issued_at == 60


def test_each_iframe_gets_a_random_rpctoken() -> None:
    first, second = build(spec_xml()), build(spec_xml())
    assert first.rpctoken and first.rpctoken != second.rpctoken


def test_prefs_go_in_the_fragment_when_the_server_does_not_need_them() -> None:
    info = build(spec_xml(user_prefs=PREFS), prefs={"color": "blue", "other": "x"})
    _, query, fragment = parts(info.url)
    assert not any(key.startswith("up_") for key in query)
    assert fragment["up_color"] == "blue"
    assert fragment["up_size"] == "10"
    assert "up_other" not in fragment  # only declared prefs


@pytest.mark.parametrize(
    "xml",
    [
        spec_xml("<Content><![CDATA[__UP_color__]]></Content>", user_prefs=PREFS),
        spec_xml(title="__UP_color__", user_prefs=PREFS),
        spec_xml(
            module_prefs='<Preload href="http://d.example.com/?c=__UP_color__"/>',
            user_prefs=PREFS,
        ),
    ],
)
def test_prefs_go_in_the_query_when_the_page_uses_them(xml: str) -> None:
    _, query, fragment = parts(build(xml, prefs={"color": "blue"}).url)
    assert query["up_color"] == "blue" and query["up_size"] == "10"
    assert "up_color" not in fragment


def test_view_params_and_nocache() -> None:
    info = build(spec_xml(), view_params={"a": [1, "x"]}, nocache=True)
    _, query, fragment = parts(info.url)
    assert query["nocache"] == "1"
    assert json.loads(fragment["view-params"]) == {"a": [1, "x"]}


def test_url_view_points_at_its_href_with_prefs_in_the_query() -> None:
    xml = spec_xml(
        '<Content type="url" href="https://app.example.com/g?m=__MSG_m__#old"/>',
        user_prefs=PREFS,
        module_prefs='<Require feature="settitle"/>',
    )
    info = build(xml, messages={"m": "hi"}, prefs={"color": "blue"})
    base, query, fragment = parts(info.url)
    assert base == "https://app.example.com/g"
    assert info.origin == "https://app.example.com"
    assert query["m"] == "hi" and query["up_color"] == "blue"
    assert query["libs"].startswith("http://localhost:8000/gadgets/js/")
    assert "settitle" in query["libs"]
    assert "v" not in query
    assert fragment["st"] == info.security_token
    assert "old" not in info.url


def test_relative_url_view_href_resolves_against_the_spec() -> None:
    info = build(spec_xml('<Content type="url" href="app/page.html"/>'))
    assert info.url.startswith("http://gadgets.example.com/app/page.html?url=")


def test_url_view_with_non_http_href_is_refused() -> None:
    with pytest.raises(SpecError):
        build(spec_xml('<Content type="url" href="data:text/html,x"/>'))


def test_view_selection_follows_aliases_and_default() -> None:
    spec = spec_of(
        spec_xml(
            '<Content view="home">h</Content><Content view="FULL_PAGE">f</Content>'
        )
    )
    assert select_view(spec, "home").name == "home"
    assert select_view(spec, "default").name == "home"
    assert select_view(spec, "canvas").name == "FULL_PAGE"
    assert select_view(spec, "canvas.more").name == "FULL_PAGE"
    with pytest.raises(ViewNotFound):
        select_view(spec, "profile")


def test_missing_view_is_refused() -> None:
    with pytest.raises(ViewNotFound):
        build(spec_xml('<Content view="canvas">c</Content>'), view="profile")
