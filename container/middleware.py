"""Request ids for log lines, and routing of requests by host.

One Django process serves three kinds of host: the container itself, one
host per gadget under ``GADGET_DOMAIN`` (locked domains), and the sandbox
service provider. Each kind gets its own URLconf, so a gadget host cannot
reach the container's pages (and its session cookie never reaches a gadget
host, because the cookie is host-only).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib.auth import middleware as django_auth
from django.contrib.messages import middleware as django_messages
from django.contrib.sessions import middleware as django_sessions
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.middleware import clickjacking as django_clickjacking
from django.middleware import common as django_common
from django.middleware import csrf as django_csrf
from django.middleware import security as django_security
from whitenoise.middleware import WhiteNoiseMiddleware

from container.hosts import host_kind
from container.request_ids import request_id_var

_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

Handler = Callable[[HttpRequest], Any]


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


# --- Django's middleware without a thread hop per request ------------------
#
# Under ASGI, Django runs every hook of a ``MiddlewareMixin`` middleware
# through ``sync_to_async``: two thread hops per middleware per request, on
# a thread created for each request. With the ten middleware of a Django
# site that cost more than our views: /healthz managed about 270 requests
# per second. The classes below wrap Django's own middleware and decide, per
# host kind, how each runs:
#
# - hooks that only look at the request and headers (security headers,
#   common, CSRF, authentication's lazy user, X-Frame-Options) run inline
#   on the event loop, where any database access would raise Django's
#   SynchronousOnlyOperation instead of silently blocking;
# - hooks that may touch the database (the session saved in
#   process_response, messages kept in the session) keep their thread hop;
# - on gadget hosts, session, CSRF, authentication and messages do not run
#   at all: those hosts carry no container session (its cookie is
#   host-only), and their views (render, makeRequest, callback) use none.


def _kind(request: HttpRequest) -> str:
    kind = getattr(request, "host_kind", None)
    return kind if isinstance(kind, str) else host_kind(request.get_host())


class _Adapted:
    """Runs one Django middleware as the comment above describes."""

    wrapped: type
    in_thread = False  # hooks may touch the database
    skip_on_gadget_hosts = False

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.inner = self.wrapped(get_response)
        self.before = getattr(self.inner, "process_request", None)
        self.after = getattr(self.inner, "process_response", None)
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        if hasattr(self.inner, "process_view"):
            self.process_view = (
                self._aprocess_view if self.is_async else self._process_view
            )

    def _skipped(self, request: HttpRequest) -> bool:
        return self.skip_on_gadget_hosts and _kind(request) == "gadget"

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._acall(request)
        if self._skipped(request):
            return self.get_response(request)
        return self.inner(request)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        if self._skipped(request):
            return await self.get_response(request)
        if self.in_thread:
            return await self.inner(request)
        response = self.before(request) if self.before else None
        response = response or await self.get_response(request)
        return self.after(request, response) if self.after else response

    def _process_view(self, request: HttpRequest, *args: Any) -> Any:
        if self._skipped(request):
            return None
        return self.inner.process_view(request, *args)

    async def _aprocess_view(self, request: HttpRequest, *args: Any) -> Any:
        return self._process_view(request, *args)


class SecurityMiddleware(_Adapted):
    wrapped = django_security.SecurityMiddleware


class SessionMiddleware(_Adapted):
    wrapped = django_sessions.SessionMiddleware
    in_thread = True
    skip_on_gadget_hosts = True


class CommonMiddleware(_Adapted):
    wrapped = django_common.CommonMiddleware


class CsrfViewMiddleware(_Adapted):
    wrapped = django_csrf.CsrfViewMiddleware
    skip_on_gadget_hosts = True


class AuthenticationMiddleware(_Adapted):
    wrapped = django_auth.AuthenticationMiddleware
    skip_on_gadget_hosts = True


class MessageMiddleware(_Adapted):
    wrapped = django_messages.MessageMiddleware
    in_thread = True
    skip_on_gadget_hosts = True


class XFrameOptionsMiddleware(_Adapted):
    wrapped = django_clickjacking.XFrameOptionsMiddleware


class StaticFilesMiddleware:
    """WhiteNoise, with a thread hop only for requests under STATIC_URL.

    WhiteNoise's middleware is synchronous only; Django would otherwise run
    the whole rest of the stack through it on a thread for every request.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
            self.static = WhiteNoiseMiddleware(_not_static)
            self.serve_static = sync_to_async(self.static, thread_sensitive=False)
        else:
            self.static = WhiteNoiseMiddleware(get_response)
        self.prefix = settings.STATIC_URL or "/static/"

    def __call__(self, request: HttpRequest) -> Any:
        if not self.is_async:
            return self.static(request)
        return self._acall(request)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(self.prefix):
            response = await self.serve_static(request)
            if response is not _NOT_STATIC:
                return response
        return await self.get_response(request)


_NOT_STATIC = HttpResponseNotFound()


def _not_static(request: HttpRequest) -> HttpResponse:
    return _NOT_STATIC
