"""``POST /gadgets/metadata`` on the container's host.

The container page's JavaScript posts the JSON request described in
``gadgets.metadata`` and sends Django's CSRF token with it: the answer
carries security tokens minted for the logged-in person, so another site
must not be able to obtain them through that person's browser. Anonymous
visitors get tokens with an empty owner and viewer.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_POST

from .errors import GadgetError
from .metadata import GadgetRequest, MetadataContext, gadget_metadata

MAX_GADGETS = 100


@require_POST
async def metadata(request: HttpRequest) -> JsonResponse:
    try:
        context, gadgets = parse_request(request.body)
    except GadgetError as error:
        return _error(error)
    user = await request.auser()
    person = user.get_username() if user.is_authenticated else ""
    entries = await gadget_metadata(
        gadgets, owner=person, viewer=person, context=context
    )
    response = JsonResponse({"gadgets": entries})
    response["Cache-Control"] = "no-store"
    return response


def parse_request(body: bytes) -> tuple[MetadataContext, list[GadgetRequest]]:
    """Read the legacy request; anything malformed is a 400 naming it."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise GadgetError("The request body is not valid JSON.") from None
    if not isinstance(data, dict) or not isinstance(data.get("gadgets"), list):
        raise GadgetError('The request must be a JSON object with a "gadgets" list.')
    if len(data["gadgets"]) > MAX_GADGETS:
        raise GadgetError(f"At most {MAX_GADGETS} gadgets may be described at once.")
    context = data.get("context")
    context = {} if context is None else context
    if not isinstance(context, dict):
        raise GadgetError('"context" must be a JSON object.')
    return _context(context), [
        _gadget(entry, index) for index, entry in enumerate(data["gadgets"])
    ]


def _context(raw: dict[str, object]) -> MetadataContext:
    return MetadataContext(
        view=_text(raw, "view", "context") or "default",
        language=(_text(raw, "language", "context") or "all").lower(),
        country=(_text(raw, "country", "context") or "ALL").upper(),
        ignore_cache=bool(raw.get("ignoreCache")),
        container=_text(raw, "container", "context") or "default",
    )


def _gadget(raw: object, index: int) -> GadgetRequest:
    where = f"gadgets[{index}]"
    if not isinstance(raw, dict):
        raise GadgetError(f"{where} must be a JSON object.")
    url = _text(raw, "url", where)
    if not url:
        raise GadgetError(f'{where} needs a "url".')
    module_id = raw.get("moduleId", 0)
    if isinstance(module_id, str) and module_id.isdigit():
        module_id = int(module_id)
    if isinstance(module_id, bool) or not isinstance(module_id, int) or module_id < 0:
        raise GadgetError(f'{where} "moduleId" must be a whole number.')
    prefs = raw.get("prefs")
    prefs = {} if prefs is None else prefs
    if not isinstance(prefs, dict):
        raise GadgetError(f'{where} "prefs" must be a JSON object.')
    return GadgetRequest(url, module_id, {str(k): _pref(v) for k, v in prefs.items()})


def _text(raw: dict[str, object], key: str, where: str) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise GadgetError(f'{where} "{key}" must be a string.')
    return value.strip()


def _pref(value: object) -> str:
    # Containers send bools and numbers as JSON; prefs are strings.
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _error(error: GadgetError) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": error.code, "message": error.message}},
        status=error.status,
    )
