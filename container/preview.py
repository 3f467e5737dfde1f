"""The gadget preview page: one gadget, its prefs and views, for developers.

Shindig shipped a "sample container" where a gadget developer pasted a spec
URL and watched the gadget run; this is ours. A developer opens::

    /preview?url=https://example.com/hello.xml&view=canvas&nocache=1&up_name=Ada

and gets the gadget in an iframe on its own locked host, under a title bar
that ``gadgets.window.setTitle`` updates, sized by ``adjustHeight``, with a
switcher for the spec's views and a form for its user prefs.

Every change of state (the prefs form, the view switcher, a gadget's
``requestNavigateTo``) is a GET of this page with new parameters, as
Shindig's legacy container navigated the page for ``requestNavigateTo``.
So each state is a URL a developer can bookmark or share, the page works
without its script, and the iframe URL is always built by
``gadgets.iframe_url`` with a fresh security token. The script
(``static/container/preview.js``) only answers the gadget's rpc calls.

The owner and viewer are the signed-in user, or nobody (empty) for an
anonymous visitor. Anything wrong with the request or the spec is a
sentence on the page, never a traceback.
"""

from __future__ import annotations

import html
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_GET

from gadgets import features, messages, specfetch, substitution
from gadgets import iframe_url as iframe_urls
from gadgets.errors import GadgetError
from gadgets.spec_model import Spec, UserPref

logger = logging.getLogger(__name__)

# Shindig's sample container previewed its one gadget as module 0.
DEFAULT_MODULE_ID = 0
# Used when neither the view nor the spec asks for a height.
DEFAULT_HEIGHT_PIXELS = 200
MAX_MODULE_ID = 2**31 - 1


class BadPreviewRequest(GadgetError):
    code = "bad_preview_request"


@dataclass(frozen=True)
class PreviewRequest:
    """What the query string asks for, checked."""

    spec_url: str
    view: str = "default"
    nocache: bool = False
    lang: str = "all"
    country: str = "ALL"
    module_id: int = DEFAULT_MODULE_ID
    prefs: dict[str, str] = field(default_factory=dict)
    view_params: dict[str, object] | None = None


@dataclass(frozen=True)
class PrefField:
    """One user pref as a form field."""

    name: str
    label: str
    kind: str  # text, checkbox, select or hidden
    value: str
    options: tuple[tuple[str, str], ...] = ()

    @property
    def field_name(self) -> str:
        return f"up_{self.name}"


def parse_request(query: QueryDict) -> PreviewRequest:
    """Read and check the query string; raises ``BadPreviewRequest``."""
    prefs = {
        key[3:]: query.get(key, "")
        for key in query
        if key.startswith("up_") and len(key) > 3
    }
    return PreviewRequest(
        spec_url=query.get("url", "").strip(),
        view=query.get("view", "").strip() or "default",
        nocache=query.get("nocache") == "1",
        lang=query.get("lang", "").strip() or "all",
        country=query.get("country", "").strip() or "ALL",
        module_id=_module_id(query.get("mid", "")),
        prefs=prefs,
        view_params=_view_params(query.get("view-params", "")),
    )


def _module_id(raw: str) -> int:
    digits = raw.strip()
    if not digits:
        return DEFAULT_MODULE_ID
    # isascii: "²" is a digit to isdigit() but not to int().
    is_number = digits.isascii() and digits.isdigit() and len(digits) <= 10
    if not is_number or int(digits) > MAX_MODULE_ID:
        raise BadPreviewRequest(
            f"The module id (mid) must be a whole number from 0 to "
            f"{MAX_MODULE_ID}, not {raw[:40]!r}."
        )
    return int(digits)


def _view_params(raw: str) -> dict[str, object] | None:
    if not raw.strip():
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise BadPreviewRequest(
            'view-params must be a JSON object, such as {"page": 2}.'
        )
    return value


@require_GET
async def preview(request: HttpRequest) -> HttpResponse:
    """GET /preview: the page, with the gadget when ``url`` is given."""
    user = await request.auser()
    username = user.get_username() if user.is_authenticated else ""
    context: dict[str, Any] = {"username": username}
    status = 200
    try:
        wanted = parse_request(request.GET)
        context["wanted"] = wanted
        if wanted.spec_url:
            context.update(await gadget_context(wanted, username, request.GET))
    except GadgetError as error:
        logger.info("preview refused: %s", error.code)
        context["error"] = error.message
        status = error.status
    response = render(request, "container/preview.html", context, status=status)
    response["Content-Security-Policy"] = content_security_policy(
        context.get("gadget_origin", "")
    )
    return response


async def gadget_context(
    wanted: PreviewRequest, username: str, query: QueryDict
) -> dict[str, Any]:
    """Fetch the spec and build everything the template shows of the gadget."""
    spec = await specfetch.get_spec(wanted.spec_url, nocache=wanted.nocache)
    chosen = iframe_urls.select_view(spec, wanted.view)
    values = iframe_urls.pref_values(spec, wanted.prefs)
    shown = await _localised(spec, wanted, chosen.name, values)
    iframe = _iframe(spec, wanted, username, values)
    iframe_id = f"remote_iframe_{wanted.module_id}"
    return {
        "spec": shown,
        "title": _text(shown.title),
        "iframe": iframe,
        "iframe_id": iframe_id,
        "gadget_origin": iframe.origin,
        "height": chosen.preferred_height
        or spec.module_prefs.attr_int("height")
        or DEFAULT_HEIGHT_PIXELS,
        "current_view": chosen.name,
        "view_params_json": _json_or_empty(wanted.view_params),
        "container_script": features.script_url(["container"]),
        "view_links": view_links(query, list(spec.views)),
        "pref_fields": [
            pref_field(pref, values[pref.name]) for pref in shown.user_prefs.values()
        ],
        "page_data": {
            "iframeId": iframe_id,
            "gadgetOrigin": iframe.origin,
            "rpcToken": iframe.rpctoken,
            "view": chosen.name,
        },
    }


def _json_or_empty(value: dict[str, object] | None) -> str:
    return json.dumps(value) if value else ""


def _iframe(
    spec: Spec, wanted: PreviewRequest, username: str, values: dict[str, str]
) -> iframe_urls.IframeInfo:
    return iframe_urls.iframe_url(
        spec,
        owner=username,
        viewer=username,
        module_id=wanted.module_id,
        view=wanted.view,
        prefs=values,
        lang=wanted.lang,
        country=wanted.country,
        nocache=wanted.nocache,
        view_params=wanted.view_params,
    )


async def _localised(
    spec: Spec, wanted: PreviewRequest, view: str, values: dict[str, str]
) -> Spec:
    """The spec with ``__MSG_x__`` filled in, for the title and pref labels."""
    bundle = await messages.message_bundle(
        spec, wanted.lang, wanted.country, view, nocache=wanted.nocache
    )
    subs = substitution.Substitutions(
        bundle.messages, values, wanted.module_id, bundle.direction
    )
    return substitution.substitute_spec(spec, subs)


def _text(substituted: str) -> str:
    # Substitution escapes __UP_x__ values for HTML; the template escapes
    # again, so undo the first or "O'Brien" shows as "O&#x27;Brien".
    return html.unescape(substituted)


def pref_field(pref: UserPref, value: str) -> PrefField:
    """The form field for one pref, as Shindig's containers drew them."""
    label = _text(pref.display_name or pref.name)
    if pref.datatype == "hidden":
        return PrefField(pref.name, label, "hidden", value)
    if pref.datatype == "bool":
        return PrefField(pref.name, label, "checkbox", value)
    if pref.datatype == "enum":
        options = tuple(
            (e.value, _text(e.display_value or e.value)) for e in pref.enum_values
        )
        return PrefField(pref.name, label, "select", value, options)
    # string, number and list (values joined with "|") are typed as text.
    return PrefField(pref.name, label, "text", value)


def view_links(query: QueryDict, views: list[str]) -> list[tuple[str, str]]:
    """``(view, href)`` for the switcher: this page with another view."""
    links = []
    for name in views:
        changed = query.copy()
        changed["view"] = name
        changed.pop("view-params", None)
        links.append((name, "?" + changed.urlencode()))
    return links


def content_security_policy(gadget_origin: str) -> str:
    """Scripts and styles from this origin only; frames from the gadget's."""
    frame_src = gadget_origin or "'none'"
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            f"frame-src {frame_src}",
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )
