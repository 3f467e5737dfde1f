"""makeRequest below the view: parameters, headers, results and the envelope."""

from __future__ import annotations

import json

import pytest

from gadgets import makerequest
from gadgets.errors import (
    AuthzNotSupported,
    InvalidParameter,
    InvalidUrl,
    ReservedParameter,
)
from gadgets.makerequest import (
    ProxyRequest,
    envelope,
    parse_headers,
    parse_proxy_request,
    proxy_fetch,
)
from gadgets.security_token import SecurityToken

URL = "https://api.example.com/data"
TOKEN = SecurityToken(
    owner="alice",
    viewer="alice",
    gadget_url="https://gadgets.example.com/g.xml",
    module_id=1,
    container="default",
    issued_at=0,
    expires_at=2**40,
)


def parse(**params: str) -> ProxyRequest:
    return parse_proxy_request({"url": URL, **params})


# Parameters ----------------------------------------------------------------


def test_defaults_follow_shindig() -> None:
    req = parse()

    assert req.url == URL
    assert req.http_method == "GET"
    assert req.authz == "none"
    assert req.content_type == "TEXT"
    assert req.num_entries == 3
    assert req.get_summaries is False
    assert req.sign_owner is True and req.sign_viewer is True
    assert req.get_full_headers is False
    assert req.nocache is False
    assert req.refresh is None
    assert req.post_data == b""
    assert req.headers == {}


def test_all_parameters_are_read() -> None:
    req = parse(
        httpMethod="post",
        postData="a=1",
        authz="signed",
        st="tok",
        contentType="feed",
        numEntries="7",
        getSummaries="true",
        signOwner="false",
        signViewer="0",
        getFullHeaders="true",
        nocache="1",
        refresh="60",
        bypassSpecCache="1",
        OAUTH_SERVICE_NAME="contacts",
        oauthState="xyz",
    )

    assert req.http_method == "POST"
    assert req.post_data == b"a=1"
    assert req.authz == "signed"
    assert req.st == "tok"
    assert req.content_type == "FEED"
    assert req.num_entries == 7
    assert req.get_summaries and req.get_full_headers and req.nocache
    assert not req.sign_owner and not req.sign_viewer
    assert req.refresh == 60
    assert req.bypass_spec_cache
    assert req.oauth_params == {"OAUTH_SERVICE_NAME": "contacts", "oauthState": "xyz"}


def test_empty_authz_means_none() -> None:
    assert parse(authz="").authz == "none"


def test_post_gets_a_form_content_type_by_default() -> None:
    req = parse(httpMethod="POST", postData="a=1")

    assert req.headers == {"Content-Type": "application/x-www-form-urlencoded"}


def test_missing_url_is_named() -> None:
    with pytest.raises(InvalidParameter, match="url parameter is missing"):
        parse_proxy_request({})


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "javascript:alert(1)",
        "/relative/path",
        "file:///etc/passwd",
        "https://",
        "https://example.com:99999/",
        "https://user:pw@example.com/",
        "https://example.com/a b",
    ],
)
def test_bad_url_is_refused(url: str) -> None:
    with pytest.raises(InvalidUrl, match="url parameter"):
        parse_proxy_request({"url": url})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("httpMethod", "PATCH"),
        ("authz", "kerberos"),
        ("contentType", "XML"),
        ("numEntries", "many"),
        ("getSummaries", "maybe"),
        ("signOwner", "perhaps"),
        ("refresh", "-5"),
        ("refresh", "soon"),
        ("refresh", "\u00b2"),
    ],
)
def test_bad_parameter_is_named_in_the_error(name: str, value: str) -> None:
    with pytest.raises(InvalidParameter, match=f"The {name} parameter"):
        parse(**{name: value})


def test_post_data_over_the_limit_is_refused(settings: object) -> None:
    settings.GADGETS = {**settings.GADGETS, "MAX_POST_BYTES": 10}  # type: ignore[attr-defined]

    with pytest.raises(InvalidParameter, match="postData parameter"):
        parse(httpMethod="POST", postData="x" * 11)


@pytest.mark.parametrize(("raw", "expected"), [("0", 1), ("-3", 1), ("500", 100)])
def test_num_entries_is_bounded(raw: str, expected: int) -> None:
    assert parse(numEntries=raw).num_entries == expected


def test_fetch_url_drops_the_fragment_but_url_keeps_it() -> None:
    req = parse_proxy_request({"url": URL + "#top"})

    assert req.url == URL + "#top"
    assert req.fetch_url == URL


# Reserved parameters -------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["oauth_token", "OAuth_Signature", "xoauth_x", "opensocial_owner_id"]
)
def test_reserved_parameter_in_url_query_is_refused(name: str) -> None:
    with pytest.raises(ReservedParameter, match=name):
        parse_proxy_request({"url": f"{URL}?q=1&{name}=spoof"})


@pytest.mark.parametrize("authz", ["none", "signed", "oauth"])
def test_reserved_parameter_in_form_post_data_is_refused(authz: str) -> None:
    with pytest.raises(ReservedParameter, match="opensocial_viewer_id"):
        parse(httpMethod="POST", authz=authz, postData="a=1&opensocial_viewer_id=bob")


def test_reserved_parameter_after_a_semicolon_is_refused() -> None:
    with pytest.raises(ReservedParameter, match="oauth_token"):
        parse_proxy_request({"url": f"{URL}?a=1;oauth_token=x"})


def test_reserved_looking_text_in_json_post_data_is_allowed() -> None:
    req = parse(
        httpMethod="POST",
        postData='{"oauth_token": "x"}',
        headers="Content-Type=application%2Fjson",
    )

    assert req.post_data == b'{"oauth_token": "x"}'


def test_parameters_merely_containing_oauth_pass() -> None:
    req = parse_proxy_request({"url": URL + "?my_oauth=1&token=2"})

    assert req.url == URL + "?my_oauth=1&token=2"


# Headers -------------------------------------------------------------------


def test_forbidden_headers_are_dropped_and_ordinary_ones_kept() -> None:
    encoded = "&".join(
        [
            "Host=evil.example",
            "Content-Length=5",
            "Connection=close",
            "Transfer-Encoding=chunked",
            "Cookie=sessionid%3Dabc",
            "Accept-Encoding=gzip",
            "X-Forwarded-For=10.0.0.1",
            "Proxy-Authorization=Basic+x",
            "X-shindig-dos=on",
            "X-Shindig-ST=tok",
            "Accept=application%2Fjson",
            "Authorization=Bearer+abc",
            "X-Api-Key=k1",
        ]
    )

    assert parse_headers(encoded) == {
        "Accept": "application/json",
        "Authorization": "Bearer abc",
        "X-Api-Key": "k1",
    }


def test_gadget_authorization_is_kept_only_for_authz_none() -> None:
    headers = "Authorization=Bearer+mine&Accept=text%2Fplain"

    assert parse(headers=headers).headers["Authorization"] == "Bearer mine"
    assert parse(headers=headers, authz="signed").headers == {"Accept": "text/plain"}


def test_repeated_header_values_are_joined() -> None:
    assert parse_headers("Accept=a&accept=b") == {"Accept": "a, b"}


@pytest.mark.parametrize(
    "encoded", ["NoEquals", "Bad%20Name=x", "X-A=1%0D%0AHost%3A+evil"]
)
def test_malformed_headers_parameter_is_named(encoded: str) -> None:
    with pytest.raises(InvalidParameter, match="headers parameter"):
        parse_headers(encoded)


# Results -------------------------------------------------------------------


async def test_result_has_rc_body_and_only_location_by_default(fake_upstream) -> None:
    fake_upstream.add(
        URL,
        "hello",
        headers=[
            ("content-type", "text/plain"),
            ("set-cookie", "a=1"),
            ("location", "https://x.example/"),
            ("x-other", "1"),
        ],
    )

    result = await proxy_fetch(parse(), TOKEN)

    assert result == {
        "rc": 200,
        "body": "hello",
        "headers": {"location": ["https://x.example/"]},
    }


async def test_full_headers_are_lower_cased_lists_without_set_cookie(
    fake_upstream,
) -> None:
    fake_upstream.add(
        URL,
        "x",
        headers=[("X-Multi", "1"), ("x-multi", "2"), ("Set-Cookie", "a=1")],
    )

    result = await proxy_fetch(parse(getFullHeaders="true"), TOKEN)

    assert result["headers"] == {"x-multi": ["1", "2"]}


async def test_body_is_decoded_with_the_declared_charset(fake_upstream) -> None:
    fake_upstream.add(
        URL,
        "caf\u00e9".encode("latin-1"),
        headers=[("content-type", "text/plain; charset=ISO-8859-1")],
    )

    result = await proxy_fetch(parse(), TOKEN)

    assert result["body"] == "caf\u00e9"


@pytest.mark.parametrize("charset", ["bogus", "base64", "rot13"])
async def test_charset_that_is_not_a_text_encoding_falls_back_to_utf8(
    fake_upstream, charset: str
) -> None:
    fake_upstream.add(
        URL, "caf\u00e9", headers=[("content-type", f"text/plain; charset={charset}")]
    )

    result = await proxy_fetch(parse(), TOKEN)

    assert result["body"] == "caf\u00e9"


async def test_undecodable_bytes_are_replaced(fake_upstream) -> None:
    fake_upstream.add(
        URL, b"ok\xff", headers=[("content-type", "text/plain; charset=bogus")]
    )

    result = await proxy_fetch(parse(), TOKEN)

    assert result["body"] == "ok\ufffd"


@pytest.mark.parametrize("content_type", ["TEXT", "JSON", "DOM"])
async def test_text_json_and_dom_bodies_pass_through(
    fake_upstream, content_type: str
) -> None:
    body = '{"a": [1, 2]}' if content_type == "JSON" else "<r><a>1</a></r>"
    fake_upstream.add(URL, body)

    result = await proxy_fetch(parse(contentType=content_type), TOKEN)

    assert result["body"] == body


async def test_upstream_error_status_is_passed_on(fake_upstream) -> None:
    fake_upstream.add(URL, "nope", status=404)

    result = await proxy_fetch(parse(), TOKEN)

    assert (result["rc"], result["body"]) == (404, "nope")


async def test_authz_without_a_handler_is_not_supported(fake_upstream) -> None:
    with pytest.raises(AuthzNotSupported):
        await proxy_fetch(parse(authz="oauth2"), TOKEN)

    assert fake_upstream.calls == []


async def test_registered_authz_handler_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def handler(req: ProxyRequest, token: SecurityToken) -> dict[str, object]:
        return {"rc": 200, "body": token.viewer, "headers": {}}

    monkeypatch.setattr(makerequest, "_authz_handlers", {})
    makerequest.register_authz_handler("oauth", handler)

    result = await proxy_fetch(parse(authz="oauth"), TOKEN)

    assert result["body"] == "alice"


def test_no_handler_can_be_registered_for_authz_none() -> None:
    with pytest.raises(ValueError, match="none"):
        makerequest.register_authz_handler("none", proxy_fetch)  # type: ignore[arg-type]


# Envelope ------------------------------------------------------------------


def test_envelope_starts_with_the_unparseable_prefix_and_is_keyed_by_url() -> None:
    response = envelope(URL + "#frag", {"rc": 200, "body": "\u00e9", "headers": {}})

    prefix = b"throw 1; < don't be evil' >"
    assert response.status_code == 200
    assert response.content.startswith(prefix)
    data = json.loads(response.content[len(prefix) :].decode("utf-8"))
    assert data == {URL + "#frag": {"rc": 200, "body": "\u00e9", "headers": {}}}


def test_envelope_headers_keep_it_from_rendering() -> None:
    response = envelope(URL, {"rc": 200, "body": "", "headers": {}})

    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"] == "attachment; filename=p.txt"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_envelope_is_compact() -> None:
    response = envelope(URL, {"rc": 200, "body": "", "headers": {}})

    assert b'{"rc":200,"body":"","headers":{}}' in response.content
