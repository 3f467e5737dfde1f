"""A minimal hand-written signing proxy: the baseline bench/run_bench.py uses.

This is what a team would write without the product: a few lines of
Django, oauthlib and one pooled HTTP client. It signs every request with
OAuth 1.0a HMAC-SHA1 (two-legged, a fixed consumer key) and forwards it,
with none of the product's checks: no security token, no locked host, no
outbound guard, no size cap, no envelope and no cache. Run it with::

    .venv/bin/uvicorn --app-dir bench minimal_proxy:application --port 8001

and ask ``GET /proxy?url=<upstream URL>``.
"""

from __future__ import annotations

import httpx
from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="minimal-proxy-bench-only",  # noqa: S106 - no secrets here
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["*"],
        MIDDLEWARE=[],
        INSTALLED_APPS=[],
    )

import django

django.setup()

from django.core.asgi import get_asgi_application  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402
from oauthlib.oauth1 import SIGNATURE_HMAC, Client  # noqa: E402

CONSUMER = Client(
    "bench-consumer-key",
    client_secret="bench-consumer-secret",  # noqa: S106 - a bench constant
    signature_method=SIGNATURE_HMAC,
)
pool = httpx.AsyncClient(
    limits=httpx.Limits(max_connections=1000), timeout=httpx.Timeout(10.0)
)


async def proxy(request: HttpRequest) -> HttpResponse:
    url, headers, _ = CONSUMER.sign(request.GET["url"])
    upstream = await pool.get(url, headers=headers)
    return HttpResponse(
        upstream.content,
        status=upstream.status_code,
        content_type=upstream.headers.get("content-type", "text/plain"),
    )


urlpatterns = [path("proxy", proxy)]
application = get_asgi_application()
