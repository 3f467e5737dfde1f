"""The deadline and the size cap: slow, huge and compressed upstreams.

A fetch must end by its deadline plus one second whatever the upstream
does, and an answer larger than the cap once decoded must end in
``ResponseTooLarge``, never in a partial body returned as success.
"""

from __future__ import annotations

import asyncio
import socket
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gadgets import outbound
from gadgets.errors import ResponseTooLarge, UpstreamError, UpstreamTimeout
from gadgets.outbound import OutboundRequest, fetch
from tests.localserver import (
    LocalServer,
    Recorded,
    Reply,
    gzip_bomb,
    gzip_bomb_server,
    gzipped,
    http_server,
    silent_server,
    trickle_server,
)


@pytest.fixture(autouse=True)
async def _close_pool() -> AsyncIterator[None]:
    yield
    await outbound.close_pool()


def allow(settings: Any, server: LocalServer) -> None:
    settings.OUTBOUND_ALLOWLIST = [server.netloc]


async def fetch_expecting(
    error: type[Exception], request: OutboundRequest, within_seconds: float
) -> Exception:
    started = time.monotonic()
    with pytest.raises(error) as caught:
        await fetch(request)
    assert time.monotonic() - started < within_seconds
    return caught.value


# --- Deadline --------------------------------------------------------------


async def test_trickling_body_ends_at_the_deadline(settings: Any) -> None:
    with trickle_server(body_bytes=50, delay_seconds=0.1) as server:
        allow(settings, server)
        request = OutboundRequest(server.url("/"), deadline_seconds=1)

        error = await fetch_expecting(UpstreamTimeout, request, within_seconds=2)

    assert "within 1 seconds" in str(error)


async def test_silent_server_ends_at_the_deadline(settings: Any) -> None:
    with silent_server() as server:
        allow(settings, server)
        request = OutboundRequest(server.url("/"), deadline_seconds=0.5)

        await fetch_expecting(UpstreamTimeout, request, within_seconds=1.5)


async def test_stalled_tls_handshake_ends_at_the_deadline(settings: Any) -> None:
    with silent_server() as server:
        allow(settings, server)
        url = f"https://{server.netloc}/"
        request = OutboundRequest(url, deadline_seconds=0.5)

        await fetch_expecting(UpstreamTimeout, request, within_seconds=1.5)


async def test_black_hole_connect_ends_at_the_deadline(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def never_connects(*args: Any) -> Any:
        await asyncio.sleep(3600)

    monkeypatch.setattr(outbound, "_connect_ip", never_connects)
    settings.OUTBOUND_ALLOWLIST = ["black-hole.localhost:9"]
    request = OutboundRequest("http://black-hole.localhost:9/", deadline_seconds=0.5)

    await fetch_expecting(UpstreamTimeout, request, within_seconds=1.5)


async def test_default_deadline_comes_from_settings(settings: Any) -> None:
    settings.GADGETS = {**settings.GADGETS, "FETCH_DEADLINE_SECONDS": 0.5}
    with silent_server() as server:
        allow(settings, server)

        await fetch_expecting(
            UpstreamTimeout, OutboundRequest(server.url("/")), within_seconds=1.5
        )


async def test_deadline_covers_every_redirect_hop(settings: Any) -> None:
    def slow_redirect(request: Recorded) -> Reply:
        time.sleep(0.3)
        return Reply(status=302, headers=[("Location", "/again")])

    with http_server(slow_redirect) as server:
        allow(settings, server)
        request = OutboundRequest(server.url("/"), deadline_seconds=1)

        await fetch_expecting(UpstreamTimeout, request, within_seconds=2)

    assert 2 <= len(server.requests) <= 4


async def test_slow_but_timely_answer_succeeds(settings: Any) -> None:
    with trickle_server(body_bytes=5, delay_seconds=0.05) as server:
        allow(settings, server)

        response = await fetch(OutboundRequest(server.url("/"), deadline_seconds=2))

    assert response.body == b"xxxxx"


# --- Size cap --------------------------------------------------------------


def sized(body: bytes, **reply: Any) -> Any:
    return lambda request: Reply(body=body, **reply)


async def test_body_over_the_cap_is_refused(settings: Any) -> None:
    with http_server(sized(b"a" * 2001)) as server:
        allow(settings, server)
        request = OutboundRequest(server.url("/"), max_response_bytes=2000)

        error = await fetch_expecting(ResponseTooLarge, request, within_seconds=1)

    assert "2000 bytes" in str(error)


async def test_body_exactly_at_the_cap_is_returned(settings: Any) -> None:
    with http_server(sized(b"a" * 2000)) as server:
        allow(settings, server)

        response = await fetch(
            OutboundRequest(server.url("/"), max_response_bytes=2000)
        )

    assert len(response.body) == 2000


async def test_default_cap_comes_from_settings(settings: Any) -> None:
    settings.GADGETS = {**settings.GADGETS, "MAX_RESPONSE_BYTES": 100}
    with http_server(sized(b"a" * 101)) as server:
        allow(settings, server)

        await fetch_expecting(
            ResponseTooLarge, OutboundRequest(server.url("/")), within_seconds=1
        )


async def test_declared_length_over_the_cap_is_refused_before_reading(
    settings: Any,
) -> None:
    huge = Reply(headers=[("Content-Length", str(10**12))], chunks=iter([b"a"]))
    with http_server(lambda request: huge) as server:
        allow(settings, server)
        request = OutboundRequest(server.url("/"), max_response_bytes=1000)

        await fetch_expecting(ResponseTooLarge, request, within_seconds=1)


async def test_unbounded_stream_over_the_cap_is_refused(settings: Any) -> None:
    endless = Reply(chunks=(b"z" * 65536 for _ in range(10_000)))
    with http_server(lambda request: endless) as server:
        allow(settings, server)
        request = OutboundRequest(server.url("/"), max_response_bytes=1_000_000)

        await fetch_expecting(ResponseTooLarge, request, within_seconds=1)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_compression_bomb_is_refused_with_bounded_memory(
    settings: Any, encoding: str
) -> None:
    with gzip_bomb_server(64 * 1024 * 1024, encoding) as server:
        allow(settings, server)
        request = OutboundRequest(server.url("/"), max_response_bytes=1024 * 1024)
        tracemalloc.start()
        try:
            await fetch_expecting(ResponseTooLarge, request, within_seconds=1)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    assert peak < 8 * 1024 * 1024


async def test_nested_gzip_bomb_is_refused(settings: Any) -> None:
    body = gzipped(gzip_bomb(32 * 1024 * 1024))
    reply = Reply(headers=[("Content-Encoding", "gzip, gzip")], body=body)
    with http_server(lambda request: reply) as server:
        allow(settings, server)
        request = OutboundRequest(server.url("/"), max_response_bytes=1024 * 1024)

        await fetch_expecting(ResponseTooLarge, request, within_seconds=1)


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", gzipped(b"hello " * 1000)),
        ("deflate", zlib.compress(b"hello " * 1000)),
        ("deflate", zlib.compress(b"hello " * 1000)[2:-4]),  # raw deflate
        ("identity", b"hello " * 1000),
    ],
)
async def test_compressed_answer_is_returned_decoded(
    settings: Any, encoding: str, body: bytes
) -> None:
    reply = Reply(headers=[("Content-Encoding", encoding)], body=body)
    with http_server(lambda request: reply) as server:
        allow(settings, server)

        response = await fetch(OutboundRequest(server.url("/")))

    assert response.body == b"hello " * 1000
    encodings = [
        value for name, value in response.headers if name == "content-encoding"
    ]
    assert encodings in ([], ["identity"])


async def test_unknown_encoding_is_returned_raw_with_its_header(
    settings: Any,
) -> None:
    reply = Reply(headers=[("Content-Encoding", "br")], body=b"\x8b\x02\x80hi\x03")
    with http_server(lambda request: reply) as server:
        allow(settings, server)

        response = await fetch(OutboundRequest(server.url("/")))

    assert response.body == b"\x8b\x02\x80hi\x03"
    assert ("content-encoding", "br") in response.headers


@pytest.mark.parametrize(
    "body",
    [gzipped(b"hello " * 1000)[:-12], b"not gzip at all"],
    ids=["truncated", "corrupt"],
)
async def test_broken_gzip_is_an_upstream_error_not_a_partial_body(
    settings: Any, body: bytes
) -> None:
    reply = Reply(headers=[("Content-Encoding", "gzip")], body=body)
    with http_server(lambda request: reply) as server:
        allow(settings, server)

        await fetch_expecting(
            UpstreamError, OutboundRequest(server.url("/")), within_seconds=1
        )


async def test_body_cut_short_is_an_upstream_error(settings: Any) -> None:
    def cut(conn: socket.socket, number: int, server: LocalServer) -> None:
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")

    with LocalServer(cut) as server:
        allow(settings, server)

        await fetch_expecting(
            UpstreamError, OutboundRequest(server.url("/")), within_seconds=1
        )
