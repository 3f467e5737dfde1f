"""ASGI entry point: the production server (uvicorn) loads ``application``.

Django's ASGI handler gives every request a ``ThreadSensitiveContext``: the
request's synchronous work (its request signals, a synchronous view, each
async ORM call) runs on an executor thread made for that request alone,
torn down by yet another thread when the request ends. With hundreds of
requests in flight, each waiting a second on a slow provider, that is
hundreds of threads, and creating them cost more CPU than the proxying.

Requests for gadget hosts (render, makeRequest, feature JS, the OAuth
callback) are served by async views whose synchronous work is a handful of
short database calls, so they skip that context: their synchronous calls
share the process's one thread for thread-sensitive code, in turn. A
database call of one gadget request may wait behind another's; no network
wait ever does (outbound calls are awaited on the event loop). Container
pages are synchronous views with sessions and keep Django's per-request
threads. Measured in docs/benchmarks.md.
"""

from __future__ import annotations

import os
from typing import Any

import django
from django.core.handlers.asgi import ASGIHandler

from container.hosts import host_kind

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "container.settings")


def is_gadget_host_scope(scope: dict[str, Any]) -> bool:
    """Whether an HTTP scope's Host header names a gadget host."""
    for name, value in scope.get("headers") or ():
        if name == b"host":
            return host_kind(value.decode("latin-1")) == "gadget"
    return False


class ContainerASGIHandler(ASGIHandler):
    """Django's handler, without a thread per request on gadget hosts."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and is_gadget_host_scope(scope):
            await self.handle(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


django.setup(set_prefix=False)
application = ContainerASGIHandler()
