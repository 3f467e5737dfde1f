"""HTTP views of the OAuth proxy on the container host and gadget hosts.

The callback runs on the gadget's own host (``/gadgets/oauthcallback``):
the provider sends the person's browser there after approval. It completes
the dance for the browser holding the binding cookie that the viewer's own
makeRequest response set (see ``dance``). A browser without it (one that
keeps no cookies from cross-site frames, or someone else's) is sent on to
the same path on the container host, which completes only when the
browser's container session is the dance's viewer. Either way the answer
is a page that tells the gadget frame, by postMessage to the gadget's
exact origin, and closes itself.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
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
    """Where the provider sends the browser back after approval (gadget host).

    With the binding cookie of the viewer's own makeRequest, the dance
    completes here. Without it, the browser is sent on to the same path on
    the container host, whose session must be the dance's viewer.
    """
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
    if outcome.ask_session:
        query = request.META.get("QUERY_STRING", "")
        on_container = f"{settings.CONTAINER_ORIGIN}/gadgets/oauthcallback?{query}"
        response = _no_store(HttpResponseRedirect(on_container))
    else:
        response = _callback_page(outcome, legacy=True)
    if state:
        response.delete_cookie(
            dance.binding_cookie_name(state), path="/gadgets/oauthcallback"
        )
    return response


async def oauth_callback_on_container(request: HttpRequest) -> HttpResponse:
    """The callback's second chance, on the container host: the person's
    container session vouches for the browser."""
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET"})
    user = await request.auser()
    outcome = await dance.complete_dance_for_session(
        state=request.GET.get("state", ""),
        oauth_token=request.GET.get("oauth_token", ""),
        verifier=request.GET.get("oauth_verifier", ""),
        viewer=user.get_username() if user.is_authenticated else "",
    )
    sign_in_url = ""
    if outcome.status == 401:
        next_url = urlencode({"next": request.get_full_path()})
        sign_in_url = f"{settings.LOGIN_URL}?{next_url}"
    return _callback_page(outcome, legacy=False, sign_in_url=sign_in_url)


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    # These answers load in the gadget's approval popup, whose opener (the
    # gadget frame) must stay reachable to hear "approved" and see the
    # window close; a stricter opener policy, even on the redirect to the
    # container host, would sever the two.
    response["Cross-Origin-Opener-Policy"] = "unsafe-none"
    # The verifier is in this page's URL: keep it out of Referer headers.
    response["Referrer-Policy"] = "no-referrer"
    return response


def _callback_page(
    outcome: dance.CallbackOutcome, *, legacy: bool, sign_in_url: str = ""
) -> HttpResponse:
    response = HttpResponse(
        _page(outcome, legacy=legacy, sign_in_url=sign_in_url), status=outcome.status
    )
    response["Content-Type"] = "text/html; charset=utf-8"
    response["X-Frame-Options"] = "DENY"
    return _no_store(response)


def _page(outcome: dance.CallbackOutcome, *, legacy: bool, sign_in_url: str) -> str:
    script = ""
    if outcome.gadget_origin and outcome.completed:
        script = _script(outcome.gadget_origin, legacy=legacy)
    action = "You can close this window."
    if sign_in_url:
        action = f'<a href="{escape(sign_in_url)}">Sign in to finish</a>.'
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<title>Gadget access</title></head><body>"
        f"<p>{escape(outcome.message)}</p><p>{action}</p>"
        f"{script}</body></html>"
    )


def _script(gadget_origin: str, *, legacy: bool) -> str:
    """Tell the gadget frame (only at its exact origin), then close.

    On the gadget's own host the page may also leave the callback URL
    where pre-2009 gadgets look for it before sending
    OAUTH_RECEIVED_CALLBACK (the dance is already complete, so that
    request just finds the token).
    """
    origin = json.dumps(gadget_origin)
    message = json.dumps({"type": "gadgets.oauth.approved"})
    old = "o.gadgets.io.oauthReceivedCallbackUrl_ = location.href;" if legacy else ""
    return (
        "<script>(function () { var o = window.opener;"
        f" try {{ if (o) {{ o.postMessage({message}, {origin}); }} }} catch (e) {{}}"
        f" try {{ {old} }} catch (e) {{}}"
        " if (o) { window.close(); } })();</script>"
    )
