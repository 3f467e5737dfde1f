"""URLs served on a gadget's own host: rendering, the proxy, feature JS.

The container's pages, admin and session never appear here.
"""

from __future__ import annotations

from django.urls import URLResolver, include, path

urlpatterns: list[URLResolver] = [
    path("gadgets/", include("gadgets.render_urls")),
    path("gadgets/", include("gadgets.proxy_urls")),
    path("gadgets/", include("gadgets.js_urls")),
]
