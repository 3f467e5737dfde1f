"""Fetching and caching specs: warm path, refresh, fallback, validators."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gadgets import specfetch
from gadgets.errors import (
    DestinationBlocked,
    InvalidUrl,
    SpecError,
    SpecFetchError,
    UpstreamTimeout,
)
from gadgets.models import GadgetSpec
from gadgets.outbound import OutboundRequest, OutboundResponse
from gadgets.specfetch import cache_key, get_spec, get_spec_sync
from gadgets.tests.specs import MINIMAL_SPEC_URL, RICH_SPEC_URL, load

pytestmark = pytest.mark.django_db(transaction=True)

URL = MINIMAL_SPEC_URL
V2 = load("minimal.xml").replace(b'title="Hello"', b'title="Hello v2"')


def expire_cache_entry(url: str) -> None:
    key = cache_key(url)
    entry = cache.get(key)
    cache.set(key, specfetch._Entry(entry.spec, fresh_until=time.time() - 1))


async def test_cold_fetch_parses_stores_and_caches(fake_upstream: Any) -> None:
    fake_upstream.add(URL, load("minimal.xml"), headers=[("ETag", '"v1"')])
    spec = await get_spec("HTTP://GADGETS.example.com/minimal.xml#x")
    assert spec.title == "Hello"
    request = fake_upstream.calls[0]
    assert request.url == URL
    assert (request.deadline_seconds, request.max_response_bytes) == (5, 512 * 1024)
    stored = await GadgetSpec.objects.aget(url=URL)
    assert bytes(stored.xml) == load("minimal.xml")
    assert (stored.etag, stored.checksum) == ('"v1"', spec.checksum)


def test_warm_path_makes_no_query_and_no_fetch(
    fake_upstream: Any,
    django_assert_num_queries: Any,
) -> None:
    fake_upstream.add(URL, load("minimal.xml"))
    with CaptureQueriesContext(connection) as cold:
        get_spec_sync(URL)
    assert len(cold.captured_queries) >= 1  # the counter does see this path

    with django_assert_num_queries(0):
        spec = get_spec_sync(URL)
    assert spec.title == "Hello"
    assert len(fake_upstream.calls) == 1


async def test_nocache_refetches(fake_upstream: Any) -> None:
    fake_upstream.add(URL, load("minimal.xml"))
    await get_spec(URL)
    fake_upstream.add(URL, V2)
    assert (await get_spec(URL)).title == "Hello"
    assert (await get_spec(URL, nocache=True)).title == "Hello v2"
    assert (await get_spec(URL)).title == "Hello v2"
    assert len(fake_upstream.calls) == 2


async def test_concurrent_cold_requests_share_one_fetch(fake_upstream: Any) -> None:
    fake_upstream.add(URL, load("minimal.xml"))
    specs = await asyncio.gather(*(get_spec(URL) for _ in range(20)))
    assert {spec.title for spec in specs} == {"Hello"}
    assert len(fake_upstream.calls) == 1


async def test_stale_entry_is_refetched(fake_upstream: Any) -> None:
    fake_upstream.add(URL, load("minimal.xml"))
    await get_spec(URL)
    fake_upstream.add(URL, V2)
    await sync_to_async(expire_cache_entry)(URL)
    assert (await get_spec(URL)).title == "Hello v2"


@pytest.mark.parametrize(
    "failure",
    ["http 500", "timeout", "malformed xml", "invalid spec"],
)
async def test_failed_refresh_keeps_the_last_good_copy(
    fake_upstream: Any,
    failure: str,
) -> None:
    fake_upstream.add(URL, load("minimal.xml"))
    await get_spec(URL)
    await sync_to_async(cache.clear)()
    break_upstream(fake_upstream, failure)

    spec = await get_spec(URL, nocache=True)

    assert spec.title == "Hello"
    stored = await GadgetSpec.objects.aget(url=URL)
    assert stored.last_error and stored.last_error_at is not None
    assert bytes(stored.xml) == load("minimal.xml")
    calls = len(fake_upstream.calls)
    await get_spec(URL)  # the fallback is cached: no hammering a broken host
    assert len(fake_upstream.calls) == calls


def break_upstream(fake_upstream: Any, failure: str) -> None:
    def time_out(request: OutboundRequest) -> OutboundResponse:
        raise UpstreamTimeout()

    if failure == "http 500":
        fake_upstream.add(URL, b"oops", status=500)
    elif failure == "timeout":
        fake_upstream.add_handler(URL, time_out)
    elif failure == "malformed xml":
        fake_upstream.add(URL, b"<Module><ModulePrefs>")
    else:
        fake_upstream.add(URL, b"<Module><ModulePrefs/></Module>")


async def test_stale_cache_entry_is_served_when_refresh_fails(
    fake_upstream: Any,
) -> None:
    fake_upstream.add(URL, load("minimal.xml"))
    await get_spec(URL)
    await GadgetSpec.objects.all().adelete()
    await sync_to_async(expire_cache_entry)(URL)
    fake_upstream.add(URL, b"down", status=503)
    assert (await get_spec(URL)).title == "Hello"


async def test_remote_404_without_a_copy_is_a_clear_error(fake_upstream: Any) -> None:
    fake_upstream.add(URL, b"not here", status=404)
    with pytest.raises(SpecFetchError) as caught:
        await get_spec(URL)
    assert caught.value.message == f"The gadget spec at {URL} answered 404."
    assert caught.value.status == 502


async def test_unreachable_spec_without_a_copy_names_the_url(
    fake_upstream: Any,
) -> None:
    with pytest.raises(SpecFetchError) as caught:
        await get_spec(URL)
    assert caught.value.message.startswith(
        f"The gadget spec at {URL} could not be fetched: "
    )


async def test_invalid_spec_without_a_copy_is_a_spec_error(fake_upstream: Any) -> None:
    fake_upstream.add(URL, b"<html/>")
    with pytest.raises(SpecError) as caught:
        await get_spec(URL)
    assert "the root element is <html>" in caught.value.message
    assert not await GadgetSpec.objects.filter(url=URL).aexists()


async def test_blocked_destination_is_not_served_from_the_copy(
    fake_upstream: Any,
) -> None:
    fake_upstream.add(URL, load("minimal.xml"))
    await get_spec(URL)

    def blocked(request: OutboundRequest) -> OutboundResponse:
        raise DestinationBlocked()

    fake_upstream.add_handler(URL, blocked)
    with pytest.raises(DestinationBlocked):
        await get_spec(URL, nocache=True)


async def test_refresh_is_conditional_and_304_reuses_the_stored_xml(
    fake_upstream: Any,
) -> None:
    fake_upstream.add(
        RICH_SPEC_URL,
        load("rich.xml"),
        headers=[("etag", '"abc"'), ("Last-Modified", "Tue, 01 Dec 2026 10:00:00 GMT")],
    )
    first = await get_spec(RICH_SPEC_URL)

    def not_modified(request: OutboundRequest) -> OutboundResponse:
        return OutboundResponse(status=304, headers=[], body=b"", url=request.url)

    fake_upstream.add_handler(RICH_SPEC_URL, not_modified)
    again = await get_spec(RICH_SPEC_URL, nocache=True)

    headers = fake_upstream.calls[1].headers
    assert headers["If-None-Match"] == '"abc"'
    assert headers["If-Modified-Since"] == "Tue, 01 Dec 2026 10:00:00 GMT"
    assert again == first
    stored = await GadgetSpec.objects.aget(url=RICH_SPEC_URL)
    assert stored.etag == '"abc"' and stored.last_error == ""


async def test_first_fetch_is_unconditional(fake_upstream: Any) -> None:
    fake_upstream.add(URL, load("minimal.xml"))
    await get_spec(URL)
    assert fake_upstream.calls[0].headers == {}


async def test_non_http_url_is_refused_before_any_fetch(fake_upstream: Any) -> None:
    with pytest.raises(InvalidUrl):
        await get_spec("file:///etc/passwd")
    assert fake_upstream.calls == []
