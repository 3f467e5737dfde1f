"""Small threaded servers on 127.0.0.1 for tests that need a real socket.

Tests of the outbound guard must show that nothing connects where it should
not, and that slow, huge or redirecting upstreams are handled; both need a
real listener whose connections can be counted. Each server here binds an
ephemeral port, serves from daemon threads and counts every TCP connection
it accepts (``server.connections``; ``open_connections`` counts those still
open), so a test can assert "0 connections" as well as "1 connection for 2
requests".

    with http_server(lambda request: Reply(body=b"hello")) as server:
        ... fetch(server.url("/path")) ...
        assert server.requests[0].headers["x-shindig-dos"] == "on"

Pass ``tls=`` a server context (``self_signed``) for HTTPS; the TLS
server names (SNI) clients asked for land in ``server.server_names``.

Helpers: ``canary_server`` (answers 200 "canary" and counts), ``http_server``
(keep-alive HTTP/1.1 with a handler), ``trickle_server`` (a body one byte
at a time), ``redirect_server``, ``gzip_bomb_server`` and ``silent_server``
(accepts and never answers).
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import gzip
import socket
import socketserver
import ssl
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class Recorded:
    """One request as the server received it (header names lower-cased)."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    connection: int


@dataclass
class Reply:
    """What to answer; ``chunks`` are sent one by one, ``delay_seconds`` apart."""

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    chunks: Iterable[bytes] | None = None
    delay_seconds: float = 0.0
    close: bool = False


ConnectionHandler = Callable[[socket.socket, int, "LocalServer"], None]


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    request_queue_size = 256  # many concurrent clients in load tests


class LocalServer:
    """A listener on 127.0.0.1 that hands each connection to ``handle``."""

    def __init__(
        self, handle: ConnectionHandler, tls: ssl.SSLContext | None = None
    ) -> None:
        self.handle = handle
        self.tls = tls
        self.scheme = "https" if tls else "http"
        self.server_names: list[str | None] = []  # TLS SNI, in order
        self.connections = 0
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._server = _TCPServer(("127.0.0.1", 0), self._handler_class())
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}
        )
        self._thread.daemon = True

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._open)

    @property
    def netloc(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def start(self) -> LocalServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            for conn in list(self._open):
                _quietly(conn.shutdown, socket.SHUT_RDWR)
                _quietly(conn.close)
        self._thread.join(timeout=2)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _handler_class(self) -> type[socketserver.BaseRequestHandler]:
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                owner._serve(self.request)

        return Handler

    def _serve(self, conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self.connections += 1
            number = self.connections
            self._open.add(conn)
        try:
            if self.tls is None:
                self.handle(conn, number, self)
            else:
                with self._wrap(conn) as tls_conn:
                    self.handle(tls_conn, number, self)
        except OSError:
            pass  # the client went away, as clients under test often do
        finally:
            with self._lock:
                self._open.discard(conn)

    def _wrap(self, conn: socket.socket) -> socket.socket:
        assert self.tls is not None
        self.tls.sni_callback = lambda sock, name, context: self._saw_name(name)
        return self.tls.wrap_socket(conn, server_side=True)

    def _saw_name(self, name: str | None) -> None:
        self.server_names.append(name)


def _quietly(fn: Callable[..., Any], *args: Any) -> None:
    with contextlib.suppress(OSError):
        fn(*args)


# --- HTTP ------------------------------------------------------------------


def read_request(conn: socket.socket, reader: Any, number: int) -> Recorded | None:
    """Parse one HTTP/1.1 request (Content-Length bodies only); None at EOF."""
    line = reader.readline(65537)
    if not line:
        return None
    method, target, _ = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while True:
        header = reader.readline(65537).decode("latin-1")
        if header in ("\r\n", "\n", ""):
            break
        name, _, value = header.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    body = reader.read(length) if length else b""
    return Recorded(method, target, headers, body, number)


def write_reply(conn: socket.socket, reply: Reply) -> None:
    names = {name.lower() for name, _ in reply.headers}
    lines = [f"HTTP/1.1 {reply.status} X"]
    lines += [f"{name}: {value}" for name, value in reply.headers]
    if reply.chunks is None and "content-length" not in names:
        lines.append(f"Content-Length: {len(reply.body)}")
    streamed_to_close = reply.chunks is not None and "content-length" not in names
    if streamed_to_close or reply.close:
        lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
    if reply.chunks is None:
        # One write: a separate small body write would wait for the
        # client's delayed ACK (Nagle) and add 40 ms to every request.
        conn.sendall(head + reply.body)
        return
    conn.sendall(head)
    for chunk in reply.chunks:
        conn.sendall(chunk)
        if reply.delay_seconds:
            time.sleep(reply.delay_seconds)


def http_server(
    handler: Callable[[Recorded], Reply], tls: ssl.SSLContext | None = None
) -> LocalServer:
    """A keep-alive HTTP/1.1 server answering every request with ``handler``."""

    def serve(conn: socket.socket, number: int, server: LocalServer) -> None:
        reader = conn.makefile("rb")
        while True:
            request = read_request(conn, reader, number)
            if request is None:
                return
            server.requests.append(request)
            reply = handler(request)
            write_reply(conn, reply)
            if reply.close or reply.chunks is not None:
                return

    return LocalServer(serve, tls)


def canary_server() -> LocalServer:
    """Counts connections; answers 200 "canary" so a leak cannot hide."""
    return http_server(lambda request: Reply(body=b"canary", close=True))


def silent_server() -> LocalServer:
    """Accepts connections and never answers (a black hole after connect)."""

    def serve(conn: socket.socket, number: int, server: LocalServer) -> None:
        while conn.recv(65536):
            pass

    return LocalServer(serve)


def trickle_server(body_bytes: int = 100, delay_seconds: float = 0.2) -> LocalServer:
    """Sends a declared body one byte at a time, ``delay_seconds`` apart."""

    def reply(request: Recorded) -> Reply:
        return Reply(
            headers=[("Content-Length", str(body_bytes))],
            chunks=(b"x" for _ in range(body_bytes)),
            delay_seconds=delay_seconds,
        )

    return http_server(reply)


def redirect_server(location: str, status: int = 302) -> LocalServer:
    """Answers every request with a redirect to ``location``."""
    return http_server(
        lambda request: Reply(status=status, headers=[("Location", location)])
    )


@functools.cache
def gzip_bomb(decoded_bytes: int, encoding: str = "gzip") -> bytes:
    """A gzip (or zlib "deflate") body that inflates to ``decoded_bytes`` zeros."""
    compressor = (
        zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        if encoding == "gzip"
        else zlib.compressobj(9)
    )
    block = bytes(1024 * 1024)
    parts = [compressor.compress(block) for _ in range(decoded_bytes // len(block))]
    parts.append(compressor.compress(bytes(decoded_bytes % len(block))))
    parts.append(compressor.flush())
    return b"".join(parts)


def gzip_bomb_server(decoded_bytes: int, encoding: str = "gzip") -> LocalServer:
    """Answers with a small compressed body inflating to ``decoded_bytes``."""
    body = gzip_bomb(decoded_bytes, encoding)
    return http_server(
        lambda request: Reply(headers=[("Content-Encoding", encoding)], body=body)
    )


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data)


def self_signed(host_name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a fresh certificate for ``host_name``, and a
    client context that trusts exactly that certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host_name)]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with (
        tempfile.NamedTemporaryFile() as cert_file,
        tempfile.NamedTemporaryFile() as key_file,
    ):
        cert_file.write(cert_pem)
        key_file.write(key_pem)
        cert_file.flush()
        key_file.flush()
        server.load_cert_chain(cert_file.name, key_file.name)
    client = ssl.create_default_context(cadata=cert_pem.decode("ascii"))
    return server, client
