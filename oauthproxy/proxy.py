"""makeRequest's ``authz=signed`` and ``authz=oauth``: the gadget app's hook.

The gadget app owns the endpoint, its parameters and its envelope
(``gadgets.makerequest``); it never imports this app. At start-up
``OauthproxyConfig.ready`` registers ``handle`` for both kinds, so a call
such as::

    POST /gadgets/makeRequest  url=https://sp.example/api/contacts
        &authz=oauth&OAUTH_SERVICE_NAME=contacts&contentType=JSON&st=...

reaches ``handle``, which turns the parsed ``ProxyRequest`` into a
``dance.OAuthFetch``, runs the dance or the signed fetch, and hands back the
same result dict an unsigned request gets (``rc``, ``body``, ``headers``,
with JSON and FEED bodies converted the same way) plus ``oauthApprovalUrl``,
``oauthState``, ``oauthError`` and ``oauthErrorText`` where they apply.

When a dance starts, the result also carries the browser binding under
``makerequest.COOKIES_KEY``; the gadget app sets it on its response (on the
gadget's own host, scoped to the callback path) and never serializes it.
"""

from __future__ import annotations

from gadgets.makerequest import (
    COOKIES_KEY,
    ProxyRequest,
    Result,
    ResultCookie,
    build_result,
)
from gadgets.outbound import OutboundResponse
from gadgets.security_token import SecurityToken

from . import dance

_CALLBACK_PATH = "/gadgets/oauthcallback"


async def handle(req: ProxyRequest, token: SecurityToken) -> Result:
    """Serve one signed or OAuth makeRequest as an envelope result."""
    outcome = await dance.fetch(oauth_fetch(req, token))
    return await result_of(req, outcome)


def oauth_fetch(req: ProxyRequest, token: SecurityToken) -> dance.OAuthFetch:
    """The dance's view of a parsed makeRequest."""
    params = req.oauth_params
    return dance.OAuthFetch(
        token=token,
        url=req.fetch_url,
        method=req.http_method,
        headers=dict(req.headers),
        body=req.post_data or None,
        authz=req.authz,
        use_token=dance.parse_use_token(params.get("OAUTH_USE_TOKEN"), req.authz),
        service_name=params.get("OAUTH_SERVICE_NAME", ""),
        token_name=params.get("OAUTH_TOKEN_NAME", ""),
        sign_owner=req.sign_owner,
        sign_viewer=req.sign_viewer,
        request_token=params.get("OAUTH_REQUEST_TOKEN", ""),
        request_token_secret=params.get("OAUTH_REQUEST_TOKEN_SECRET", ""),
        received_callback=params.get("OAUTH_RECEIVED_CALLBACK", ""),
        oauth_state=params.get("oauthState", ""),
        bypass_spec_cache=req.bypass_spec_cache,
    )


async def result_of(req: ProxyRequest, outcome: dance.OAuthResult) -> Result:
    """The envelope entry: the provider's answer plus the OAuth fields."""
    if outcome.is_oauth_answer:
        # Approval and errors are synthesized: an empty body, never parsed
        # as JSON or a feed.
        result: Result = {"rc": outcome.status, "body": "", "headers": {}}
    else:
        upstream = OutboundResponse(
            status=outcome.status,
            headers=outcome.headers,
            body=outcome.body,
            url=req.fetch_url,
        )
        result = await build_result(req, upstream)
    fields = {
        "oauthApprovalUrl": outcome.approval_url,
        "oauthState": outcome.oauth_state,
        "oauthError": outcome.oauth_error,
        "oauthErrorText": outcome.oauth_error_text,
    }
    result.update({name: value for name, value in fields.items() if value})
    if outcome.binding_cookie is not None:
        cookie = outcome.binding_cookie
        result[COOKIES_KEY] = [
            ResultCookie(
                cookie.name, cookie.value, cookie.max_age_seconds, _CALLBACK_PATH
            )
        ]
    return result
