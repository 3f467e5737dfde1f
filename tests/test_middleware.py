"""The middleware stack under ASGI: Django's checks, without thread hops.

``container.middleware`` wraps Django's session, CSRF, authentication,
messages, security, common and clickjacking middleware so that hooks with
no I/O run inline on the event loop and gadget hosts skip what they have
no use for. These tests drive the async handler (``AsyncClient``) and the
sync one (``Client``) and check that the protections still hold.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from asgiref.sync import SyncToAsync
from django.conf import settings
from django.contrib.auth import middleware as django_auth
from django.contrib.auth.models import User
from django.contrib.messages import middleware as django_messages
from django.contrib.sessions import middleware as django_sessions
from django.test import AsyncClient, Client

from container import middleware
from container.asgi import application
from gadgets.locked_domain import locked_host

# Async tests write through the async ORM, on another thread and connection
# than the test's transaction: flush the tables afterwards instead.
pytestmark = pytest.mark.django_db(transaction=True)

GADGET_URL = "http://gadgets.example/hello.xml"


def test_wrappers_wrap_the_classes_the_admin_needs() -> None:
    """Why admin.E408-E410 are silenced: the wrapped classes are Django's."""
    assert middleware.SessionMiddleware.wrapped is django_sessions.SessionMiddleware
    assert (
        middleware.AuthenticationMiddleware.wrapped
        is django_auth.AuthenticationMiddleware
    )
    assert middleware.MessageMiddleware.wrapped is django_messages.MessageMiddleware
    names = settings.MIDDLEWARE
    assert names.index("container.middleware.SessionMiddleware") < names.index(
        "container.middleware.AuthenticationMiddleware"
    )


async def test_container_pages_keep_csrf_framing_and_security_headers() -> None:
    client = AsyncClient(enforce_csrf_checks=True)

    page = await client.get("/accounts/login/")
    refused = await client.post("/accounts/login/", {"username": "a", "password": "b"})

    assert page.status_code == 200
    assert page["X-Frame-Options"] == "DENY"
    assert page["X-Content-Type-Options"] == "nosniff"
    assert "csrftoken" in page.cookies
    assert refused.status_code == 403


async def test_async_login_sets_a_session_and_the_user_is_seen() -> None:
    await User.objects.acreate_user("middleware-ada", password="correct horse battery")
    client = AsyncClient()

    answer = await client.post(
        "/accounts/login/",
        {"username": "middleware-ada", "password": "correct horse battery"},
    )
    home = await client.get("/")

    assert answer.status_code == 302
    assert "sessionid" in client.cookies
    assert home.status_code == 200
    assert b"middleware-ada" in home.content


def test_sync_stack_behaves_the_same() -> None:
    User.objects.create_user("bo", password="correct horse battery")
    client = Client(enforce_csrf_checks=True)

    refused = client.post("/accounts/login/", {"username": "bo", "password": "x"})
    client.force_login(User.objects.get(username="bo"))
    home = client.get("/")

    assert refused.status_code == 403
    assert home.status_code == 200
    assert home["X-Frame-Options"] == "DENY"


async def asgi_get(path: str, host: str) -> tuple[int, dict[str, str], bytes]:
    """One GET through Django's ASGI handler, with the scope uvicorn builds."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", host.encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    sent: list[dict[str, Any]] = []

    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # the client stays connected
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await application(scope, receive, send)
    start = sent[0]
    headers: dict[str, str] = {}
    for name, value in start["headers"]:
        key = name.decode().lower()
        headers[key] = (headers[key] + "\n" if key in headers else "") + value.decode()
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], headers, body


async def test_gadget_hosts_get_no_session_or_csrf_cookie() -> None:
    status, headers, _ = await asgi_get("/gadgets/js/core.js", locked_host(GADGET_URL))

    assert status == 200
    assert headers["x-content-type-options"] == "nosniff"
    assert "set-cookie" not in headers


async def test_container_host_through_asgi_sets_the_csrf_cookie() -> None:
    status, headers, _ = await asgi_get("/accounts/login/", settings.CONTAINER_HOST)

    assert status == 200
    assert "csrftoken=" in headers["set-cookie"]
    assert headers["x-frame-options"] == "DENY"


async def test_a_gadget_host_request_costs_no_middleware_thread_hop(
    monkeypatch: Any,
) -> None:
    """Only the synchronous view and Django's own signals use a thread."""
    hops: list[str] = []
    original = SyncToAsync.__call__

    async def counting(self: SyncToAsync, *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counting)

    status, _, _ = await asgi_get("/gadgets/js/core.js", locked_host(GADGET_URL))

    assert status == 200
    assert hops  # the counter works: Django's request signals still hop
    assert [hop for hop in hops if "Middleware" in hop] == []


async def test_gadget_hosts_start_no_thread_per_request(monkeypatch: Any) -> None:
    """Container pages keep a thread per request; gadget hosts share one."""
    started: list[str] = []
    original = threading.Thread.start

    def counting(self: threading.Thread) -> None:
        started.append(self.name)
        original(self)

    gadget = locked_host(GADGET_URL)
    await asgi_get("/gadgets/js/core.js", gadget)  # the shared thread exists
    monkeypatch.setattr(threading.Thread, "start", counting)

    for _ in range(5):
        await asgi_get("/gadgets/js/core.js", gadget)
    on_gadget_hosts = len(started)
    await asgi_get("/accounts/login/", settings.CONTAINER_HOST)

    assert on_gadget_hosts == 0
    assert len(started) > 0
