"""Per-gadget origins ("locked domains").

Every gadget renders on a host of its own under ``GADGET_DOMAIN``, derived
from its canonical spec URL, so two gadgets never share an origin and none
shares the container's. For example, with ``GADGET_DOMAIN`` set to
``gadgets.localhost:8000``::

    >>> canonical_gadget_url("HTTP://Example.COM:80/g.xml#top")
    'http://example.com/g.xml'
    >>> locked_host("http://example.com/g.xml")  # doctest: +SKIP
    'k4fa...q2.gadgets.localhost:8000'

The host label is the lower-case base32 of SHA-1 over the canonical URL,
as Shindig computed it, so it fits one DNS label (32 characters).
"""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

from .errors import InvalidUrl

_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_gadget_url(url: str) -> str:
    """The one spelling of a spec URL used for hosts, tokens and keys."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidUrl(f"The gadget URL {url[:200]!r} is not a valid URL.") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise InvalidUrl(
            f"The gadget URL {url[:200]!r} must be an absolute http or https URL."
        )
    if parts.username or parts.password:
        raise InvalidUrl("A gadget URL may not carry a user name or password.")
    host = parts.hostname.lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def locked_label(gadget_url: str) -> str:
    digest = hashlib.sha1(  # noqa: S324 - a name, not a signature
        canonical_gadget_url(gadget_url).encode("utf-8")
    ).digest()
    return base64.b32encode(digest).decode("ascii").rstrip("=").lower()


def locked_host(gadget_url: str) -> str:
    """The host (with port) a gadget renders on."""
    return f"{locked_label(gadget_url)}.{settings.GADGET_DOMAIN}"


def gadget_origin(gadget_url: str) -> str:
    return f"{settings.CONTAINER_SCHEME}://{locked_host(gadget_url)}"


def is_gadget_host(gadget_url: str, host: str) -> bool:
    """Whether ``host`` (a request's Host header) belongs to this gadget."""
    return host.lower() == locked_host(gadget_url)
