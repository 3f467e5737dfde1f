"""The guarded client's ordinary work against allow-listed local servers.

Requests and answers, redirects, headers the client owns, cookies (never
kept), connection reuse and the synchronous entry point.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from gadgets import outbound
from gadgets.errors import GadgetError, TooManyRedirects, UpstreamError
from gadgets.outbound import OutboundRequest, fetch, fetch_sync
from tests.localserver import LocalServer, Recorded, Reply, http_server, self_signed


@pytest.fixture(autouse=True)
async def _close_pool() -> AsyncIterator[None]:
    yield
    await outbound.close_pool()


def allow(settings: Any, *servers: LocalServer) -> None:
    settings.OUTBOUND_ALLOWLIST = [server.netloc for server in servers]


def echo(request: Recorded) -> Reply:
    return Reply(
        headers=[("Content-Type", "text/plain"), ("X-Upstream", "yes")],
        body=b"method=" + request.method.encode() + b" body=" + request.body,
    )


async def test_get_returns_status_lowercased_headers_body_and_url(
    settings: Any,
) -> None:
    with http_server(echo) as server:
        allow(settings, server)
        url = server.url("/page?q=1")

        response = await fetch(OutboundRequest(url))

    assert response.status == 200
    assert ("content-type", "text/plain") in response.headers
    assert ("x-upstream", "yes") in response.headers
    assert response.body == b"method=GET body="
    assert response.url == url
    assert server.requests[0].target == "/page?q=1"


async def test_post_sends_body_and_caller_headers(settings: Any) -> None:
    with http_server(echo) as server:
        allow(settings, server)

        response = await fetch(
            OutboundRequest(
                server.url("/submit"),
                method="post",
                headers={
                    "Content-Type": "application/json",
                    "X-Gadget": "7",
                    "X-Latin": "café",
                },
                body=b'{"a": 1}',
            )
        )

    sent = server.requests[0]
    assert response.body == b'method=POST body={"a": 1}'
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["x-gadget"] == "7"
    assert sent.headers["x-latin"] == "café"
    assert sent.headers["content-length"] == "8"


async def test_every_request_carries_loop_guard_and_user_agent(settings: Any) -> None:
    with http_server(echo) as server:
        allow(settings, server)

        await fetch(OutboundRequest(server.url("/")))

    sent = server.requests[0].headers
    assert sent["x-shindig-dos"] == "on"
    assert sent["user-agent"] == f"gadget-container/0.1 (+{settings.CONTAINER_ORIGIN})"


async def test_caller_cannot_replace_headers_the_client_owns(settings: Any) -> None:
    with http_server(echo) as server:
        allow(settings, server)
        owned = {
            "Host": "internal.example",
            "X-shindig-dos": "off",
            "Accept-Encoding": "br",
            "Transfer-Encoding": "chunked",
            "Proxy-Authorization": "Basic eDp5",
        }

        await fetch(OutboundRequest(server.url("/"), headers=owned))

    sent = server.requests[0].headers
    assert sent["host"] == server.netloc
    assert sent["x-shindig-dos"] == "on"
    assert sent["accept-encoding"] == "gzip, deflate"
    assert "transfer-encoding" not in sent
    assert "proxy-authorization" not in sent


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Bad": "a\r\nInjected: 1"},
        {"Bad Name": "x"},
        {"X-Nul": "a\0b"},
        {"X-Emoji": "\U0001f600"},
    ],
)
async def test_header_injection_is_refused(settings: Any, headers: Any) -> None:
    with http_server(echo) as server:
        allow(settings, server)

        with pytest.raises(GadgetError, match="header"):
            await fetch(OutboundRequest(server.url("/"), headers=headers))

    assert server.connections == 0


@pytest.mark.parametrize("method", ["CONNECT", "TRACE", "GET /x HTTP/1.1"])
async def test_unsafe_methods_are_refused(settings: Any, method: str) -> None:
    with http_server(echo) as server:
        allow(settings, server)

        with pytest.raises(GadgetError, match="method"):
            await fetch(OutboundRequest(server.url("/"), method=method))

    assert server.connections == 0


def redirecting(routes: dict[str, tuple[int, str]]) -> Any:
    """A handler redirecting the listed paths and echoing everything else."""

    def handle(request: Recorded) -> Reply:
        if request.target in routes:
            status, location = routes[request.target]
            return Reply(status=status, headers=[("Location", location)])
        return echo(request)

    return handle


async def test_redirect_within_allowlist_is_followed(settings: Any) -> None:
    with http_server(redirecting({"/start": (302, "/end?x=1")})) as server:
        allow(settings, server)

        response = await fetch(OutboundRequest(server.url("/start")))

    assert response.status == 200
    assert response.url == server.url("/end?x=1")
    assert [r.target for r in server.requests] == ["/start", "/end?x=1"]


async def test_redirect_is_returned_as_is_when_not_following(settings: Any) -> None:
    with http_server(redirecting({"/start": (302, "/end")})) as server:
        allow(settings, server)

        response = await fetch(
            OutboundRequest(server.url("/start"), follow_redirects=False)
        )

    assert response.status == 302
    assert ("location", "/end") in response.headers
    assert response.url == server.url("/start")
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("status", "method", "expected"),
    [
        (303, "POST", ("GET", b"")),
        (302, "POST", ("GET", b"")),
        (301, "POST", ("GET", b"")),
        (307, "POST", ("POST", b"data")),
        (308, "PUT", ("PUT", b"data")),
        (302, "PUT", ("PUT", b"data")),
    ],
)
async def test_redirect_method_and_body_follow_the_status(
    settings: Any, status: int, method: str, expected: tuple[str, bytes]
) -> None:
    with http_server(redirecting({"/form": (status, "/done")})) as server:
        allow(settings, server)

        await fetch(
            OutboundRequest(
                server.url("/form"),
                method=method,
                headers={"Content-Type": "text/plain"},
                body=b"data",
            )
        )

    final = server.requests[-1]
    assert (final.method, final.body) == expected
    assert ("content-type" in final.headers) == (expected[1] != b"")


async def test_redirect_to_other_origin_drops_credentials(settings: Any) -> None:
    with http_server(echo) as other:
        routes = {"/a": (302, "/b"), "/b": (302, other.url("/c"))}
        with http_server(redirecting(routes)) as first:
            allow(settings, first, other)
            secret = {"Authorization": "Bearer t0ken", "Cookie": "s=1", "X-Keep": "1"}

            await fetch(OutboundRequest(first.url("/a"), headers=secret))

    same_origin = first.requests[1].headers
    assert same_origin["authorization"] == "Bearer t0ken"
    assert same_origin["cookie"] == "s=1"
    other_origin = other.requests[0].headers
    assert "authorization" not in other_origin
    assert "cookie" not in other_origin
    assert other_origin["x-keep"] == "1"


async def test_endless_redirects_stop_at_the_limit(settings: Any) -> None:
    with http_server(redirecting({"/loop": (302, "/loop")})) as server:
        allow(settings, server)

        with pytest.raises(TooManyRedirects):
            await fetch(OutboundRequest(server.url("/loop")))

    assert len(server.requests) == settings.GADGETS["MAX_REDIRECTS"] + 1


async def test_redirect_to_another_scheme_is_refused(settings: Any) -> None:
    with http_server(redirecting({"/x": (302, "file:///etc/passwd")})) as server:
        allow(settings, server)

        with pytest.raises(GadgetError, match="redirected to a URL"):
            await fetch(OutboundRequest(server.url("/x")))


async def test_cookies_are_never_stored_or_sent(settings: Any) -> None:
    def set_cookie(request: Recorded) -> Reply:
        return Reply(headers=[("Set-Cookie", "sid=abc; Path=/")], body=b"ok")

    with http_server(set_cookie) as server:
        allow(settings, server)

        first = await fetch(OutboundRequest(server.url("/login")))
        await fetch(OutboundRequest(server.url("/next")))

    assert ("set-cookie", "sid=abc; Path=/") in first.headers
    assert all("cookie" not in r.headers for r in server.requests)


async def test_two_requests_share_one_connection(settings: Any) -> None:
    with http_server(echo) as server:
        allow(settings, server)

        await fetch(OutboundRequest(server.url("/1")))
        await fetch(OutboundRequest(server.url("/2")))

    assert len(server.requests) == 2
    assert server.connections == 1


async def test_localhost_names_reach_loopback_when_allowlisted(settings: Any) -> None:
    with http_server(echo) as server:
        settings.OUTBOUND_ALLOWLIST = [f"provider.localhost:{server.port}"]

        response = await fetch(OutboundRequest(server.url("/", "provider.localhost")))

    assert response.status == 200
    assert server.requests[0].headers["host"] == f"provider.localhost:{server.port}"


async def test_closed_port_is_an_upstream_error(settings: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.OUTBOUND_ALLOWLIST = [f"127.0.0.1:{port}"]

    with pytest.raises(UpstreamError, match=r"Could not connect to 127\.0\.0\.1"):
        await fetch(OutboundRequest(f"http://127.0.0.1:{port}/"))


async def test_garbage_answer_is_an_upstream_error(settings: Any) -> None:
    def garbage(conn: socket.socket, number: int, server: LocalServer) -> None:
        conn.recv(65536)
        conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")

    with LocalServer(garbage) as server:
        allow(settings, server)

        with pytest.raises(UpstreamError, match=r"exchange with 127\.0\.0\.1 failed"):
            await fetch(OutboundRequest(server.url("/")))


async def test_check_destination_returns_the_vetted_addresses(settings: Any) -> None:
    settings.OUTBOUND_ALLOWLIST = ["provider.localhost:8000"]

    addresses = await outbound.check_destination("http://provider.localhost:8000/x")

    assert [str(a) for a in addresses] == ["127.0.0.1"]


def test_fetch_sync_works_outside_an_event_loop(settings: Any) -> None:
    with http_server(echo) as server:
        allow(settings, server)

        response = fetch_sync(OutboundRequest(server.url("/sync")))

    assert response.body == b"method=GET body="


async def test_fetch_sync_works_inside_a_running_loop(settings: Any) -> None:
    with http_server(echo) as server:
        allow(settings, server)

        response = fetch_sync(OutboundRequest(server.url("/sync")))

    assert response.status == 200


def test_pool_closes_with_its_event_loop(settings: Any) -> None:
    with http_server(echo) as server:
        allow(settings, server)

        for _ in range(3):
            async_to_sync(fetch)(OutboundRequest(server.url("/")))
        deadline = time.monotonic() + 1
        while server.open_connections and time.monotonic() < deadline:
            time.sleep(0.01)

        assert server.connections == 3
        assert server.open_connections == 0


def resolve_to_loopback(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    asked: list[str] = []

    async def resolve(host: str, port: int) -> list[Any]:
        asked.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    monkeypatch.setattr(outbound, "resolve", resolve)
    return asked


async def test_https_connects_to_the_checked_address_and_verifies_the_name(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server_tls, client_tls = self_signed("tls.example")
    monkeypatch.setattr(outbound, "_ssl_context", lambda: client_tls)
    asked = resolve_to_loopback(monkeypatch)
    with http_server(echo, tls=server_tls) as server:
        settings.OUTBOUND_ALLOWLIST = [f"tls.example:{server.port}"]

        response = await fetch(OutboundRequest(server.url("/s", "tls.example")))

    assert response.status == 200
    assert asked == ["tls.example"]
    assert server.server_names == ["tls.example"]
    assert server.requests[0].headers["host"] == f"tls.example:{server.port}"


@pytest.mark.parametrize("trusted", [True, False], ids=["wrong-name", "untrusted"])
async def test_https_with_a_bad_certificate_is_an_upstream_error(
    settings: Any, monkeypatch: pytest.MonkeyPatch, trusted: bool
) -> None:
    server_tls, client_tls = self_signed("other.example")
    if trusted:
        monkeypatch.setattr(outbound, "_ssl_context", lambda: client_tls)
    resolve_to_loopback(monkeypatch)
    with http_server(echo, tls=server_tls) as server:
        settings.OUTBOUND_ALLOWLIST = [f"tls.example:{server.port}"]

        with pytest.raises(UpstreamError, match="Could not connect"):
            await fetch(OutboundRequest(server.url("/s", "tls.example")))

    assert server.requests == []


async def test_concurrent_requests_reuse_their_connections(settings: Any) -> None:
    """A second wave of as many concurrent requests opens no new socket."""
    concurrency = 40

    def slow(request: Recorded) -> Reply:
        time.sleep(0.05)  # keep every request of a wave in flight at once
        return Reply(body=b"ok")

    with http_server(slow) as server:
        allow(settings, server)
        url = server.url("/wave")
        for _ in range(2):
            answers = await asyncio.gather(
                *(fetch(OutboundRequest(url)) for _ in range(concurrency))
            )
            assert [a.body for a in answers] == [b"ok"] * concurrency

    assert len(server.requests) == 2 * concurrency
    assert server.connections <= concurrency
    assert (await outbound._pool()).opened == server.connections


async def test_max_connections_bounds_sockets_open_at_once(settings: Any) -> None:
    """Requests past MAX_CONNECTIONS wait for a free connection."""
    settings.GADGETS = {**settings.GADGETS, "MAX_CONNECTIONS": 3}
    await outbound.close_pool()  # the next fetch builds a pool with the limit
    peak = 0

    def slow(request: Recorded) -> Reply:
        nonlocal peak
        peak = max(peak, server.open_connections)
        time.sleep(0.05)
        return Reply(body=b"ok")

    with http_server(slow) as server:
        allow(settings, server)
        answers = await asyncio.gather(
            *(fetch(OutboundRequest(server.url("/x"))) for _ in range(12))
        )

    assert len(answers) == 12
    assert len(server.requests) == 12
    assert server.connections == 3
    assert peak <= 3
