"""OAuth proxy URLs on the container host; include at the site root."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from . import views, views_developer

_developer = [
    path("", views_developer.overview, name="developer"),
    path(
        "claims/<int:claim_id>/", views_developer.claim_detail, name="developer-claim"
    ),
    path(
        "claims/<int:claim_id>/verify",
        views_developer.verify,
        name="developer-verify",
    ),
    path(
        "claims/<int:claim_id>/delete",
        views_developer.delete_claim,
        name="developer-delete-claim",
    ),
    path(
        "claims/<int:claim_id>/register",
        views_developer.register,
        name="developer-register",
    ),
    path(
        "registrations/<int:registration_id>/",
        views_developer.registration_detail,
        name="developer-registration",
    ),
    path(
        "registrations/<int:registration_id>/edit",
        views_developer.edit_registration,
        name="developer-edit-registration",
    ),
    path(
        "registrations/<int:registration_id>/secret",
        views_developer.replace_secret,
        name="developer-replace-secret",
    ),
    path(
        "registrations/<int:registration_id>/enabled",
        views_developer.set_enabled,
        name="developer-set-enabled",
    ),
    path(
        "registrations/<int:registration_id>/delete",
        views_developer.delete_registration,
        name="developer-delete-registration",
    ),
    path(
        "registrations/<int:registration_id>/certificate.pem",
        views_developer.download_certificate,
        name="developer-certificate",
    ),
    path("api-tokens", views_developer.create_api_token, name="developer-api-token"),
    path(
        "api-tokens/<int:token_id>/revoke",
        views_developer.revoke_api_token,
        name="developer-revoke-api-token",
    ),
]

urlpatterns: list[URLPattern | URLResolver] = [
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
    path("developer/", include(_developer)),
    path("api/", include("oauthproxy.urls_api")),
]
