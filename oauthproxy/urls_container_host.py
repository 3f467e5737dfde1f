"""OAuth proxy URLs on the container host; include at the site root."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import views

urlpatterns: list[URLPattern] = [
    path(
        "gadgets/oauthcallback",
        views.oauth_callback_on_container,
        name="oauthproxy-callback-container",
    ),
    path(
        "gadgets/oauth/public.cer",
        views.public_certificate,
        name="oauthproxy-public-certificate",
    ),
]
