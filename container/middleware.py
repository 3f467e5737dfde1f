"""Request ids for log lines, and routing of requests by host.

One Django process serves three kinds of host: the container itself, one
host per gadget under ``GADGET_DOMAIN`` (locked domains), and the sandbox
service provider. Each kind gets its own URLconf, so a gadget host cannot
reach the container's pages (and its session cookie never reaches a gadget
host, because the cookie is host-only).
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar(
    "request_id", default="-"
)
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

Handler = Callable[[HttpRequest], Any]


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class _DualMiddleware:
    """Base for middleware that works in both sync and async stacks."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        early = self.before(request)
        if iscoroutinefunction(self):
            return self._acall(request, early)
        response = early or self.get_response(request)
        return self.after(request, response)

    async def _acall(
        self, request: HttpRequest, early: HttpResponse | None
    ) -> HttpResponse:
        if early is not None:
            return self.after(request, early)
        response = await self.get_response(request)
        return self.after(request, response)

    def before(self, request: HttpRequest) -> HttpResponse | None:
        return None

    def after(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        return response


class RequestIdMiddleware(_DualMiddleware):
    """Tags each request with an id, echoed in ``X-Request-Id``."""

    def before(self, request: HttpRequest) -> HttpResponse | None:
        incoming = request.headers.get("X-Request-Id", "")
        request_id = incoming if _INCOMING_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        request_id_var.set(request_id)
        return None

    def after(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        response["X-Request-Id"] = getattr(request, "request_id", "-")
        return response


def host_kind(host: str) -> str:
    """Classify a ``Host`` header value: container, gadget, sandbox or unknown."""
    host = host.lower()
    if host == settings.CONTAINER_HOST or host == "testserver":
        return "container"
    if host.endswith("." + settings.GADGET_DOMAIN):
        return "gadget"
    if settings.SANDBOX_HOST and host == settings.SANDBOX_HOST:
        return "sandbox"
    return "unknown"


class HostRoutingMiddleware(_DualMiddleware):
    """Picks the URLconf for the request's host."""

    def before(self, request: HttpRequest) -> HttpResponse | None:
        kind = host_kind(request.get_host())
        request.host_kind = kind  # type: ignore[attr-defined]
        if kind == "gadget":
            request.urlconf = settings.GADGET_HOST_URLCONF
        elif kind == "sandbox":
            request.urlconf = settings.SANDBOX_URLCONF
        elif kind == "unknown":
            return HttpResponseNotFound(
                "This host is not served here.", content_type="text/plain"
            )
        return None


AsyncHandler = Callable[[HttpRequest], Awaitable[HttpResponse]]
