"""The gadget preview page, on the container host."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import preview

urlpatterns: list[URLPattern] = [
    path("preview", preview.preview, name="preview"),
]
