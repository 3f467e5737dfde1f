"""URLs served on a gadget's own host: rendering and the proxy."""

from __future__ import annotations

from django.urls import path

urlpatterns: list = []
