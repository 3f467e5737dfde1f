"""The developer REST API, its OpenAPI schema and its documentation page.

Included at ``/api/`` on the container host. The Swagger UI assets come
from the installed drf-spectacular-sidecar package (served as static
files), never from a CDN; its start-up script is a separate same-origin
request, so the page runs under a CSP without inline scripts.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from .api import AuditViewSet, ClaimViewSet, RegistrationViewSet

# Swagger UI's page carries one small inline <style> block.
DOCS_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


def _with_docs_policy(view: Callable[..., HttpResponseBase]) -> Any:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = DOCS_POLICY
        return response

    return wrapped


router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("claims", ClaimViewSet, basename="api-claim")
router.register("registrations", RegistrationViewSet, basename="api-registration")
router.register("audit", AuditViewSet, basename="api-audit")

urlpatterns: list[URLPattern | URLResolver] = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "docs/",
        _with_docs_policy(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path("", include(router.urls)),
]
