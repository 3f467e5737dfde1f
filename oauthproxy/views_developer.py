"""The developer dashboard on the container host (``/developer/``).

Views are thin: check the form, find the object through
``developer.own_*`` (someone else's claim or registration is a 404), call
one function of ``oauthproxy.developer`` and answer. Pages take secrets
but never show them; the views that take one are marked with
``sensitive_post_parameters`` so an error report cannot carry it either.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from gadgets.errors import GadgetError

from . import developer, usage
from .forms import (
    ApiTokenForm,
    ClaimForm,
    EditRegistrationForm,
    RegistrationForm,
    SecretForm,
)
from .models import ConsumerRegistration, GadgetClaim

VIA = "dashboard"
AUDIT_ROWS = 50

# The dashboard runs no script and frames nothing: the strictest policy.
POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

View = Callable[..., HttpResponseBase]


def developer_view(view: View) -> View:
    """Signed in, a developer, a strict CSP; NotFound becomes a 404."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not developer.is_developer(request.user):
            response: HttpResponseBase = render(
                request,
                "developer/not_developer.html",
                {"error": developer.NotDeveloper()},
                status=403,
            )
        else:
            try:
                response = view(request, *args, **kwargs)
            except developer.NotFound as exc:
                raise Http404(exc.message) from None
        response["Content-Security-Policy"] = POLICY
        response["Cache-Control"] = "no-store"
        return response

    return login_required(wrapped)


def _claim_url(claim: GadgetClaim) -> str:
    return reverse("developer-claim", args=[claim.pk])


def _registration_url(registration: ConsumerRegistration) -> str:
    return reverse("developer-registration", args=[registration.pk])


# --- Overview and claims ---------------------------------------------------


@developer_view
def overview(request: HttpRequest) -> HttpResponse:
    form = ClaimForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            claim = developer.claim_gadget(
                request.user, form.cleaned_data["gadget_url"], via=VIA
            )
        except GadgetError as exc:
            form.add_error("gadget_url", exc.message)
        else:
            messages.success(request, "Claimed. Now prove it with your spec.")
            return redirect(_claim_url(claim))
    return _overview_page(request, form, status=400 if form.errors else 200)


def _overview_page(
    request: HttpRequest,
    form: ClaimForm,
    *,
    status: int = 200,
    new_token: str = "",
) -> HttpResponse:
    context = {
        "claims": developer.claims_of(request.user),
        "registrations": developer.registrations_of(request.user),
        "form": form,
        "token_form": ApiTokenForm(),
        "api_tokens": request.user.api_tokens.order_by("-created_at"),  # type: ignore[union-attr]
        "new_token": new_token,
        "events": developer.audit_log(request.user)[:AUDIT_ROWS],
    }
    return render(request, "developer/overview.html", context, status=status)


@developer_view
def claim_detail(request: HttpRequest, claim_id: int) -> HttpResponse:
    claim = developer.own_claim(request.user, claim_id)
    return _claim_page(request, claim)


def _claim_page(
    request: HttpRequest,
    claim: GadgetClaim,
    form: RegistrationForm | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    services: list[str] = []
    spec_error = ""
    if claim.is_verified:
        try:
            services = developer.spec_services(claim.gadget_url)
        except GadgetError as exc:
            spec_error = exc.message
    if form is None and services:
        form = RegistrationForm(services=services)
    # Usage shows only once the claim is verified (developer/claim.html).
    result = usage.usage(claim.gadget_url) if claim.is_verified else None
    context = {
        "claim": claim,
        "rel": developer.VERIFICATION_REL,
        "registrations": developer.registrations_of(request.user).filter(
            gadget_url=claim.gadget_url
        ),
        "form": form,
        "spec_error": spec_error,
        "usage": result,
        "chart": usage.bar_chart(result) if result is not None else None,
        "events": developer.audit_log(request.user, claim.gadget_url)[:AUDIT_ROWS],
    }
    return render(request, "developer/claim.html", context, status=status)


@developer_view
@require_POST
def verify(request: HttpRequest, claim_id: int) -> HttpResponse:
    claim = developer.own_claim(request.user, claim_id)
    try:
        developer.verify_claim(request.user, claim, via=VIA)
    except developer.NotFound:
        raise  # a GadgetError too, but a 404, not a message
    except GadgetError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Verified: you can now register its services.")
    return redirect(_claim_url(claim))


@developer_view
@require_POST
def delete_claim(request: HttpRequest, claim_id: int) -> HttpResponse:
    claim = developer.own_claim(request.user, claim_id)
    try:
        developer.delete_claim(request.user, claim, via=VIA)
    except developer.ClaimInUse as exc:
        messages.error(request, exc.message)
        return redirect(_claim_url(claim))
    messages.success(request, "Claim deleted.")
    return redirect("developer")


# --- Registrations ---------------------------------------------------------


@sensitive_post_parameters("secret")
@developer_view
@require_POST
def register(request: HttpRequest, claim_id: int) -> HttpResponse:
    claim = developer.own_claim(request.user, claim_id)
    try:
        services = developer.spec_services(claim.gadget_url)
    except GadgetError as exc:
        messages.error(request, exc.message)
        return redirect(_claim_url(claim))
    form = RegistrationForm(request.POST, services=services)
    if not form.is_valid():
        return _claim_page(request, claim, form, status=400)
    data = form.cleaned_data
    try:
        registration = developer.register_service(
            request.user,
            claim.gadget_url,
            service_name=data["service_name"],
            consumer_key=data["consumer_key"],
            callback_url=data["callback_url"],
            secret=form.secret_input(),
            via=VIA,
        )
    except GadgetError as exc:
        form.add_error(_field_of(exc), exc.message)
        return _claim_page(request, claim, form, status=exc.status)
    messages.success(request, f"Registered service {registration.service_name!r}.")
    return redirect(_registration_url(registration))


def _field_of(exc: GadgetError) -> str | None:
    if isinstance(exc, developer.InvalidSecret | developer.InvalidPrivateKey):
        return "secret"
    if isinstance(exc, developer.UnknownService):
        return "service_name"
    return None


@developer_view
@require_GET
def registration_detail(request: HttpRequest, registration_id: int) -> HttpResponse:
    registration = developer.own_registration(request.user, registration_id)
    return _registration_page(request, registration)


def _registration_page(
    request: HttpRequest,
    registration: ConsumerRegistration,
    *,
    edit_form: EditRegistrationForm | None = None,
    secret_form: SecretForm | None = None,
    status: int = 200,
) -> HttpResponse:
    result = usage.usage(registration.gadget_url, registration.service_name)
    context = {
        "registration": registration,
        "secret_summary": developer.secret_summary(registration),
        "edit_form": edit_form
        or EditRegistrationForm(
            initial={
                "consumer_key": registration.consumer_key,
                "callback_url": registration.callback_url,
            }
        ),
        "secret_form": secret_form
        or SecretForm(initial={"key_type": registration.key_type}),
        "usage": result,
        "chart": usage.bar_chart(result) if result is not None else None,
        "events": developer.audit_log(request.user, registration.gadget_url).filter(
            service_name=registration.service_name
        )[:AUDIT_ROWS],
    }
    return render(request, "developer/registration.html", context, status=status)


@developer_view
@require_POST
def edit_registration(request: HttpRequest, registration_id: int) -> HttpResponse:
    registration = developer.own_registration(request.user, registration_id)
    form = EditRegistrationForm(request.POST)
    if form.is_valid():
        try:
            developer.update_registration(
                request.user, registration, form.cleaned_data, via=VIA
            )
        except GadgetError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Saved. The stored secret is unchanged.")
            return redirect(_registration_url(registration))
    return _registration_page(request, registration, edit_form=form, status=400)


@sensitive_post_parameters("secret")
@developer_view
@require_POST
def replace_secret(request: HttpRequest, registration_id: int) -> HttpResponse:
    registration = developer.own_registration(request.user, registration_id)
    form = SecretForm(request.POST)
    if form.is_valid():
        try:
            developer.replace_secret(
                request.user, registration, form.secret_input(), via=VIA
            )
        except GadgetError as exc:
            form.add_error(_field_of(exc), exc.message)
        else:
            messages.success(request, "Replaced. The old secret is gone.")
            return redirect(_registration_url(registration))
    registration.refresh_from_db()
    return _registration_page(request, registration, secret_form=form, status=400)


@developer_view
@require_POST
def set_enabled(request: HttpRequest, registration_id: int) -> HttpResponse:
    registration = developer.own_registration(request.user, registration_id)
    enabled = request.POST.get("enabled") == "1"
    developer.set_enabled(request.user, registration, enabled, via=VIA)
    state = "enabled" if enabled else "disabled: makeRequest refuses it from now on"
    messages.success(request, f"Registration {state}.")
    return redirect(_registration_url(registration))


@developer_view
@require_POST
def delete_registration(request: HttpRequest, registration_id: int) -> HttpResponse:
    registration = developer.own_registration(request.user, registration_id)
    claim = developer.verified_claim(request.user, registration.gadget_url)
    developer.delete_registration(request.user, registration, via=VIA)
    messages.success(request, "Registration deleted.")
    return redirect(_claim_url(claim))


@developer_view
@require_GET
def download_certificate(request: HttpRequest, registration_id: int) -> HttpResponse:
    registration = developer.own_registration(request.user, registration_id)
    try:
        pem = developer.certificate(request.user, registration)
    except developer.NoCertificate as exc:
        raise Http404(exc.message) from None
    response = HttpResponse(pem, content_type="application/x-pem-file")
    filename = f"consumer-{registration.pk}.crt"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- API tokens ------------------------------------------------------------


@developer_view
@require_POST
def create_api_token(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST)
    name = form.cleaned_data["name"] if form.is_valid() else ""
    _token, raw = developer.create_api_token(request.user, name)
    # The one and only time the token is shown; the page is not cached.
    return _overview_page(request, ClaimForm(), new_token=raw)


@developer_view
@require_POST
def revoke_api_token(request: HttpRequest, token_id: int) -> HttpResponse:
    developer.revoke_api_token(request.user, token_id)
    messages.success(request, "API token revoked.")
    return redirect("developer")
