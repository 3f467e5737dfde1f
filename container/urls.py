"""URLs of the container host (the portal people log in to)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("gadgets/", include("gadgets.urls_container_host")),
    path("", include("container.preview_urls")),
    path("", views.home, name="home"),
]
