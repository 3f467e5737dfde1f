"""URLs of the container host (the portal people log in to)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views
from .csp import with_csp

_accounts = [
    path("signup/", views.signup, name="signup"),
    path("login/", with_csp(auth_views.LoginView.as_view()), name="login"),
    path("logout/", with_csp(auth_views.LogoutView.as_view()), name="logout"),
    path(
        "password_change/",
        with_csp(auth_views.PasswordChangeView.as_view()),
        name="password_change",
    ),
    path(
        "password_change/done/",
        with_csp(auth_views.PasswordChangeDoneView.as_view()),
        name="password_change_done",
    ),
    path(
        "password_reset/",
        with_csp(auth_views.PasswordResetView.as_view()),
        name="password_reset",
    ),
    path(
        "password_reset/done/",
        with_csp(auth_views.PasswordResetDoneView.as_view()),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        with_csp(auth_views.PasswordResetConfirmView.as_view()),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        with_csp(auth_views.PasswordResetCompleteView.as_view()),
        name="password_reset_complete",
    ),
]

_gadget = [
    path("move", views.move_gadget, name="move_gadget"),
    path("remove", views.remove_gadget, name="remove_gadget"),
    path("minimise", views.minimise_gadget, name="minimise_gadget"),
    path("settings", views.gadget_settings, name="gadget_settings"),
    path("prefs", views.gadget_prefs, name="gadget_prefs"),
    path("canvas", views.gadget_canvas, name="gadget_canvas"),
]

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("gadgets/", include("gadgets.urls_container_host")),
    path("", include("oauthproxy.urls_container_host")),
    path("", include("container.preview_urls")),
    path("accounts/", include(_accounts)),
    path("add/", views.add_gadget, name="add_gadget"),
    path("add/gallery/<int:entry_id>", views.add_from_gallery, name="add_from_gallery"),
    path("gadget/<int:gadget_id>/", include(_gadget)),
    path("connected-services/", views.connected_services, name="connected_services"),
    path(
        "connected-services/<int:token_id>/disconnect",
        views.disconnect_service,
        name="disconnect_service",
    ),
    path("", views.home_view, name="home"),
]
