"""Which of the three kinds of host a request is for.

One process serves the container, one host per gadget under
``GADGET_DOMAIN`` and the sandbox provider. The routing middleware and the
ASGI entry point both ask here; it reads settings only, so it can be
imported before the app registry is ready.
"""

from __future__ import annotations

from django.conf import settings


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
