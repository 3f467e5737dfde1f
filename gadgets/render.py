"""Rendering a gadget: the page served at ``/gadgets/ifr``.

The container's iframe asks the gadget's own host for, say,
``/gadgets/ifr?url=https://example.com/g.xml&view=home&mid=3&lang=de``.
``render_gadget`` then:

1. checks ``parent`` (the container's origin, nothing else) and that the
   request came to this gadget's locked host -- before fetching anything,
   so a wrong host costs no outbound request;
2. gets the spec from the cache (``nocache=1`` refetches), picks the view
   (requested, its aliases, then ``default``), loads the message bundle for
   ``de``/``ALL`` and substitutes ``__MSG_``, ``__UP_``, ``__MODULE_ID__``
   and the BIDI names throughout the spec;
3. resolves the view's features (an unknown required one is a 400 naming
   it); a ``type="url"`` view ends here with a redirect to its href;
4. fetches the view's unauthenticated preloads concurrently (cached like
   makeRequest answers) and writes the page::

    <html lang="de"><head><title>Wetter</title>
    <style>html,body{height:100%;width:100%;overflow:auto}...</style>
    <script>window['__isgadget']=true;</script>
    <script src="http://localhost:8000/gadgets/js/core:rpc.js?v=..."></script>
    <script>gadgets.config.init({...});gadgets.Prefs.setMessages_({...});
    gadgets.Prefs.setDefaultPrefs_({...});gadgets.io.preloaded_=[...];</script>
    </head><body dir="ltr">...the view's content...
    <script>gadgets.util.runOnLoadHandlers();</script></body></html>

Gadget markup is never parsed and re-serialised: when the view brings its
own ``<html>``, ``<head>`` or ``<body>``, our head block and the onload call
are inserted as text at the right places, so the author's markup reaches
the browser byte for byte. Everything written into a ``<script>`` is JSON
with ``<``, ``>``, ``&`` and the JavaScript line separators escaped, so no
message or pref value can close the script element.
"""

from __future__ import annotations

import asyncio
import codecs
import hashlib
import html
import json
import logging
import re
from dataclasses import dataclass, field

from django.conf import settings

from . import caches, features, messages, outbound, specfetch, substitution
from .errors import GadgetError, WrongHost
from .iframe_url import Instance, Locale, pref_values, select_view, url_view_url
from .locked_domain import canonical_gadget_url, gadget_origin, locked_host
from .outbound import OutboundRequest, OutboundResponse
from .spec_model import FeatureRequest, Spec, View

logger = logging.getLogger(__name__)

# Shindig's default forced libs: every page can talk to its container.
DEFAULT_LIBS = ("core", "rpc")
BASE_STYLE = "html,body{height:100%;width:100%;overflow:auto}"
# Only for pages without a doctype, as old iGoogle gadgets expect.
QUIRKS_STYLE = (
    "body,td,div,span,p{font-family:arial,sans-serif}"
    "a{color:#0000cc}a:visited{color:#551a8b}a:active{color:#ff0000}"
    "body{margin:0;padding:0;background-color:#ffffff}"
)
HTML5_DOCTYPE = "<!DOCTYPE html>"
ONLOAD = "<script>gadgets.util.runOnLoadHandlers();</script>"
_JSON_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}
_PRELOAD_HEADERS = ("set-cookie", "location")


@dataclass(frozen=True)
class RenderParams:
    """What ``/gadgets/ifr`` was asked for; ``host`` is the request's Host."""

    url: str
    host: str
    view: str = "default"
    module_id: int = 0
    lang: str = "all"
    country: str = "ALL"
    user_prefs: dict[str, str] = field(default_factory=dict)
    nocache: bool = False
    debug: bool = False
    parent: str | None = None
    libs: tuple[str, ...] = ()
    version: str | None = None  # the ``v`` parameter


@dataclass(frozen=True)
class RenderResult:
    """Either a page or, for a url view, where to send the browser."""

    html: str | None = None
    redirect_url: str | None = None
    cache_control: str = "no-store"


@dataclass(frozen=True)
class Page:
    """Everything the page template needs, already substituted."""

    spec: Spec
    view: View
    locale: Locale
    direction: str
    script_url: str
    config: dict[str, object]
    messages: dict[str, str]
    preloaded: list[dict[str, object]]


async def render_gadget(params: RenderParams) -> RenderResult:
    """Render one gadget view; raises ``GadgetError`` subclasses."""
    check_parent(params.parent)
    gadget_url = canonical_gadget_url(params.url)
    check_host(gadget_url, params.host)

    spec = await specfetch.get_spec(gadget_url, nocache=params.nocache)
    view = select_view(spec, params.view)
    spec, direction, bundle = await _localise(spec, view, params)
    view = spec.views[view.name]
    names = _features(spec, view, params.libs)

    if view.type == "url":
        return RenderResult(
            redirect_url=_redirect_url(spec, view, params),
            cache_control=cache_control(params),
        )
    preloaded = await fetch_preloads(spec, view, nocache=params.nocache)
    page = Page(
        spec=spec,
        view=view,
        locale=Locale(params.lang, params.country),
        direction=direction,
        script_url=features.script_url(names, debug=params.debug),
        config=_config(spec, view, names),
        messages=bundle,
        preloaded=preloaded,
    )
    return RenderResult(html=build_page(page), cache_control=cache_control(params))


def check_parent(parent: str | None) -> None:
    """``parent`` may only name the container: gadgets.rpc trusts it."""
    if parent and parent.rstrip("/") != settings.CONTAINER_ORIGIN:
        raise GadgetError(
            f"The parent parameter must be the container's origin "
            f"({settings.CONTAINER_ORIGIN})."
        )


def check_host(gadget_url: str, host: str) -> None:
    """A gadget renders only on its own locked host."""
    if host.lower() != locked_host(gadget_url):
        raise WrongHost(
            "This gadget may only be rendered on its own host, "
            f"{locked_host(gadget_url)}."
        )


def cache_control(params: RenderParams) -> str:
    """Shindig's rules, but never a year: the spec may change under ``v``.

    A page with a stale ``v`` would load outdated feature JavaScript, so it
    is not stored at all; otherwise shared caches keep it as long as the
    spec cache keeps the spec, and a spec update shows within that time.
    """
    if params.nocache:
        return "no-cache, no-store, must-revalidate"
    if params.version and params.version != features.version():
        return "no-cache"
    return f"public, max-age={settings.GADGETS['SPEC_TTL_SECONDS']}"


async def _localise(
    spec: Spec, view: View, params: RenderParams
) -> tuple[Spec, str, dict[str, str]]:
    """The spec with every substitution made, its direction and messages."""
    bundle = await messages.message_bundle(
        spec, params.lang, params.country, view.name, nocache=params.nocache
    )
    prefs = pref_values(spec, params.user_prefs)
    subs = substitution.Substitutions(
        bundle.messages, prefs, params.module_id, bundle.direction
    )
    return substitution.substitute_spec(spec, subs), bundle.direction, bundle.messages


def _features(spec: Spec, view: View, libs: tuple[str, ...]) -> list[str]:
    forced = [FeatureRequest(name, required=False) for name in libs or DEFAULT_LIBS]
    return features.resolve([*spec.features_for(view.name), *forced], view.name)


def _redirect_url(spec: Spec, view: View, params: RenderParams) -> str:
    instance = Instance(
        view=params.view,
        module_id=params.module_id,
        prefs=pref_values(spec, params.user_prefs),
        locale=Locale(params.lang, params.country),
        nocache=params.nocache,
        debug=params.debug,
    )
    return url_view_url(spec, view, view.href, instance)


def _config(spec: Spec, view: View, names: list[str]) -> dict[str, object]:
    """``gadgets.config.init`` input: feature settings plus ``core.util``.

    ``core.util`` lists the features the spec declared (and this server
    has), with their params, for ``gadgets.util.hasFeature`` and
    ``getFeatureParameters``; a param given once is a string, as in Shindig.
    """
    config = features.feature_config(
        names,
        gadget_origin=gadget_origin(spec.url),
        container=settings.GADGETS["CONTAINER_NAME"],
    )
    available = set(names)
    declared = {
        request.name: {
            name: values[0] if len(values) == 1 else list(values)
            for name, values in request.params.items()
        }
        for request in spec.features_for(view.name)
        if request.required or request.name in available
    }
    existing = config.get("core.util")
    config["core.util"] = {
        **(existing if isinstance(existing, dict) else {}),
        **declared,
    }
    signed = auth_preloads(spec, view)
    if signed and "core.io" in available:
        io_config = config.get("core.io")
        config["core.io"] = {
            **(io_config if isinstance(io_config, dict) else {}),
            "authPreloads": signed,
        }
    return config


# Preloads ------------------------------------------------------------------


# Preload attributes passed on to makeRequest's OAuth parameters.
_PRELOAD_OAUTH_ATTRIBUTES = {
    "oauth_service_name": "OAUTH_SERVICE_NAME",
    "oauth_token_name": "OAUTH_TOKEN_NAME",
    "oauth_use_token": "OAUTH_USE_TOKEN",
}


def auth_preloads(spec: Spec, view: View) -> list[dict[str, object]]:
    """The view's ``authz="signed"`` and ``authz="oauth"`` preloads.

    They need the viewer's security token, which travels in the iframe
    URL's fragment and so never reaches this server with the render
    request (keeping it out of access logs and Referer headers). The
    page's ``gadgets.io`` therefore starts these makeRequests itself as
    soon as the page loads, before any onload handler, and hands each
    answer to the gadget's own makeRequest for the same URL and authz.
    """
    wanted: list[dict[str, object]] = []
    for preload in spec.module_prefs.preloads:
        if preload.authz not in ("signed", "oauth"):
            continue
        if preload.views and view.name not in preload.views:
            continue
        entry: dict[str, object] = {
            "href": preload.href,
            "authz": preload.authz,
            "signOwner": preload.sign_owner,
            "signViewer": preload.sign_viewer,
        }
        for attribute, name in _PRELOAD_OAUTH_ATTRIBUTES.items():
            if attribute in preload.attributes:
                entry[name] = preload.attributes[attribute]
        wanted.append(entry)
    return wanted


async def fetch_preloads(
    spec: Spec, view: View, *, nocache: bool = False
) -> list[dict[str, object]]:
    """Results of the view's ``authz="none"`` preloads, fetched concurrently.

    Signed and OAuth preloads are started by the page instead (see
    ``auth_preloads``).
    """
    wanted = [
        preload
        for preload in spec.module_prefs.preloads
        if preload.authz == "none" and (not preload.views or view.name in preload.views)
    ]
    return list(
        await asyncio.gather(*(_preload(p.href, nocache=nocache) for p in wanted))
    )


async def _preload(href: str, *, nocache: bool) -> dict[str, object]:
    key = "gadgets:preload:" + hashlib.sha256(href.encode("utf-8")).hexdigest()
    if not nocache:
        cached = await caches.aget(key)
        if cached is not None:
            return dict(cached)
    try:
        response = await outbound.fetch(
            OutboundRequest(
                url=href,
                deadline_seconds=settings.GADGETS["FETCH_DEADLINE_SECONDS"],
                max_response_bytes=settings.GADGETS["MAX_RESPONSE_BYTES"],
            )
        )
    except GadgetError as error:
        logger.warning("Preload failed: %s (%s)", error.code, href[:200])
        return {"id": href, "rc": error.status, "body": ""}
    result = _preload_result(href, response)
    ttl_seconds = _cache_seconds(response)
    if ttl_seconds > 0:
        await caches.aset(key, result, ttl_seconds)
    return result


def _preload_result(href: str, response: OutboundResponse) -> dict[str, object]:
    """The makeRequest shape ``gadgets.io`` looks up by ``id``."""
    result: dict[str, object] = {
        "id": href,
        "rc": response.status,
        "body": response.body.decode(_charset(response), errors="replace"),
    }
    headers: dict[str, list[str]] = {}
    for name, value in response.headers:
        if name in _PRELOAD_HEADERS:
            headers.setdefault(name, []).append(value)
    if headers:
        result["headers"] = headers
    return result


def _header(response: OutboundResponse, name: str) -> str:
    return next((value for key, value in response.headers if key == name), "")


def _charset(response: OutboundResponse) -> str:
    match = re.search(r"charset=\"?([\w.:-]+)", _header(response, "content-type"), re.I)
    if match:
        try:
            return codecs.lookup(match.group(1)).name
        except LookupError:
            pass
    return "utf-8"


def _cache_seconds(response: OutboundResponse) -> int:
    """How long a preload answer may be reused, as makeRequest would."""
    if response.status != 200:
        return 0
    directives = _header(response, "cache-control").lower()
    if re.search(r"no-store|no-cache|private", directives):
        return 0
    match = re.search(r"max-age=(\d+)", directives)
    if match:
        return int(match.group(1))
    return int(settings.GADGETS["DEFAULT_FETCH_TTL_SECONDS"])


# The page ------------------------------------------------------------------

_DOCTYPE = re.compile(r"^\s*<!doctype[^>]*>", re.IGNORECASE)
_DOCUMENT_TAG = re.compile(r"<(?:html|head|body)(?=[\s>/])", re.IGNORECASE)
_HTML_OPEN = re.compile(r"<html(?=[\s>/])[^>]*>", re.IGNORECASE)
_HEAD_OPEN = re.compile(r"<head(?=[\s>/])[^>]*>", re.IGNORECASE)
_BODY_OPEN = re.compile(r"<body(?=[\s>/])[^>]*>", re.IGNORECASE)
_OPENING_TAGS = {"html": _HTML_OPEN, "body": _BODY_OPEN}
_BODY_CLOSE = re.compile(r"</body\s*>", re.IGNORECASE)
_HTML_CLOSE = re.compile(r"</html\s*>", re.IGNORECASE)


def script_json(value: object) -> str:
    """JSON that is safe inside ``<script>``: nothing can end the element."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).translate(
        _JSON_ESCAPES
    )


def build_page(page: Page) -> str:
    """The HTML document for one rendered view."""
    body = page.view.body
    authored = _DOCTYPE.match(body)
    if authored:
        body = body[authored.end() :]
    doctype = _doctype(page.spec, page.view, authored.group(0) if authored else "")
    head = _head_block(page, has_doctype=bool(doctype))
    if _DOCUMENT_TAG.search(body):
        document = _into_document(body, head, page)
    else:
        document = (
            f'<html lang="{_html_lang(page.locale)}"><head>{head}</head>'
            f'<body dir="{_dir(page.direction)}">{body}{ONLOAD}</body></html>'
        )
    return f"{doctype}\n{document}" if doctype else document


def _doctype(spec: Spec, view: View, authored: str) -> str:
    """HTML5 for specificationVersion 2 gadgets not in quirks mode.

    Otherwise the author's own doctype stays, and without one the page
    renders in quirks mode, which 2008-era gadgets were written for.
    """
    forced_quirks = spec.module_prefs.attributes.get("doctype", "") == "quirksmode"
    if _major_version(spec.specification_version) >= 2 and not (
        view.quirks or forced_quirks
    ):
        return HTML5_DOCTYPE
    return authored.strip()


def _major_version(version: str) -> int:
    match = re.match(r"\s*(\d+)", version or "")
    return int(match.group(1)) if match else 1


def _head_block(page: Page, *, has_doctype: bool) -> str:
    style = BASE_STYLE if has_doctype else BASE_STYLE + QUIRKS_STYLE
    defaults = {name: p.default_value for name, p in page.spec.user_prefs.items()}
    inline = (
        f"gadgets.config.init({script_json(page.config)});"
        f"gadgets.Prefs.setMessages_({script_json(page.messages)});"
        f"gadgets.Prefs.setDefaultPrefs_({script_json(defaults)});"
        f"gadgets.io.preloaded_={script_json(page.preloaded)};"
    )
    return (
        f"<title>{html.escape(page.spec.title)}</title>"
        f"<style>{style}</style>"
        "<script>window['__isgadget']=true;</script>"
        f'<script src="{html.escape(page.script_url)}"></script>'
        f"<script>{inline}</script>"
    )


def _into_document(body: str, head: str, page: Page) -> str:
    """Insert our head block and onload call into the author's document."""
    body = _insert_head(body, head, page)
    body = _add_attribute(body, "html", "lang", _html_lang(page.locale))
    body = _add_attribute(body, "body", "dir", _dir(page.direction))
    for closing in (_BODY_CLOSE, _HTML_CLOSE):
        matches = list(closing.finditer(body))
        if matches:
            at = matches[-1].start()
            return body[:at] + ONLOAD + body[at:]
    return body + ONLOAD


def _insert_head(body: str, head: str, page: Page) -> str:
    head_open = _HEAD_OPEN.search(body)
    if head_open:
        return body[: head_open.end()] + head + body[head_open.end() :]
    html_open = _HTML_OPEN.search(body)
    if html_open:
        at = html_open.end()
        return body[:at] + f"<head>{head}</head>" + body[at:]
    return f'<html lang="{_html_lang(page.locale)}"><head>{head}</head>' + body


def _add_attribute(body: str, tag: str, name: str, value: str) -> str:
    """Give the author's first ``<tag>`` the attribute unless it has one."""
    found = _OPENING_TAGS[tag].search(body)
    if found is None or re.search(rf"\s{name}\s*=", found.group(0), re.I):
        return body
    at = found.start() + len(tag) + 1
    return body[:at] + f' {name}="{value}"' + body[at:]


def _html_lang(locale: Locale) -> str:
    lang = "en" if locale.lang.lower() == "all" else locale.lang.lower()
    if locale.country.upper() == "ALL":
        return html.escape(lang)
    return html.escape(f"{lang}-{locale.country.upper()}")


def _dir(direction: str) -> str:
    return "rtl" if direction == "rtl" else "ltr"
