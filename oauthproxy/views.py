"""HTTP views of the OAuth proxy on the container host and gadget hosts.

The callback runs on the gadget's own host (``/gadgets/oauthcallback``):
the provider sends the person's browser there after approval. It completes
the dance only for the browser holding the binding cookie that the
viewer's own makeRequest response set (see ``dance``), then answers with a
page that tells the gadget frame, by postMessage to the gadget's exact
origin, and closes itself.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from django.utils.html import escape
from django.views.decorators.http import require_GET

from . import dance, keys


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


async def oauth_callback(request: HttpRequest) -> HttpResponse:
    """Where the provider sends the browser back after approval."""
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET"})
    state = request.GET.get("state", "")
    outcome = await dance.complete_dance(
        state=state,
        oauth_token=request.GET.get("oauth_token", ""),
        verifier=request.GET.get("oauth_verifier", ""),
        binding=request.COOKIES.get(dance.binding_cookie_name(state), ""),
        host=request.get_host(),
    )
    response = HttpResponse(_page(outcome), status=outcome.status)
    response["Content-Type"] = "text/html; charset=utf-8"
    response["Cache-Control"] = "no-store"
    # The verifier is in this page's URL: keep it out of Referer headers.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Frame-Options"] = "DENY"
    if state:
        response.delete_cookie(
            dance.binding_cookie_name(state), path="/gadgets/oauthcallback"
        )
    return response


def _page(outcome: dance.CallbackOutcome) -> str:
    script = ""
    if outcome.gadget_origin and (outcome.completed or outcome.hand_back):
        script = _script(outcome)
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<title>Gadget access</title></head><body>"
        f"<p>{escape(outcome.message)}</p><p>You can close this window.</p>"
        f"{script}</body></html>"
    )


def _script(outcome: dance.CallbackOutcome) -> str:
    origin = json.dumps(outcome.gadget_origin)
    if outcome.completed:
        message = json.dumps({"type": "gadgets.oauth.approved"})
        legacy = ""
    else:
        message = '{"type": "gadgets.oauth.callback", "url": location.href}'
        # Old gadgets read the callback URL from their frame (same origin).
        legacy = "o.gadgets.io.oauthReceivedCallbackUrl_ = location.href;"
    return (
        "<script>(function () { var o = window.opener;"
        f" try {{ if (o) {{ o.postMessage({message}, {origin}); }} }} catch (e) {{}}"
        f" try {{ {legacy} }} catch (e) {{}}"
        " if (o) { window.close(); } })();</script>"
    )
