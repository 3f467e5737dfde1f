"""Test set-up shared by every app: service checks and outbound fakes.

Tests that need a real PostgreSQL, Redis or Chromium carry a marker. When
the service is missing they skip with the reason, except when
``REQUIRE_SERVICES=1`` (set by ``.ci/run``), where the skip becomes a
failure so CI can never pass without running them.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or ""


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or 0), timeout=0.5
        ):
            return True
    except OSError:
        return False


def _missing(marker: str) -> str | None:
    from django.conf import settings

    if marker == "postgres":
        engine = settings.DATABASES["default"]["ENGINE"]
        if "postgresql" not in engine:
            return "needs PostgreSQL: set DATABASE_URL=postgres://..."
    if marker == "redis":
        if not settings.REDIS_URL:
            return "needs Redis: set REDIS_URL=redis://..."
        if not _reachable(settings.REDIS_URL):
            return f"Redis at {settings.REDIS_URL} is not reachable"
    if marker == "browser" and not CHROMIUM:
        return "needs Chromium: apt-get install chromium (or set CHROMIUM_PATH)"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in ("postgres", "redis", "browser"):
        if item.get_closest_marker(marker) is None:
            continue
        reason = _missing(marker)
        if reason is None:
            continue
        if REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES=1 but this test {reason}", pytrace=False)
        pytest.skip(reason)


class FakeUpstream:
    """Answers the guarded client's ``fetch`` from a table, recording calls.

    Routes map a URL (exact, without fragment) to a response or to a
    callable taking the ``OutboundRequest``. Unknown URLs raise
    ``UpstreamError``, as an unreachable host would.
    """

    def __init__(self) -> None:
        self.routes: dict[str, Any] = {}
        self.calls: list[Any] = []

    def add(
        self,
        url: str,
        body: bytes | str = b"",
        *,
        status: int = 200,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        from gadgets.outbound import OutboundResponse

        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[url] = OutboundResponse(
            status=status, headers=headers or [], body=data, url=url
        )

    def add_handler(self, url: str, handler: Callable[[Any], Any]) -> None:
        self.routes[url] = handler

    async def fetch(self, request: Any) -> Any:
        from gadgets.errors import UpstreamError

        self.calls.append(request)
        route = self.routes.get(request.url)
        if route is None:
            raise UpstreamError(f"No fake route for {request.url}")
        if callable(route):
            return route(request)
        return route


@pytest.fixture
def fake_upstream(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeUpstream]:
    """Replace the network at the guarded client (``gadgets.outbound.fetch``)."""
    from gadgets import outbound

    fake = FakeUpstream()
    monkeypatch.setattr(outbound, "fetch", fake.fetch)
    yield fake


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
