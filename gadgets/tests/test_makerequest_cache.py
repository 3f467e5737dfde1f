"""Caching of unsigned makeRequest answers, and stale copies on failure."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gadgets import makerequest, outbound
from gadgets.errors import DestinationBlocked, UpstreamTimeout
from gadgets.makerequest import ProxyRequest, parse_proxy_request, proxy_fetch
from gadgets.outbound import OutboundResponse
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


class Clock:
    """Stands in for time.time inside makerequest."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(makerequest.time, "time", fake)
    return fake


async def fetch_twice(params: dict[str, str] | None = None) -> tuple[Any, Any]:
    first = await proxy_fetch(parse(**(params or {})), TOKEN)
    second = await proxy_fetch(parse(**(params or {})), TOKEN)
    return first, second


async def test_second_get_is_served_from_cache(fake_upstream) -> None:
    fake_upstream.add(URL, "v1")

    first, second = await fetch_twice()

    assert first == second
    assert len(fake_upstream.calls) == 1


async def test_nocache_bypasses_the_cache(fake_upstream) -> None:
    fake_upstream.add(URL, "v1")

    await fetch_twice({"nocache": "1"})

    assert len(fake_upstream.calls) == 2


@pytest.mark.parametrize("directive", ["no-store", "private", "no-cache, max-age=60"])
async def test_uncacheable_answers_are_not_kept(fake_upstream, directive: str) -> None:
    fake_upstream.add(URL, "v1", headers=[("cache-control", directive)])

    await fetch_twice()

    assert len(fake_upstream.calls) == 2


async def test_post_is_never_cached(fake_upstream) -> None:
    fake_upstream.add(URL, "v1")

    await fetch_twice({"httpMethod": "POST", "postData": "a=1"})

    assert len(fake_upstream.calls) == 2


async def test_non_200_answers_are_not_kept(fake_upstream) -> None:
    fake_upstream.add(URL, "missing", status=404)

    await fetch_twice()

    assert len(fake_upstream.calls) == 2


async def test_gadget_authorization_header_prevents_caching(fake_upstream) -> None:
    fake_upstream.add(URL, "private data")

    await fetch_twice({"headers": "Authorization=Bearer+abc"})

    assert len(fake_upstream.calls) == 2


async def test_different_request_headers_are_cached_apart(fake_upstream) -> None:
    fake_upstream.add(URL, "v1")

    await proxy_fetch(parse(headers="Accept-Language=fr"), TOKEN)
    await proxy_fetch(parse(headers="Accept-Language=de"), TOKEN)

    assert len(fake_upstream.calls) == 2


async def test_content_type_is_part_of_the_key(fake_upstream) -> None:
    fake_upstream.add(URL, "{}")

    await proxy_fetch(parse(contentType="TEXT"), TOKEN)
    await proxy_fetch(parse(contentType="JSON"), TOKEN)

    assert len(fake_upstream.calls) == 2


async def test_signed_requests_are_never_cached(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []

    async def handler(req: ProxyRequest, token: SecurityToken) -> dict[str, Any]:
        calls.append(token.viewer)
        return {"rc": 200, "body": "for " + token.viewer, "headers": {}}

    monkeypatch.setattr(makerequest, "_authz_handlers", {"signed": handler})

    await fetch_twice({"authz": "signed"})

    assert calls == ["alice", "alice"]
    assert makerequest.cache_key(parse(authz="signed")) is None


async def test_default_ttl_applies_to_200s(
    fake_upstream, clock: Clock, settings
) -> None:
    settings.GADGETS = {**settings.GADGETS, "DEFAULT_FETCH_TTL_SECONDS": 100}
    fake_upstream.add(URL, "v1")

    await proxy_fetch(parse(), TOKEN)
    clock.now += 99
    await proxy_fetch(parse(), TOKEN)
    clock.now += 2
    await proxy_fetch(parse(), TOKEN)

    assert len(fake_upstream.calls) == 2


async def test_upstream_max_age_sets_the_lifetime(fake_upstream, clock: Clock) -> None:
    fake_upstream.add(URL, "v1", headers=[("cache-control", "public, max-age=10")])

    await proxy_fetch(parse(), TOKEN)
    clock.now += 11
    await proxy_fetch(parse(), TOKEN)

    assert len(fake_upstream.calls) == 2


async def test_refresh_overrides_upstream_lifetime(fake_upstream, clock: Clock) -> None:
    fake_upstream.add(URL, "v1", headers=[("cache-control", "max-age=10")])

    await proxy_fetch(parse(refresh="600"), TOKEN)
    clock.now += 500
    await proxy_fetch(parse(refresh="600"), TOKEN)

    assert len(fake_upstream.calls) == 1


async def test_refresh_zero_disables_caching(fake_upstream) -> None:
    fake_upstream.add(URL, "v1")

    await fetch_twice({"refresh": "0"})

    assert len(fake_upstream.calls) == 2


async def test_stale_copy_is_served_when_upstream_fails(
    fake_upstream, clock: Clock
) -> None:
    fake_upstream.add(URL, "good", headers=[("cache-control", "max-age=10")])
    await proxy_fetch(parse(), TOKEN)
    clock.now += 60
    fake_upstream.add(URL, "down for maintenance", status=503)

    result = await proxy_fetch(parse(), TOKEN)

    assert result["rc"] == 200
    assert result["body"] == "good"
    assert len(fake_upstream.calls) == 2


async def test_stale_copy_is_served_on_timeout(fake_upstream, clock: Clock) -> None:
    fake_upstream.add(URL, "good", headers=[("cache-control", "max-age=10")])
    await proxy_fetch(parse(), TOKEN)
    clock.now += 60

    def timeout(request: Any) -> Any:
        raise UpstreamTimeout()

    fake_upstream.add_handler(URL, timeout)

    assert (await proxy_fetch(parse(), TOKEN))["body"] == "good"


async def test_without_a_stale_copy_the_failure_is_answered(fake_upstream) -> None:
    fake_upstream.add(URL, "down", status=503)

    result = await proxy_fetch(parse(), TOKEN)

    assert (result["rc"], result["body"]) == (503, "down")


async def test_client_error_answer_drops_the_stale_copy(
    fake_upstream, clock: Clock
) -> None:
    fake_upstream.add(URL, "good", headers=[("cache-control", "max-age=10")])
    await proxy_fetch(parse(), TOKEN)
    clock.now += 60
    fake_upstream.add(URL, "gone", status=410)
    await proxy_fetch(parse(), TOKEN)
    fake_upstream.add(URL, "down", status=503)

    assert (await proxy_fetch(parse(), TOKEN))["rc"] == 503


def test_cache_ttl_prefers_s_maxage() -> None:
    response = OutboundResponse(
        200, [("cache-control", "max-age=10, s-maxage=20")], b"", URL
    )

    assert makerequest.cache_ttl_seconds(parse(), response) == 20


async def test_concurrent_identical_gets_share_one_upstream_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []

    async def slow_fetch(request: Any) -> OutboundResponse:
        calls.append(request.url)
        await asyncio.sleep(0.05)
        return OutboundResponse(200, [], b"shared", request.url)

    monkeypatch.setattr(outbound, "fetch", slow_fetch)

    results = await asyncio.gather(*(proxy_fetch(parse(), TOKEN) for _ in range(20)))

    assert calls == [URL]
    assert {r["body"] for r in results} == {"shared"}
    assert makerequest._in_flight == {}


async def test_uncacheable_concurrent_requests_each_go_upstream(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []

    async def slow_fetch(request: Any) -> OutboundResponse:
        calls.append(request.url)
        await asyncio.sleep(0.01)
        return OutboundResponse(200, [], b"x", request.url)

    monkeypatch.setattr(outbound, "fetch", slow_fetch)

    await asyncio.gather(*(proxy_fetch(parse(nocache="1"), TOKEN) for _ in range(3)))

    assert len(calls) == 3


@pytest.mark.parametrize("value", ["\u00b2", "-1", "soon"])
def test_odd_max_age_falls_back_to_the_default(value: str, settings) -> None:
    response = OutboundResponse(200, [("cache-control", f"max-age={value}")], b"", URL)

    assert makerequest.cache_ttl_seconds(parse(), response) == int(
        settings.GADGETS["DEFAULT_FETCH_TTL_SECONDS"]
    )


async def test_one_waiter_going_away_does_not_cancel_the_shared_fetch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def slow_fetch(request: Any) -> OutboundResponse:
        await asyncio.sleep(0.05)
        return OutboundResponse(200, [], b"done", request.url)

    monkeypatch.setattr(outbound, "fetch", slow_fetch)
    impatient = asyncio.ensure_future(proxy_fetch(parse(), TOKEN))
    patient = asyncio.ensure_future(proxy_fetch(parse(), TOKEN))
    await asyncio.sleep(0.01)

    impatient.cancel()

    assert (await patient)["body"] == "done"


async def test_a_refused_destination_reaches_every_waiter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def blocked(request: Any) -> OutboundResponse:
        await asyncio.sleep(0.01)
        raise DestinationBlocked()

    monkeypatch.setattr(outbound, "fetch", blocked)

    results = await asyncio.gather(
        *(proxy_fetch(parse(), TOKEN) for _ in range(3)), return_exceptions=True
    )

    assert all(isinstance(r, DestinationBlocked) for r in results)
