"""The gadget host's URLs plus ours, until the project URLconf includes ours."""

from __future__ import annotations

from django.urls import URLResolver, include, path

urlpatterns: list[URLResolver] = [
    path("", include("oauthproxy.urls_gadget_host")),
    path("", include("gadgets.urls_gadget_host")),
]
