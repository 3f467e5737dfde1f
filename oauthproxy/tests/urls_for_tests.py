"""Both hosts' URLs in one module, until the project URLconfs include ours."""

from __future__ import annotations

from django.urls import URLResolver, include, path

urlpatterns: list[URLResolver] = [
    path("", include("oauthproxy.urls_container_host")),
]
