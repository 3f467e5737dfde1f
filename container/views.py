"""Views of the container host.

Views stay thin: they check input and ownership, call one function from
``container.home`` and answer. A gadget that is not the requester's is a
404, never a 403, so nobody learns which ids exist.
"""

from __future__ import annotations

import json
import logging
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
)
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from kombu import Connection

from gadgets.errors import GadgetError, InvalidParameter
from gadgets.iframe_url import Locale

from . import csp, home
from .forms import AddGadgetForm, SignupForm, UserPrefsForm
from .models import GalleryEntry, InstalledGadget

logger = logging.getLogger(__name__)

MAX_VIEW_PARAMS_CHARS = 2000
MAX_JSON_BODY_BYTES = 64 * 1024


def healthz(request: HttpRequest) -> HttpResponse:
    """The process is up."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> HttpResponse:
    """The database, the cache and, where tasks go to one, the broker answer."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception:
        logger.exception("readiness: database unreachable")
        checks["database"] = "unreachable"
    try:
        cache.set("readyz", "1", 5)
        checks["cache"] = "ok" if cache.get("readyz") == "1" else "unreachable"
    except Exception:
        logger.exception("readiness: cache unreachable")
        checks["cache"] = "unreachable"
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        checks["broker"] = _broker_status(settings.CELERY_BROKER_URL)
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )


def _broker_status(url: str) -> str:
    """Connect to the Celery broker once, within about a second."""
    try:
        with Connection(url, connect_timeout=1) as broker:
            broker.ensure_connection(max_retries=0, timeout=2)
    except Exception:
        logger.warning("readiness: broker unreachable")
        return "unreachable"
    return "ok"


# --------------------------------------------------------------------------
# Helpers


def _me(request: HttpRequest) -> User:
    """The logged-in person (every caller is behind ``login_required``)."""
    return cast(User, request.user)


def _own_gadget(request: HttpRequest, gadget_id: int) -> InstalledGadget:
    """The requester's gadget, or 404 (someone else's looks like no gadget)."""
    return get_object_or_404(
        InstalledGadget.objects.select_related("owner"),
        pk=gadget_id,
        owner_id=request.user.pk,
    )


def _error_page(request: HttpRequest, error: GadgetError) -> HttpResponse:
    return render(
        request, "container/error.html", {"error": error}, status=error.status
    )


def _locale(request: HttpRequest) -> Locale:
    return home.locale_from_header(request.headers.get("Accept-Language", ""))


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _home_url(gadget: InstalledGadget | None = None) -> str:
    url = reverse("home")
    return f"{url}#gadget-{gadget.pk}" if gadget else url


def _page_data(request: HttpRequest, page: home.Page) -> dict[str, Any]:
    """What home.js needs: each gadget's rpc set-up and endpoints."""
    return {
        "csrfToken": get_token(request),
        "homeUrl": reverse("home"),
        "gadgets": [
            {
                "gadgetId": tile.gadget.pk,
                "iframeId": tile.iframe_id,
                "origin": tile.origin,
                "rpcToken": tile.rpctoken,
                "view": tile.view,
                "prefsUrl": reverse("gadget_prefs", args=[tile.gadget.pk]),
                "moveUrl": reverse("move_gadget", args=[tile.gadget.pk]),
                "canvasUrl": reverse("gadget_canvas", args=[tile.gadget.pk]),
            }
            for tile in page.tiles
            if tile.iframe_src
        ],
    }


def parse_view_params(raw: str) -> dict[str, Any] | None:
    """The JSON object a gadget passed to ``requestNavigateTo``, if any."""
    if not raw:
        return None
    if len(raw) > MAX_VIEW_PARAMS_CHARS:
        raise InvalidParameter(
            f"view-params may be at most {MAX_VIEW_PARAMS_CHARS} characters long."
        )
    try:
        params = json.loads(raw)
    except ValueError:
        params = None
    if not isinstance(params, dict):
        raise InvalidParameter("view-params must be a JSON object.")
    return params


# --------------------------------------------------------------------------
# Accounts


@csp.with_csp
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome! Add your first gadget below.")
        return redirect("add_gadget")
    return render(request, "registration/signup.html", {"form": form})


# --------------------------------------------------------------------------
# The home page


@csp.with_csp
@require_GET
def home_view(request: HttpRequest) -> HttpResponseBase:
    if not request.user.is_authenticated:
        return render(request, "container/welcome.html")
    try:
        view_params = _returning_view_params(request)
    except GadgetError as error:
        return _error_page(request, error)
    # Your own page: you are its owner and its viewer.
    owner = viewer = _me(request)
    page = home.home_page(
        owner, viewer, view_params=view_params, locale=_locale(request)
    )
    context = {
        "page": page,
        "add_form": AddGadgetForm(),
        "page_data": _page_data(request, page),
    }
    response = render(request, "container/home.html", context)
    return csp.set_policy(response, frame_origins=page.frame_origins())


def _returning_view_params(request: HttpRequest) -> dict[int, dict[str, Any]]:
    """View params for the gadget coming back from its canvas view."""
    params = parse_view_params(request.GET.get("view-params", ""))
    gadget_id = request.GET.get("gadget", "")
    if params is None or not gadget_id.isdigit():
        return {}
    return {int(gadget_id): params}


@csp.with_csp
@login_required
def add_gadget(request: HttpRequest) -> HttpResponse:
    """Add by URL (POST), or show the form and the gallery (GET)."""
    form = AddGadgetForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            gadget = home.add_gadget(_me(request), form.cleaned_data["url"])
        except GadgetError as refused:
            error = refused.message
        else:
            return _added(request, gadget)
    status = 400 if request.method == "POST" else 200
    return _add_page(request, form, error, status)


def _add_page(
    request: HttpRequest, form: AddGadgetForm, error: str, status: int
) -> HttpResponse:
    entries = home.gallery_entries()
    response = render(
        request,
        "container/add.html",
        {"form": form, "error": error, "entries": entries},
        status=status,
    )
    csp.set_policy(response, image_sources=home.screenshot_origins(entries))
    return response


def _added(request: HttpRequest, gadget: InstalledGadget) -> HttpResponse:
    messages.success(request, f"Added {gadget.title or 'the gadget'}.")
    if home.needs_settings_first(gadget):
        return redirect("gadget_settings", gadget_id=gadget.pk)
    return redirect(_home_url(gadget))


@csp.with_csp
@login_required
@require_POST
def add_from_gallery(request: HttpRequest, entry_id: int) -> HttpResponse:
    entry = get_object_or_404(GalleryEntry, pk=entry_id, is_listed=True)
    try:
        gadget = home.add_from_gallery(_me(request), entry)
    except GadgetError as refused:
        return _add_page(request, AddGadgetForm(), refused.message, 400)
    return _added(request, gadget)


# --------------------------------------------------------------------------
# One gadget


@csp.with_csp
@login_required
@require_POST
def move_gadget(request: HttpRequest, gadget_id: int) -> HttpResponse:
    """One step (``direction``) or a drop (``column`` and ``position``)."""
    gadget = _own_gadget(request, gadget_id)
    try:
        _move(request, gadget)
    except GadgetError as error:
        if _wants_json(request):
            return _json_error(error)
        return _error_page(request, error)
    if _wants_json(request):
        return JsonResponse({"layout": home.layout(_me(request))})
    return redirect(_home_url(gadget))


def _move(request: HttpRequest, gadget: InstalledGadget) -> None:
    direction = request.POST.get("direction", "")
    if direction:
        home.step_gadget(gadget, direction)
        return
    column, position = request.POST.get("column", ""), request.POST.get("position", "")
    if not (column.isdigit() and position.isdigit()):
        raise InvalidParameter(
            "Say where to move the gadget: a direction, or a column and a position."
        )
    home.move_gadget(gadget, int(column), int(position))


@csp.with_csp
@login_required
@require_POST
def remove_gadget(request: HttpRequest, gadget_id: int) -> HttpResponse:
    gadget = _own_gadget(request, gadget_id)
    home.remove_gadget(gadget)
    messages.success(request, f"Removed {gadget.title or 'the gadget'}.")
    return redirect("home")


@csp.with_csp
@login_required
@require_POST
def minimise_gadget(request: HttpRequest, gadget_id: int) -> HttpResponse:
    gadget = _own_gadget(request, gadget_id)
    home.set_minimised(gadget, request.POST.get("minimised") == "1")
    if _wants_json(request):
        return JsonResponse({"minimised": gadget.is_minimised})
    return redirect(_home_url(gadget))


@csp.with_csp
@login_required
def gadget_settings(request: HttpRequest, gadget_id: int) -> HttpResponse:
    """The form generated from the spec's user prefs; saving re-renders."""
    gadget = _own_gadget(request, gadget_id)
    try:
        spec = home.localised_spec(gadget, _locale(request))
    except GadgetError as error:
        return _error_page(request, error)
    form = UserPrefsForm(
        request.POST or None,
        user_prefs=spec.user_prefs,
        values=home.pref_values(gadget, spec),
    )
    if request.method == "POST" and form.is_valid():
        home.save_prefs(gadget, spec, form.pref_values())
        messages.success(request, f"Saved the settings of {gadget.title}.")
        return redirect(_home_url(gadget))
    status = 400 if request.method == "POST" else 200
    context = {"gadget": gadget, "form": form, "title": spec.title or gadget.title}
    return render(request, "container/settings.html", context, status=status)


@login_required
@require_POST
def gadget_prefs(request: HttpRequest, gadget_id: int) -> HttpResponse:
    """JSON endpoint for ``set_pref``: ``{"prefs": {"name": "value"}}``."""
    gadget = _own_gadget(request, gadget_id)
    try:
        values = _json_prefs(request)
        spec = home.load_spec(gadget)
        saved = home.set_prefs_from_gadget(gadget, spec, values)
    except GadgetError as error:
        return _json_error(error)
    return JsonResponse({"prefs": saved})


def _json_prefs(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > MAX_JSON_BODY_BYTES:
        raise InvalidParameter("The request body is too large for a pref update.")
    try:
        body = json.loads(request.body)
    except ValueError:
        body = None
    prefs = body.get("prefs") if isinstance(body, dict) else None
    if not isinstance(prefs, dict):
        raise InvalidParameter(
            'Send a JSON object such as {"prefs": {"name": "value"}}.'
        )
    return prefs


def _json_error(error: GadgetError) -> JsonResponse:
    return JsonResponse(
        {"error": error.code, "message": error.message}, status=error.status
    )


@csp.with_csp
@login_required
@require_GET
def gadget_canvas(request: HttpRequest, gadget_id: int) -> HttpResponseBase:
    """The gadget's canvas view, full width, with a way back."""
    gadget = _own_gadget(request, gadget_id)
    try:
        params = parse_view_params(request.GET.get("view-params", ""))
    except GadgetError as error:
        return _error_page(request, error)
    tile = home.canvas_tile(
        gadget, _me(request), view_params=params, locale=_locale(request)
    )
    page = home.Page([[tile]])
    context = {"tile": tile, "page_data": _page_data(request, page)}
    response = render(request, "container/canvas.html", context)
    return csp.set_policy(response, frame_origins=page.frame_origins())


# --------------------------------------------------------------------------
# Connected services


@csp.with_csp
@login_required
@require_GET
def connected_services(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    context = {
        "services": home.connected_services(me),
        "ended": home.ended_services(me),
    }
    return render(request, "container/connected_services.html", context)


@csp.with_csp
@login_required
@require_POST
def disconnect_service(request: HttpRequest, token_id: int) -> HttpResponse:
    if not home.disconnect_service(_me(request), token_id):
        raise Http404("No such connected service.")
    messages.success(request, "Disconnected. The gadget must ask again to reconnect.")
    return redirect("connected_services")
