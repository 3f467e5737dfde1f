"""The guarded outbound HTTP client: every request this server makes.

Gadgets choose the URLs we fetch (their spec, their message bundles, every
makeRequest), so each fetch is a chance to reach into the network behind
the container (server-side request forgery). One function, ``fetch``,
carries every outbound request and applies the same guard to all of them.

A worked example, ``fetch(OutboundRequest("http://2130706433:8080/x"))``:

1. The URL is parsed once, strictly: http or https, a host, no user info,
   no whitespace or control characters, a port between 1 and 65535.
   The parsed form is what we connect with, so no second parser can read
   the string differently.
2. The host is resolved once (``resolve``). ``2130706433`` is a decimal
   spelling of 127.0.0.1, which the resolver, not a string check, reveals.
3. Every resolved address goes through ``is_blocked_address``; 127.0.0.1
   is loopback, so the fetch ends with ``DestinationBlocked`` and no
   connection is made. Only exact ``host:port`` pairs listed in
   ``settings.OUTBOUND_ALLOWLIST`` may reach such addresses.
4. A permitted destination is connected at the very addresses that were
   checked (the connection backend refuses anything else), while the host
   name stays in the Host header and the TLS certificate check. A DNS
   answer that changes between check and connect (rebinding) never gets
   a say.
5. Each redirect hop repeats steps 1 to 4; the whole exchange, every hop
   and the body included, runs under one wall-clock deadline; and the
   body is decoded here, counting decoded bytes against a cap, so a small
   gzip bomb ends in ``ResponseTooLarge`` rather than in memory.

There is no cookie jar, no proxy taken from the environment and no
container credential in any request. Every request carries
``X-shindig-dos: on`` so that a URL pointing back at our own render view is
recognised and refused there (a request loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
import re
import socket
import ssl
import time
import unicodedata
import zlib
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

import anyio
import certifi
import httpcore
import httpx
from django.conf import settings

from gadgets.errors import (
    DestinationBlocked,
    GadgetError,
    InvalidUrl,
    ResponseTooLarge,
    TooManyRedirects,
    UpstreamError,
    UpstreamTimeout,
)

logger = logging.getLogger(__name__)
security_logger = logging.getLogger("gadgets.security")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass
class OutboundRequest:
    url: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    follow_redirects: bool = True
    deadline_seconds: float | None = None
    max_response_bytes: int | None = None


@dataclass
class OutboundResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    url: str


# --- URLs ------------------------------------------------------------------

MAX_URL_LENGTH = 32 * 1024
DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")
_FORBIDDEN_CHARACTER = re.compile(r"[\x00-\x20\x7f\\]")


@dataclass(frozen=True)
class _Target:
    """A URL parsed and checked once; every later step reads these fields."""

    url: httpx.URL
    scheme: str
    host: str  # lower-case ASCII (IDNA), IPv6 without brackets
    port: int  # the effective port, defaults filled in

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)


def check_url(url: str) -> None:
    """Raise ``InvalidUrl`` unless ``url`` is a fetchable http(s) URL.

    Syntax only; ``check_destination`` also resolves and checks addresses.
    """
    _parse(url)


def _parse(url: str) -> _Target:
    _check_characters(url)
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise InvalidUrl(f"The URL could not be parsed: {exc}.") from None
    if parsed.scheme not in DEFAULT_PORTS:
        scheme = parsed.scheme or "(none)"
        raise InvalidUrl(f"Only http and https URLs can be fetched, not {scheme}.")
    if parsed.userinfo or "@" in _authority(url):
        raise InvalidUrl("URLs with a user name or password (user@host) are refused.")
    host = parsed.raw_host.decode("ascii").lower()
    _check_host(host)
    port = parsed.port if parsed.port is not None else DEFAULT_PORTS[parsed.scheme]
    if not 1 <= port <= 65535:
        raise InvalidUrl(f"The port {port} is out of range (1 to 65535).")
    return _Target(url=parsed, scheme=parsed.scheme, host=host, port=port)


def _check_characters(url: str) -> None:
    if not url:
        raise InvalidUrl("The URL is empty.")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidUrl(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    match = _FORBIDDEN_CHARACTER.search(url)
    char = match.group() if match else None
    if char is None and not url.isascii():
        char = next((c for c in url if _is_invisible(c)), None)
    if char is not None:
        raise InvalidUrl(
            f"The URL contains a forbidden character ({char!r}): whitespace, "
            "control characters and backslashes are not allowed."
        )


def _is_invisible(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp")


def _authority(url: str) -> str:
    rest = url.partition("://")[2]
    return re.split(r"[/?#]", rest, maxsplit=1)[0]


def _check_host(host: str) -> None:
    if not host:
        raise InvalidUrl("The URL has no host name.")
    if ":" in host:
        if "%" in host:
            raise InvalidUrl("IPv6 addresses with a zone (%) are refused.")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise InvalidUrl(f"The host {host} is not a valid IPv6 address.") from None
    elif not _HOST_NAME.fullmatch(host):
        raise InvalidUrl(f"The host name {host} contains characters not allowed.")


# --- Addresses -------------------------------------------------------------

# Everything not on the public internet, beyond what ``is_global`` already
# covers, listed so that a Python release that reclassifies a range cannot
# quietly open it (RFC 6890 and the IANA special-purpose registries).
_BLOCKED_V4 = tuple(
    ipaddress.IPv4Network(net)
    for net in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT: is_private is False for it
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata at 169.254.169.254
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast: is_global is True for some of it
        "240.0.0.0/4",  # reserved, and 255.255.255.255 broadcast
    )
)
_BLOCKED_V6 = tuple(
    ipaddress.IPv6Network(net)
    for net in (
        "64:ff9b:1::/48",  # local-use NAT64
        "2001::/32",  # Teredo: embeds an address we cannot vouch for
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4: embeds an IPv4 address
        "3fff::/20",  # documentation
    )
)
# Only global unicast IPv6 space is routable on the internet today; this
# alone refuses ::1, ::, IPv4-compatible ::a.b.c.d, fc00::/7 (including
# fd00:ec2::254), fe80::/10, fec0::/10 and ff00::/8.
_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def is_blocked_address(ip: IPAddress) -> bool:
    """True unless ``ip`` is a globally routable unicast address.

    IPv4 addresses carried inside IPv6 (mapped ``::ffff:a.b.c.d`` and
    NAT64 ``64:ff9b::a.b.c.d``) are unwrapped and judged as IPv4.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return is_blocked_address(embedded)
        if ip.scope_id or ip not in _GLOBAL_UNICAST_V6:
            return True
        if any(ip in net for net in _BLOCKED_V6):
            return True
    elif any(ip in net for net in _BLOCKED_V4):
        return True
    return not ip.is_global or ip.is_multicast or ip.is_reserved


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _is_localhost_name(host: str) -> bool:
    name = host.rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to, each once, in resolver order.

    ``localhost`` and any ``*.localhost`` name are loopback without asking
    the system resolver (RFC 6761), as browsers treat them.
    """
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    if _is_localhost_name(host):
        return [ipaddress.IPv4Address("127.0.0.1")]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise UpstreamError(f"The host name {host} could not be resolved.") from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    return list(dict.fromkeys(addresses))


@functools.lru_cache(maxsize=8)
def _allowlist(entries: tuple[str, ...]) -> frozenset[tuple[str, int]]:
    pairs = set()
    for entry in entries:
        host, _, port = entry.strip().lower().rpartition(":")
        host = host.removeprefix("[").removesuffix("]")
        if host and port.isdigit():
            pairs.add((host, int(port)))
    return frozenset(pairs)


def _is_allowlisted(target: _Target) -> bool:
    entries = tuple(getattr(settings, "OUTBOUND_ALLOWLIST", ()))
    return (target.host, target.port) in _allowlist(entries)


async def check_destination(url: str) -> list[IPAddress]:
    """Check ``url`` fully, as ``fetch`` would, and return its addresses.

    Raises ``InvalidUrl``, ``DestinationBlocked`` or ``UpstreamError``
    (the name does not resolve). Useful before storing a URL; ``fetch``
    checks again when it connects.
    """
    return list(await _vet(_parse(url)))


async def _vet(target: _Target) -> tuple[IPAddress, ...]:
    addresses = tuple(await resolve(target.host, target.port))
    if not addresses:
        raise UpstreamError(f"The host name {target.host} has no addresses.")
    if _is_allowlisted(target):
        return addresses
    blocked = [address for address in addresses if is_blocked_address(address)]
    if blocked:
        security_logger.warning(
            "Refused outbound request to host=%s port=%s address=%s",
            target.host,
            target.port,
            blocked[0],
        )
        raise DestinationBlocked(
            f"The destination {target.host} is not on the public internet "
            "(a private, loopback or reserved address), so this server will "
            "not fetch it."
        )
    return addresses


# --- Connections -----------------------------------------------------------

# The addresses vetted for the hop in progress. The connection backend
# reads them instead of resolving the name again; httpcore opens a
# connection in the task of the request that needs it, so the context
# variable set by that request is the one seen here.
_vetted: ContextVar[tuple[str, int, tuple[IPAddress, ...]] | None] = ContextVar(
    "outbound_vetted_addresses", default=None
)
_anyio_backend = httpcore.AnyIOBackend()


async def _connect_ip(
    address: IPAddress, port: int, timeout: float | None
) -> httpcore.AsyncNetworkStream:
    """Open a TCP connection to one literal address (tests replace this)."""
    return await _anyio_backend.connect_tcp(str(address), port, timeout=timeout)


class _ClosingStream(httpcore.AsyncNetworkStream):
    """Closes the socket when a TLS handshake is cancelled by the deadline.

    httpcore closes it only on ordinary errors, so a stalled handshake cut
    off by our deadline would otherwise leave the socket to the garbage
    collector.
    """

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self.stream = stream

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self.stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self.stream.write(buffer, timeout)

    async def aclose(self) -> None:
        await self.stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            return await self.stream.start_tls(ssl_context, server_hostname, timeout)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.stream.aclose()
            raise

    def get_extra_info(self, info: str) -> Any:
        return self.stream.get_extra_info(info)


class _VettedBackend(httpcore.AnyIOBackend):
    """Connects only to the addresses the current hop has vetted."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        vetted = _vetted.get()
        if vetted is None or vetted[:2] != (host, port):
            raise DestinationBlocked(f"The address of {host} was not checked.")
        failure: httpcore.ConnectError | None = None
        for address in vetted[2]:
            try:
                return _ClosingStream(await _connect_ip(address, port, timeout))
            except httpcore.ConnectError as exc:
                failure = exc
        raise failure or httpcore.ConnectError(f"No address for {host}.")


_OriginKey = tuple[bytes, bytes, int]


class OriginPool:
    """Keep-alive HTTP/1.1 connections grouped by origin, O(1) per request.

    httpcore's ``AsyncConnectionPool`` rescans every connection for every
    queued request each time any of them changes state: quadratic in the
    number of requests in flight. With 500 concurrent fetches of an upstream
    that answers in 1 s it took 12 to 15 s and timed some out. Here a request
    takes its origin's most recently used idle connection or opens a new
    one, and gives it back when its answer is read; a semaphore bounds the
    requests in flight (and so the sockets open at once). Each connection is
    httpcore's own, so framing, keep-alive and TLS stay httpcore's work, and
    every new socket still goes through ``_VettedBackend``.
    """

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext,
        max_connections: int,
        keepalive_expiry: float,
        network_backend: httpcore.AsyncNetworkBackend,
    ) -> None:
        self._ssl_context = ssl_context
        self._limit = max_connections
        self._keepalive_expiry = keepalive_expiry
        self._backend = network_backend
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: dict[_OriginKey, deque[httpcore.AsyncHTTPConnection]] = {}
        self._idle_count = 0
        self.opened = 0  # connections opened over the pool's life

    @contextlib.asynccontextmanager
    async def stream(
        self,
        method: str,
        url: httpcore.URL,
        *,
        headers: list[tuple[bytes, bytes]],
        content: bytes | None,
        extensions: dict[str, Any],
        wait_seconds: float,
    ) -> AsyncIterator[httpcore.Response]:
        """One exchange; the answer's body is read inside the ``with``."""
        try:
            async with asyncio.timeout(wait_seconds):
                await self._slots.acquire()
        except TimeoutError:
            raise httpcore.PoolTimeout("No outbound connection was free.") from None
        try:
            origin = url.origin
            key = (origin.scheme, origin.host, origin.port)
            connection = await self._take_idle(key)
            if connection is None:
                connection = httpcore.AsyncHTTPConnection(
                    origin,
                    ssl_context=self._ssl_context,
                    keepalive_expiry=self._keepalive_expiry,
                    network_backend=self._backend,
                )
                self.opened += 1
            if content is not None:
                # Framing is ours: callers' Content-Length was dropped.
                headers = [*headers, (b"Content-Length", b"%d" % len(content))]
            request = httpcore.Request(
                method, url, headers=headers, content=content, extensions=extensions
            )
            try:
                response = await connection.handle_async_request(request)
            except BaseException:
                await _close_shielded(connection)
                raise
            try:
                yield response
            finally:
                try:
                    with anyio.CancelScope(shield=True):
                        await response.aclose()
                finally:
                    await self._give_back(key, connection)
        finally:
            self._slots.release()

    async def _take_idle(self, key: _OriginKey) -> httpcore.AsyncHTTPConnection | None:
        idle = self._idle.get(key)
        while idle:
            connection = idle.pop()
            self._idle_count -= 1
            if connection.is_idle() and not connection.has_expired():
                return connection
            await _close_shielded(connection)
        return None

    async def _give_back(
        self, key: _OriginKey, connection: httpcore.AsyncHTTPConnection
    ) -> None:
        if not connection.is_idle() or self._idle_count >= self._limit:
            await _close_shielded(connection)
            return
        idle = self._idle.setdefault(key, deque())
        # The oldest connections sit at the left: drop those past expiry.
        while idle and idle[0].has_expired():
            self._idle_count -= 1
            await _close_shielded(idle.popleft())
        idle.append(connection)
        self._idle_count += 1

    async def aclose(self) -> None:
        idle, self._idle, self._idle_count = self._idle, {}, 0
        for connections in idle.values():
            for connection in connections:
                await _close_shielded(connection)


async def _close_shielded(connection: httpcore.AsyncHTTPConnection) -> None:
    with anyio.CancelScope(shield=True):
        try:
            await connection.aclose()
        except Exception:  # closing a broken socket may fail too
            logger.debug("Closing an outbound connection failed", exc_info=True)


@dataclass
class _LoopPool:
    pool: OriginPool
    closer: AsyncGenerator[None, None]


# One pool per event loop: pooled sockets belong to the loop that opened
# them. Callers such as async_to_sync run a fresh loop per call, so each
# pool closes itself when its loop shuts down (see _close_with_loop).
_pools: WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopPool] = WeakKeyDictionary()


async def _pool() -> OriginPool:
    """The connection pool of the running event loop."""
    loop = asyncio.get_running_loop()
    entry = _pools.get(loop)
    if entry is None:
        for stale in [old for old in _pools if old.is_closed()]:
            del _pools[stale]  # a loop that ended without shutting down
        pool = _new_pool()
        entry = _pools[loop] = _LoopPool(pool, _close_with_loop(loop, pool))
        await anext(entry.closer)
    return entry.pool


def _ssl_context() -> ssl.SSLContext:
    """Certificates checked against certifi's roots (tests replace this)."""
    return ssl.create_default_context(cafile=certifi.where())


def _new_pool() -> OriginPool:
    return OriginPool(
        ssl_context=_ssl_context(),
        max_connections=settings.GADGETS["MAX_CONNECTIONS"],
        keepalive_expiry=5.0,
        network_backend=_VettedBackend(),
    )


async def _close_with_loop(
    loop: asyncio.AbstractEventLoop, pool: OriginPool
) -> AsyncGenerator[None, None]:
    """Suspended for the pool's life; closing it closes the pool.

    asyncio.run (and so async_to_sync) closes every suspended async
    generator of a loop before closing the loop, which releases the
    pooled sockets instead of leaking them with the loop.
    """
    try:
        yield
    finally:
        _pools.pop(loop, None)
        await pool.aclose()


async def close_pool() -> None:
    """Close the running loop's pooled connections now."""
    entry = _pools.get(asyncio.get_running_loop())
    if entry is not None:
        await entry.closer.aclose()


# --- Requests --------------------------------------------------------------

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_REFUSED_METHODS = frozenset({"CONNECT", "TRACE", "TRACK"})
# Headers this client owns: framing, connection management and the
# encodings it can decode. Callers' values for them are dropped.
_OWNED_HEADERS = frozenset(
    {
        "accept-encoding",
        "connection",
        "content-length",
        "expect",
        "host",
        "keep-alive",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "x-shindig-dos",
    }
)
# Dropped when a redirect leaves the origin they were meant for.
_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie"})
_BODY_HEADERS = frozenset({"content-type", "content-encoding", "content-language"})
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass
class _Hop:
    """What one request on the way to the final answer looks like."""

    target: _Target
    method: str
    headers: dict[str, str]
    body: bytes | None


async def fetch(request: OutboundRequest) -> OutboundResponse:
    """Make ``request`` through the guard; see the module docstring.

    Raises ``InvalidUrl``, ``DestinationBlocked``, ``UpstreamTimeout``,
    ``UpstreamError``, ``ResponseTooLarge`` or ``TooManyRedirects``.
    """
    hop = _first_hop(request)
    deadline = request.deadline_seconds or settings.GADGETS["FETCH_DEADLINE_SECONDS"]
    started = time.monotonic()
    try:
        async with asyncio.timeout(deadline):
            response = await _exchange(request, hop, deadline)
    except TimeoutError:
        raise UpstreamTimeout(
            f"{hop.target.host} did not answer within {deadline:g} seconds."
        ) from None
    logger.debug(
        "Fetched host=%s status=%s bytes=%s in %.3fs",
        hop.target.host,
        response.status,
        len(response.body),
        time.monotonic() - started,
    )
    return response


def _first_hop(request: OutboundRequest) -> _Hop:
    target = _parse(request.url)
    method = request.method.upper()
    if not _TOKEN.fullmatch(method) or method in _REFUSED_METHODS:
        raise GadgetError(f"The HTTP method {request.method!r} is not allowed.")
    return _Hop(target, method, _request_headers(request.headers), request.body)


def _request_headers(given: dict[str, str]) -> dict[str, str]:
    headers = {}
    for name, value in given.items():
        if not _TOKEN.fullmatch(name) or not _is_header_value(value):
            raise GadgetError(f"The request header {name!r} is not valid.")
        if name.lower() not in _OWNED_HEADERS:
            headers[name] = value
    if not any(name.lower() == "user-agent" for name in headers):
        headers["User-Agent"] = f"gadget-container/0.1 (+{settings.CONTAINER_ORIGIN})"
    headers["Accept-Encoding"] = "gzip, deflate"
    headers["X-shindig-dos"] = "on"
    return headers


def _is_header_value(value: str) -> bool:
    """Latin-1 text without line breaks or NUL: what HTTP/1.1 can carry."""
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return re.search(r"[\r\n\0]", value) is None


async def _exchange(
    request: OutboundRequest, hop: _Hop, deadline: float
) -> OutboundResponse:
    cap = request.max_response_bytes or settings.GADGETS["MAX_RESPONSE_BYTES"]
    max_redirects = settings.GADGETS["MAX_REDIRECTS"]
    for hops in range(max_redirects + 1):
        answer = await _send(hop, deadline, cap, request.follow_redirects)
        if isinstance(answer, OutboundResponse):
            answer.url = str(hop.target.url) if hops else request.url
            return answer
        hop = _next_hop(hop, *answer)
    raise TooManyRedirects(
        f"The remote server redirected more than {max_redirects} times."
    )


async def _send(
    hop: _Hop, deadline: float, cap: int, follow_redirects: bool
) -> OutboundResponse | tuple[int, str]:
    """One request; a redirect to follow comes back as (status, location)."""
    target = hop.target
    addresses = await _vet(target)
    token = _vetted.set((target.host, target.port, addresses))
    url = httpcore.URL(
        scheme=target.scheme.encode(),
        host=target.host.encode(),
        port=target.port,
        target=target.url.raw_path,
    )
    headers = [(b"Host", target.url.netloc)] + [
        (name.encode("ascii"), value.encode("latin-1"))
        for name, value in hop.headers.items()
    ]
    timeouts = {"connect": deadline, "read": deadline, "write": deadline}
    try:
        async with (await _pool()).stream(
            hop.method,
            url,
            headers=headers,
            content=hop.body,
            extensions={"timeout": timeouts},
            wait_seconds=deadline,
        ) as response:
            return await _answer(response, target, cap, follow_redirects)
    except httpcore.TimeoutException:
        raise UpstreamTimeout(f"{target.host} did not answer in time.") from None
    except httpcore.ConnectError:
        raise UpstreamError(f"Could not connect to {target.host}.") from None
    except (httpcore.ProtocolError, httpcore.NetworkError) as exc:
        raise UpstreamError(f"The exchange with {target.host} failed: {exc}") from None
    finally:
        _vetted.reset(token)


async def _answer(
    response: httpcore.Response, target: _Target, cap: int, follow_redirects: bool
) -> OutboundResponse | tuple[int, str]:
    headers = [
        (name.decode("latin-1").lower(), value.decode("latin-1"))
        for name, value in response.headers
    ]
    location = _header(headers, "location")
    if follow_redirects and response.status in _REDIRECT_STATUSES and location:
        return (response.status, location)
    body, decoded = await _read_body(response, headers, target, cap)
    if decoded:
        headers = [h for h in headers if h[0] not in _DECODED_AWAY_HEADERS]
    return OutboundResponse(
        status=response.status, headers=headers, body=body, url=str(target.url)
    )


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key == name:
            return value
    return None


def _next_hop(hop: _Hop, status: int, location: str) -> _Hop:
    try:
        joined = str(hop.target.url.join(location.strip()))
    except (httpx.InvalidURL, ValueError):
        raise InvalidUrl("The remote server redirected to an invalid URL.") from None
    try:
        target = _parse(joined)
    except InvalidUrl as exc:
        raise InvalidUrl(
            f"The remote server redirected to a URL that cannot be fetched: "
            f"{exc.message}"
        ) from None
    method, body, headers = hop.method, hop.body, dict(hop.headers)
    if (status == 303 and method != "HEAD") or (
        status in (301, 302) and method == "POST"
    ):
        method, body = "GET", None
        headers = {k: v for k, v in headers.items() if k.lower() not in _BODY_HEADERS}
    if target.origin != hop.target.origin:
        headers = {
            k: v for k, v in headers.items() if k.lower() not in _CREDENTIAL_HEADERS
        }
    return _Hop(target, method, headers, body)


# --- Bodies ----------------------------------------------------------------

_PIECE_BYTES = 64 * 1024
_MAX_ENCODINGS = 2
# Once the body is decoded these describe bytes we no longer return.
_DECODED_AWAY_HEADERS = frozenset({"content-encoding", "content-length"})


async def _read_body(
    response: httpcore.Response,
    headers: list[tuple[str, str]],
    target: _Target,
    cap: int,
) -> tuple[bytes, bool]:
    """The decoded body, refused as soon as it passes ``cap`` bytes."""
    stages = _decoders(_header(headers, "content-encoding") or "", target)
    declared = _header(headers, "content-length") or ""
    if not stages and declared.isdigit() and int(declared) > cap:
        raise _too_large(target, cap)
    pieces: list[bytes] = []
    total = 0
    async for raw in response.aiter_stream():
        for piece in _run(stages, raw):
            total += len(piece)
            if total > cap:
                raise _too_large(target, cap)
            pieces.append(piece)
    for stage in stages:
        stage.finish()
    return b"".join(pieces), bool(stages)


def _too_large(target: _Target, cap: int) -> ResponseTooLarge:
    return ResponseTooLarge(
        f"The answer from {target.host} is larger than the {cap} bytes allowed."
    )


def _run(stages: list[_Inflater], raw: bytes) -> Iterator[bytes]:
    pieces: Iterable[bytes] = [raw]
    for stage in stages:
        pieces = stage.feed_all(pieces)
    yield from pieces


def _decoders(content_encoding: str, target: _Target) -> list[_Inflater]:
    """Inflaters in decoding order; none when the encoding is unknown."""
    names = [n.strip().lower() for n in content_encoding.split(",") if n.strip()]
    names = [name for name in names if name != "identity"]
    if len(names) > _MAX_ENCODINGS:
        raise UpstreamError(f"The answer from {target.host} is encoded too often.")
    if not all(name in ("gzip", "x-gzip", "deflate") for name in names):
        # We only offer gzip and deflate; anything else passes through raw
        # with its Content-Encoding header, still counted against the cap.
        return []
    return [_Inflater(name, target.host) for name in reversed(names)]


class _Inflater:
    """Incremental gzip or deflate decoding in bounded pieces.

    ``max_length`` keeps each piece small however much a few compressed
    bytes expand, which is what makes the size cap hold for bombs.
    """

    def __init__(self, encoding: str, host: str) -> None:
        self.encoding = encoding
        self.host = host
        wbits = zlib.MAX_WBITS if encoding == "deflate" else 16 + zlib.MAX_WBITS
        self.inflater = zlib.decompressobj(wbits)
        self.may_retry_raw = encoding == "deflate"
        self.has_input = False

    def feed_all(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            yield from self.feed(chunk)

    def feed(self, data: bytes) -> Iterator[bytes]:
        self.has_input = self.has_input or bool(data)
        while not self.inflater.eof:
            piece = self._decompress(data)
            data = self.inflater.unconsumed_tail
            if piece:
                yield piece
            if not data and len(piece) < _PIECE_BYTES:
                return

    def finish(self) -> None:
        """Refuse a stream cut short: a partial body is not an answer."""
        if self.has_input and not self.inflater.eof:
            raise UpstreamError(
                f"The {self.encoding} answer from {self.host} ended too early."
            )

    def _decompress(self, data: bytes) -> bytes:
        try:
            piece = self.inflater.decompress(data, _PIECE_BYTES)
        except zlib.error:
            if not self.may_retry_raw:
                raise UpstreamError(
                    f"The {self.encoding} answer from {self.host} could not be decoded."
                ) from None
            # Some servers send raw deflate without the zlib wrapper.
            self.inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            self.may_retry_raw = False
            return self._decompress(data)
        if data:
            self.may_retry_raw = False
        return piece


# --- Synchronous callers ---------------------------------------------------


def fetch_sync(request: OutboundRequest) -> OutboundResponse:
    """``fetch`` for commands and tasks, with or without a running loop.

    Inside a running loop (a sync helper called from async code) the fetch
    runs on a private loop in a worker thread; the calling thread waits.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_fetch_then_close(request))
    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(asyncio.run, _fetch_then_close(request)).result()


async def _fetch_then_close(request: OutboundRequest) -> OutboundResponse:
    try:
        return await fetch(request)
    finally:
        await close_pool()
