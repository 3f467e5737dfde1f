"""The sandbox provider's pages and APIs (served on ``SANDBOX_HOST`` only).

Machine endpoints (token steps, contacts, echo) are async views that obey
the consumer's fault switches before doing any work: a slow answer waits
on the event loop, not on the one thread Django gives synchronous code
under ASGI, so a slow sandbox never holds up the container beside it.
People's pages (sign-in, approval, tokens, faults) are ordinary views with
CSRF protection.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine
from functools import wraps
from typing import Any
from urllib.parse import quote, urlencode

from asgiref.sync import sync_to_async
from django.db.models import Count, Max
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods
from oauthlib.oauth1.rfc5849.errors import OAuth1Error

from . import accounts, faults, protocol
from .models import (
    MAX_DELAY_SECONDS,
    PROBLEM_IN_BODY,
    PROBLEM_IN_HEADER,
    PROBLEM_LOCATIONS,
    AccessToken,
    Consumer,
    ProviderUser,
    RequestToken,
)
from .protocol import Problem

logger = logging.getLogger(__name__)

SyncHandler = Callable[[HttpRequest], HttpResponse]
AsyncView = Callable[[HttpRequest], Coroutine[Any, Any, HttpResponse]]
# Pages here are a separate origin: no framing, no third-party anything.
POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def _with_policy(response: HttpResponseBase) -> HttpResponseBase:
    response["Content-Security-Policy"] = POLICY
    response["Cache-Control"] = "no-store"
    # Gadgets open the approval page in a popup and watch that window; a
    # same-origin opener policy would cut it loose the moment it loads, so
    # the gadget would think the person closed it (real providers of the
    # era sent no such header either).
    response["Cross-Origin-Opener-Policy"] = "unsafe-none"
    return response


# --- Machine endpoints ------------------------------------------------------


def provider_endpoint(handler: SyncHandler) -> AsyncView:
    """Run ``handler`` behind the claimed consumer's fault switches, and
    turn a ``Problem`` into an ``oauth_problem`` answer."""

    @csrf_exempt
    @wraps(handler)
    async def view(request: HttpRequest) -> HttpResponse:
        key = protocol.consumer_key_of(request)
        consumer = await Consumer.objects.filter(key=key).afirst() if key else None
        if consumer is not None and consumer.delay_seconds > 0:
            await asyncio.sleep(min(consumer.delay_seconds, MAX_DELAY_SECONDS))
        if consumer is not None and consumer.answers_503:
            return _unavailable()
        location = consumer.problem_location if consumer else PROBLEM_IN_HEADER
        return await sync_to_async(_answer)(handler, request, location)

    return view


def _answer(handler: SyncHandler, request: HttpRequest, location: str) -> HttpResponse:
    try:
        try:
            return handler(request)
        except (ValueError, OAuth1Error):
            # A request oauthlib cannot even parse (a broken Authorization
            # header, bad percent-encoding): say so rather than fail.
            raise Problem("parameter_rejected") from None
    except Problem as problem:
        logger.info(
            "sandbox refused consumer=%s problem=%s",
            problem.consumer_key[:60],
            problem.problem,
        )
        return problem_response(request, problem, location)


def _unavailable() -> HttpResponse:
    response = HttpResponse(
        "The sandbox is answering 503 for this consumer (fault switch).\n",
        status=503,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = "30"
    return response


def problem_response(
    request: HttpRequest, problem: Problem, location: str
) -> HttpResponse:
    """``oauth_problem`` in ``WWW-Authenticate`` (default) or in the body."""
    realm = f'OAuth realm="{request.get_host()}"'
    if location == PROBLEM_IN_BODY:
        body = {"oauth_problem": problem.problem}
        if problem.advice:
            body["oauth_problem_advice"] = problem.advice
        response = HttpResponse(
            urlencode(body), status=problem.status, content_type=protocol.FORM
        )
        response["WWW-Authenticate"] = realm
        return response
    response = HttpResponse(
        f"{problem.advice or problem.problem}\n",
        status=problem.status,
        content_type="text/plain; charset=utf-8",
    )
    advice = quote(problem.advice, safe="")
    response["WWW-Authenticate"] = (
        f'{realm}, oauth_problem="{problem.problem}", oauth_problem_advice="{advice}"'
    )
    return response


def _form_answer(body: str) -> HttpResponse:
    response = HttpResponse(body, content_type=protocol.FORM)
    response["Cache-Control"] = "no-store"
    return response


@provider_endpoint
def request_token(request: HttpRequest) -> HttpResponse:
    return _form_answer(protocol.issue_request_token(protocol.signed_request(request)))


@provider_endpoint
def access_token(request: HttpRequest) -> HttpResponse:
    return _form_answer(protocol.issue_access_token(protocol.signed_request(request)))


@provider_endpoint
def contacts_api(request: HttpRequest) -> HttpResponse:
    """The token's person's contacts: JSON, or Atom when asked for."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    signed = protocol.signed_request(request)
    verified = protocol.verify_resource(signed, token_required=True)
    assert verified.access_token is not None
    user = verified.access_token.user
    contacts = list(user.contacts.all())
    if _wants_atom(request):
        return _contacts_feed(request, user, contacts)
    return JsonResponse(
        {
            "user": user.username,
            "display_name": user.display_name or user.username,
            "contacts": [
                {"name": c.name, "email": c.email, "phone": c.phone} for c in contacts
            ],
        }
    )


def _wants_atom(request: HttpRequest) -> bool:
    if request.GET.get("format") == "atom":
        return True
    return "application/atom+xml" in request.headers.get("Accept", "")


def _contacts_feed(
    request: HttpRequest, user: ProviderUser, contacts: list[Any]
) -> HttpResponse:
    home = request.build_absolute_uri("/")
    feed = Atom1Feed(
        title=f"Contacts of {user.display_name or user.username}",
        link=home,
        description="Contacts at the sandbox provider",
        feed_guid=f"urn:sandbox:contacts:{user.username}",
    )
    for contact in contacts:
        feed.add_item(
            title=contact.name,
            link=f"{home}#contact-{contact.pk}",
            description=" · ".join(x for x in (contact.email, contact.phone) if x),
            unique_id=f"urn:sandbox:contact:{contact.pk}",
        )
    response = HttpResponse(content_type="application/atom+xml; charset=utf-8")
    feed.write(response, "utf-8")
    return response


@provider_endpoint
def echo_api(request: HttpRequest) -> HttpResponse:
    """What was signed and by whom, once the signature checks out."""
    signed = protocol.signed_request(request)
    verified = protocol.verify_resource(signed, token_required=False)
    token = verified.access_token
    params = verified.params
    return JsonResponse(
        {
            "verified": True,
            "consumer_key": verified.consumer.key,
            "consumer_name": verified.consumer.display_name,
            "signature_method": verified.signature_method,
            "three_legged": token is not None,
            "user": token.user.username if token else None,
            "opensocial_owner_id": params.get("opensocial_owner_id"),
            "opensocial_viewer_id": params.get("opensocial_viewer_id"),
            "opensocial_app_url": params.get("opensocial_app_url"),
            "opensocial_app_id": params.get("opensocial_app_id"),
            "method": request.method,
            "params": protocol.echoed_params(params),
        }
    )


@csrf_exempt
@require_http_methods(["GET", "POST"])
def faults_api(request: HttpRequest) -> HttpResponse:
    """Read (GET) or change (POST) the signing consumer's switches.

    Signed two-legged by the consumer itself, whatever its switches say, so
    a developer can always switch them back. A POST body is form-encoded
    (inside the signature) or a JSON object (with ``oauth_body_hash``).
    """
    try:
        consumer = protocol.verify_switch_request(protocol.signed_request(request))
    except (ValueError, OAuth1Error):
        return problem_response(
            request, Problem("parameter_rejected"), PROBLEM_IN_HEADER
        )
    except Problem as problem:
        return problem_response(request, problem, PROBLEM_IN_HEADER)
    if request.method == "GET":
        return JsonResponse(faults.state(consumer))
    try:
        outcome = faults.apply(consumer, _switches(request))
    except faults.FaultError as error:
        return JsonResponse(
            {"error": "invalid_switch", "detail": str(error)}, status=400
        )
    logger.info("sandbox faults switched consumer_id=%s by API", consumer.pk)
    return JsonResponse(outcome.as_json())


def _switches(request: HttpRequest) -> dict[str, Any]:
    if request.content_type != "application/json":
        return request.POST.dict()
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise faults.FaultError("The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise faults.FaultError("The JSON body must be an object of switches.")
    return data


@require_GET
def news_feed(request: HttpRequest) -> HttpResponse:
    """A public Atom feed (no OAuth) for the feed-reader sample gadget."""
    home = request.build_absolute_uri("/")
    feed = Atom1Feed(
        title="Sandbox provider news",
        link=home,
        description="What changed at the sandbox provider",
        feed_guid="urn:sandbox:news",
    )
    consumers = Consumer.objects.order_by("-created_at")[:10]
    for consumer in consumers:
        feed.add_item(
            title=f"New consumer: {consumer.display_name}",
            link=f"{home}#consumer-{consumer.pk}",
            description=f"{consumer.display_name} signs with "
            f"{consumer.signature_method}.",
            unique_id=f"urn:sandbox:consumer:{consumer.pk}",
            pubdate=consumer.created_at,
        )
    response = HttpResponse(content_type="application/atom+xml; charset=utf-8")
    feed.write(response, "utf-8")
    return response


# --- People's pages ---------------------------------------------------------


def _page(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponseBase:
    context = {"provider_user": accounts.current_user(request), **context}
    return _with_policy(render(request, template, context, status=status))


def _sign_in_first(request: HttpRequest) -> HttpResponseBase:
    query = urlencode({"next": request.get_full_path()})
    return _with_policy(HttpResponseRedirect(f"{reverse('sandbox:login')}?{query}"))


@require_GET
def index(request: HttpRequest) -> HttpResponseBase:
    return _page(request, "sandbox/index.html", {})


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponseBase:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts=None):
        next_url = reverse("sandbox:tokens")
    error = ""
    if request.method == "POST":
        user = accounts.authenticate(
            request.POST.get("username", "")[:150], request.POST.get("password", "")
        )
        if user is not None:
            accounts.log_in(request, user)
            return _with_policy(HttpResponseRedirect(next_url))
        error = "That username and password do not match an account here."
    return _page(
        request,
        "sandbox/login.html",
        {"next": next_url, "error": error},
        status=401 if error else 200,
    )


@require_http_methods(["POST"])
def logout_view(request: HttpRequest) -> HttpResponseBase:
    accounts.log_out(request)
    return _with_policy(HttpResponseRedirect(reverse("sandbox:index")))


@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest) -> HttpResponseBase:
    """Ask the signed-in person; Allow sends a verifier back, Deny a refusal."""
    token = (request.POST if request.method == "POST" else request.GET).get(
        "oauth_token", ""
    )
    pending = protocol.pending_token(token) if token else None
    if pending is None:
        message = (
            "This approval link is not valid any more: it was already "
            "answered, it expired, or it never existed. Go back to the gadget "
            "and start again."
        )
        return _page(request, "sandbox/message.html", {"message": message}, 400)
    user = accounts.current_user(request)
    if user is None:
        return _sign_in_first(request)
    if request.method == "GET":
        return _page(request, "sandbox/authorize.html", {"pending": pending})
    return _record_answer(request, pending, user)


def _record_answer(
    request: HttpRequest, pending: RequestToken, user: ProviderUser
) -> HttpResponseBase:
    answer = request.POST.get("decision", "")
    if answer not in ("allow", "deny"):
        message = "Choose Allow or Deny."
        return _page(request, "sandbox/message.html", {"message": message}, 400)

    if answer == "allow":
        query = urlencode({"oauth_token": pending.token})
        uri = request.build_absolute_uri(f"{reverse('sandbox:authorize')}?{query}")
        decision = protocol.approve(user, uri)
    else:
        decision = protocol.deny(pending, user)
    logger.info(
        "sandbox request token answered consumer_id=%s user_id=%s answer=%s",
        pending.consumer_id,
        user.pk,
        answer,
    )
    if decision.redirect_url:
        return _with_policy(HttpResponseRedirect(decision.redirect_url))
    return _page(
        request,
        "sandbox/verifier.html",
        {"verifier": decision.verifier, "pending": pending},
    )


@require_http_methods(["GET", "POST"])
def tokens_page(request: HttpRequest) -> HttpResponseBase:
    """Which consumers hold the person's tokens; revoke them here."""
    user = accounts.current_user(request)
    if user is None:
        return _sign_in_first(request)
    notice = ""
    if request.method == "POST":
        consumer = get_object_or_404(Consumer, pk=_int(request.POST.get("consumer")))
        count = faults.revoke_tokens(consumer, user)
        plural = "" if count == 1 else "s"
        notice = f"Revoked {count} token{plural} of {consumer.display_name}."
    holders = (
        AccessToken.objects.live()
        .filter(user=user)
        .values("consumer__pk", "consumer__display_name", "consumer__container_name")
        .annotate(tokens=Count("pk"), last_used=Max("last_used_at"))
        .order_by("consumer__display_name")
    )
    return _page(
        request, "sandbox/tokens.html", {"holders": list(holders), "notice": notice}
    )


@require_http_methods(["GET", "POST"])
def faults_page(request: HttpRequest) -> HttpResponseBase:
    """Every consumer's fault switches, for any signed-in provider user."""
    user = accounts.current_user(request)
    if user is None:
        return _sign_in_first(request)
    notice, error = "", ""
    if request.method == "POST":
        consumer = get_object_or_404(Consumer, pk=_int(request.POST.get("consumer")))
        data = {**request.POST.dict()}
        for flag in ("answers_503", "rejects_key"):
            data.setdefault(flag, "false")
        try:
            outcome = faults.apply(consumer, data)
        except faults.FaultError as problem:
            error = str(problem)
        else:
            notice = (
                f"Saved the switches of {consumer.display_name}"
                f" ({outcome.expired} expired, {outcome.revoked} revoked)."
            )
    return _page(
        request,
        "sandbox/faults.html",
        {
            "consumers": Consumer.objects.all(),
            "locations": PROBLEM_LOCATIONS,
            "max_delay": MAX_DELAY_SECONDS,
            "notice": notice,
            "error": error,
        },
        status=400 if error else 200,
    )


def _int(value: str | None) -> int:
    try:
        return int(value or "")
    except ValueError:
        return 0
