"""URLs of the sandbox service provider's host."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from . import views

_provider: list[URLPattern] = [
    path("", views.index, name="index"),
    path("login", views.login_view, name="login"),
    path("logout", views.logout_view, name="logout"),
    path("oauth/request_token", views.request_token, name="request_token"),
    path("oauth/authorize", views.authorize, name="authorize"),
    path("oauth/access_token", views.access_token, name="access_token"),
    path("api/contacts", views.contacts_api, name="contacts"),
    path("api/echo", views.echo_api, name="echo"),
    path("api/faults", views.faults_api, name="faults_api"),
    path("feeds/news.atom", views.news_feed, name="news"),
    path("tokens", views.tokens_page, name="tokens"),
    path("faults", views.faults_page, name="faults"),
]

# Namespaced ("sandbox:login") although this module is a root URLconf, so
# names never meet the container's.
urlpatterns: list[URLResolver] = [path("", include((_provider, "sandbox")))]
