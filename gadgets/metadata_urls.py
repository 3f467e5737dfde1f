"""Gadget metadata, mounted under ``gadgets/`` on the container's host."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import views_metadata

urlpatterns: list[URLPattern] = [
    path("metadata", views_metadata.metadata, name="gadgets-metadata"),
]
