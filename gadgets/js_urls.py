"""Feature JavaScript, mounted under ``gadgets/`` on both kinds of host."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import views_js

urlpatterns: list[URLPattern] = [
    path("js/<str:features>.js", views_js.feature_js, name="gadgets-js"),
]
