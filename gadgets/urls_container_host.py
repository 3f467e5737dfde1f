"""Gadget-server URLs on the container's host: metadata and feature JS."""

from __future__ import annotations

from django.urls import URLResolver, include, path

urlpatterns: list[URLResolver] = [
    path("", include("gadgets.js_urls")),
    path("", include("gadgets.metadata_urls")),
]
