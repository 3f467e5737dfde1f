"""The Content-Security-Policy of container pages.

A container page holds the person's session and CSRF token and frames
third-party gadgets, so it allows only what it needs: its own scripts,
styles and images, and frames from the per-gadget hosts. With
``GADGET_DOMAIN`` ``gadgets.localhost:8000`` the home page answers::

    default-src 'none'; script-src 'self' http://localhost:8000;
    style-src 'self'; img-src 'self' data:; connect-src 'self';
    frame-src http://*.gadgets.localhost:8000; form-action 'self';
    base-uri 'none'; frame-ancestors 'none'

No ``'unsafe-inline'`` anywhere: page data travels in ``json_script``
blocks, which are JSON, not script. A gadget with a ``type="url"`` view
renders from its own server, so that origin is added to ``frame-src`` on
the pages that show it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

HEADER = "Content-Security-Policy"


def gadget_frame_source() -> str:
    """Every per-gadget host: ``<scheme>://*.<GADGET_DOMAIN>``."""
    return f"{settings.CONTAINER_SCHEME}://*.{settings.GADGET_DOMAIN}"


def policy(
    *, frame_origins: Iterable[str] = (), image_sources: Iterable[str] = ()
) -> str:
    covered = f"{settings.CONTAINER_SCHEME}://"
    extra = [o for o in frame_origins if not _under_gadget_domain(o, covered)]
    frames = " ".join(dict.fromkeys([gadget_frame_source(), *extra]))
    images = " ".join(dict.fromkeys(["'self'", "data:", *image_sources]))
    directives = [
        "default-src 'none'",
        f"script-src 'self' {settings.CONTAINER_ORIGIN}",
        "style-src 'self'",
        f"img-src {images}",
        "connect-src 'self'",
        f"frame-src {frames}",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


def _under_gadget_domain(origin: str, scheme_prefix: str) -> bool:
    return origin.startswith(scheme_prefix) and origin.endswith(
        "." + settings.GADGET_DOMAIN
    )


def set_policy(
    response: HttpResponseBase,
    *,
    frame_origins: Iterable[str] = (),
    image_sources: Iterable[str] = (),
) -> HttpResponseBase:
    response[HEADER] = policy(frame_origins=frame_origins, image_sources=image_sources)
    return response


View = Callable[..., HttpResponseBase]


def with_csp(view: View) -> View:
    """Give the view's answers the default policy unless they set their own."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        if HEADER not in response:
            set_policy(response)
        return response

    return wrapped
