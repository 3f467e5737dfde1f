"""Rendering, mounted under ``gadgets/`` on gadget hosts only.

The container's host never routes here, so no gadget can render in the
container's origin whatever parameters it is given.
"""

from __future__ import annotations

from django.urls import URLPattern, path

from . import views_render

urlpatterns: list[URLPattern] = [
    path("ifr", views_render.ifr, name="gadgets-ifr"),
]
