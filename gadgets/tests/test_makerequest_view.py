"""/gadgets/makeRequest over HTTP: tokens, hosts, forwarding and failures."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from gadgets.errors import (
    DestinationBlocked,
    ResponseTooLarge,
    TooManyRedirects,
    UpstreamTimeout,
)
from gadgets.locked_domain import locked_host
from gadgets.security_token import encode_token

WEATHER = "https://gadgets.example.com/weather.xml"
NEWS = "https://gadgets.example.org/news.xml"
API = "https://api.example.com/data"
PREFIX = b"throw 1; < don't be evil' >"


class HostClient(AsyncClient):
    """An async test client that sends one Host header of our choosing.

    Django's AsyncClient always sends ``Host: testserver`` and appends any
    other Host after it, which would make every request's host invalid.
    """

    def __init__(self, host: str) -> None:
        super().__init__()
        self.host = host

    def _base_scope(self, **request: Any) -> dict[str, Any]:
        scope = super()._base_scope(**request)
        headers = [(k, v) for k, v in scope["headers"] if k != b"host"]
        scope["headers"] = [*headers, (b"host", self.host.encode("ascii"))]
        return scope  # type: ignore[no-any-return]


def token_for(gadget: str = WEATHER, **kwargs: Any) -> str:
    return encode_token(owner="alice", viewer="alice", gadget_url=gadget, **kwargs)


async def make_request(
    params: dict[str, str],
    *,
    gadget: str = WEATHER,
    host: str | None = None,
    post: bool = False,
    with_token: bool = True,
    headers: dict[str, str] | None = None,
) -> Any:
    client = HostClient(host or locked_host(gadget))
    all_params = {"url": API, **params}
    if with_token:
        all_params.setdefault("st", token_for(gadget))
    all_headers = headers or {}
    if post:
        return await client.post(
            "/gadgets/makeRequest",
            urlencode(all_params),
            content_type="application/x-www-form-urlencoded",
            headers=all_headers,
        )
    return await client.get("/gadgets/makeRequest", all_params, headers=all_headers)


def result_of(response: Any, url: str = API) -> dict[str, Any]:
    assert response.status_code == 200, response.content
    assert response.content.startswith(PREFIX)
    data = json.loads(response.content[len(PREFIX) :])
    assert list(data) == [url]
    return data[url]  # type: ignore[no-any-return]


# Tokens and hosts ----------------------------------------------------------


async def test_get_answers_the_envelope(fake_upstream) -> None:
    fake_upstream.add(API, "hello", headers=[("content-type", "text/plain")])

    response = await make_request({})

    assert result_of(response) == {"rc": 200, "body": "hello", "headers": {}}
    assert response["Content-Disposition"] == "attachment; filename=p.txt"
    assert response["Content-Type"] == "application/json; charset=utf-8"


async def test_envelope_bytes_are_exactly_shindigs(fake_upstream) -> None:
    fake_upstream.add(API, "hello")

    response = await make_request({})

    assert response.content == (
        b"throw 1; < don't be evil' >"
        b'{"https://api.example.com/data":{"rc":200,"body":"hello","headers":{}}}'
    )


async def test_feed_is_converted_end_to_end(fake_upstream) -> None:
    fake_upstream.add(
        API,
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        b"<link>https://api.example.com/</link><description>D</description>"
        b"<item><title>I</title><link>https://api.example.com/i</link></item>"
        b"</channel></rss>",
    )

    result = result_of(await make_request({"contentType": "FEED"}))

    feed = json.loads(result["body"])
    assert feed["Title"] == "T"
    assert [e["Title"] for e in feed["Entry"]] == ["I"]


async def test_token_in_x_shindig_st_header_is_accepted(fake_upstream) -> None:
    fake_upstream.add(API, "ok")

    response = await make_request(
        {}, with_token=False, headers={"X-Shindig-ST": token_for()}
    )

    assert result_of(response)["body"] == "ok"


async def test_missing_token_is_401(fake_upstream) -> None:
    response = await make_request({}, with_token=False)

    assert response.status_code == 401
    assert response["Content-Type"].startswith("text/plain")
    assert fake_upstream.calls == []


async def test_tampered_token_is_401(fake_upstream) -> None:
    response = await make_request({"st": token_for()[:-4] + "AAAA"})

    assert response.status_code == 401


async def test_expired_token_is_401(fake_upstream) -> None:
    stale = token_for(ttl_seconds=60, now=1_000_000)

    response = await make_request({"st": stale})

    assert response.status_code == 401
    assert fake_upstream.calls == []


async def test_token_of_another_gadget_is_refused_on_this_host(fake_upstream) -> None:
    # The news gadget replays the weather gadget's token from its own origin.
    response = await make_request(
        {"st": token_for(WEATHER)}, host=locked_host(NEWS), with_token=False
    )

    assert response.status_code == 403
    assert b"host" in response.content
    assert fake_upstream.calls == []


async def test_container_host_has_no_make_request(fake_upstream) -> None:
    response = await make_request({}, host="testserver")

    assert response.status_code == 404
    assert fake_upstream.calls == []


async def test_other_methods_are_not_allowed(fake_upstream) -> None:
    client = HostClient(locked_host(WEATHER))

    response = await client.put("/gadgets/makeRequest")

    assert response.status_code == 405


@pytest.mark.django_db
def test_unsigned_request_makes_no_sql_queries(
    fake_upstream, django_assert_num_queries
) -> None:
    # Run from a sync test so that anything reaching the database through
    # sync_to_async lands on this thread's connection, where it is counted
    # (a direct ORM call in the async view would fail outright).
    fake_upstream.add(API, "ok")

    with django_assert_num_queries(0):
        first = async_to_sync(make_request)({})
        second = async_to_sync(make_request)({})

    assert result_of(first)["body"] == result_of(second)["body"] == "ok"


# Forwarding ----------------------------------------------------------------


async def test_forbidden_headers_never_reach_the_upstream(fake_upstream) -> None:
    fake_upstream.add(API, "ok")
    headers = urlencode(
        {
            "Cookie": "sessionid=gadget",
            "Host": "internal.example",
            "X-Forwarded-For": "10.0.0.1",
            "Accept-Encoding": "gzip",
            "X-Custom": "kept",
        }
    )

    await make_request({"headers": headers})

    sent = {
        name.lower(): value for name, value in fake_upstream.calls[0].headers.items()
    }
    assert sent == {"x-custom": "kept"}


async def test_container_cookies_and_token_are_never_forwarded(fake_upstream) -> None:
    fake_upstream.add(API, "ok")

    await make_request(
        {},
        headers={"Cookie": "sessionid=container-session", "Authorization": "Basic x"},
    )

    sent = fake_upstream.calls[0]
    assert sent.headers == {}
    assert "st=" not in sent.url


async def test_post_forwards_post_data_and_content_type(fake_upstream) -> None:
    fake_upstream.add(API, "created", status=201)

    response = await make_request(
        {
            "httpMethod": "POST",
            "postData": '{"name": "caf\u00e9"}',
            "headers": "Content-Type=application%2Fjson",
        },
        post=True,
    )

    sent = fake_upstream.calls[0]
    assert (sent.method, sent.body) == ("POST", '{"name": "caf\u00e9"}'.encode())
    assert sent.headers == {"Content-Type": "application/json"}
    assert sent.follow_redirects is True
    assert result_of(response)["rc"] == 201


async def test_reserved_parameter_in_query_is_400(fake_upstream) -> None:
    response = await make_request({"url": API + "?oauth_consumer_key=spoof"})

    assert response.status_code == 400
    assert b"oauth_consumer_key" in response.content
    assert fake_upstream.calls == []


async def test_reserved_parameter_in_form_post_data_is_400(fake_upstream) -> None:
    response = await make_request(
        {"httpMethod": "POST", "postData": "opensocial_owner_id=bob"}, post=True
    )

    assert response.status_code == 400
    assert b"opensocial_owner_id" in response.content


async def test_bad_parameter_is_a_plain_text_400(fake_upstream) -> None:
    response = await make_request({"httpMethod": "TRACE"})

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert b"httpMethod" in response.content


async def test_oversized_form_is_413(fake_upstream, settings) -> None:
    settings.GADGETS = {**settings.GADGETS, "MAX_POST_BYTES": 10}

    response = await make_request(
        {"httpMethod": "POST", "postData": "x" * 70_000}, post=True
    )

    assert response.status_code == 413


async def test_result_is_keyed_by_the_url_as_sent(fake_upstream) -> None:
    fake_upstream.add(API, "ok")

    response = await make_request({"url": API + "#section"})

    assert result_of(response, API + "#section")["body"] == "ok"


# Not supported yet ---------------------------------------------------------


async def test_oauth2_requests_are_not_supported_yet(fake_upstream) -> None:
    response = await make_request({"authz": "oauth2"}, post=True)

    assert response.status_code == 501
    assert b"not enabled" in response.content
    assert fake_upstream.calls == []


# Upstream failures ---------------------------------------------------------


def raising(exc: Exception) -> Any:
    def handler(request: Any) -> Any:
        raise exc

    return handler


@pytest.mark.parametrize(
    ("exc", "rc"),
    [
        (UpstreamTimeout(), 504),
        (ResponseTooLarge(), 502),
        (TooManyRedirects(), 502),
    ],
)
async def test_upstream_failures_keep_the_envelope(
    fake_upstream, exc: Exception, rc: int
) -> None:
    fake_upstream.add_handler(API, raising(exc))

    result = result_of(await make_request({}))

    assert result == {"rc": rc, "body": str(exc), "headers": {}}


async def test_unreachable_upstream_is_rc_502(fake_upstream) -> None:
    result = result_of(
        await make_request(
            {"url": "https://down.example/"},
        ),
        "https://down.example/",
    )

    assert result["rc"] == 502


async def test_blocked_destination_is_a_plain_403(fake_upstream) -> None:
    fake_upstream.add_handler(API, raising(DestinationBlocked()))

    response = await make_request({})

    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/plain")
    assert b"private" in response.content


async def test_unexpected_failure_is_a_plain_502_not_a_500(fake_upstream) -> None:
    fake_upstream.add_handler(API, raising(RuntimeError("boom")))

    response = await make_request({})

    assert response.status_code == 502
    assert b"boom" not in response.content
