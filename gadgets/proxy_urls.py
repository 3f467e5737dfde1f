"""The proxy on gadget hosts (included under ``gadgets/``)."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import views_proxy

urlpatterns: list[URLPattern] = [
    path("makeRequest", views_proxy.make_request, name="make-request"),
]
