"""HTTP views of the OAuth proxy (container host and gadget hosts)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from . import keys


@require_GET
def public_certificate(request: HttpRequest) -> HttpResponse:
    """The container key's X.509 certificate, for providers to verify with."""
    key = keys.container_key()
    response = HttpResponse(
        key.certificate_pem, content_type="application/x-x509-ca-cert"
    )
    response["Content-Disposition"] = 'inline; filename="public.cer"'
    response["X-Key-Name"] = key.name
    response["Cache-Control"] = "public, max-age=86400"
    return response
