"""OAuth proxy URLs on gadget hosts; include at the site root."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import views

urlpatterns: list[URLPattern] = [
    path("gadgets/oauthcallback", views.oauth_callback, name="oauthproxy-callback"),
]
