"""URLs of the hosts under GADGET_DOMAIN: gadget content and its proxy only.

The container's pages, admin and session never appear here.
"""

from __future__ import annotations

from django.urls import URLResolver, include, path

urlpatterns: list[URLResolver] = [
    path("", include("oauthproxy.urls_gadget_host")),
    path("", include("gadgets.urls_gadget_host")),
]
