"""The URL a container puts in a gadget's iframe, built in one place.

Metadata, the container page and the ``issue_security_token`` command all
call ``iframe_url``, so every iframe the platform makes carries the same
parameters. For an html view of ``https://example.com/g.xml`` on module 3,
with ``GADGET_DOMAIN`` ``gadgets.localhost:8000``::

    http://<hash>.gadgets.localhost:8000/gadgets/ifr
        ?url=https%3A%2F%2Fexample.com%2Fg.xml&container=default&mid=3
        &view=home&lang=en&country=US&nocache=0
        &parent=http%3A%2F%2Flocalhost%3A8000&v=<feature version>
        #up_color=red&st=<security token>&rpctoken=<random>

The host is the gadget's locked host (``locked_domain.locked_host``), so the
page runs in an origin of its own.

Where each parameter goes, and why:

* ``up_<name>`` for every declared user pref (its default when the caller
  has no value) goes in the query only when the server needs the values:
  the view body or href, the title, the title URL or a preload href uses
  ``__UP_``. Otherwise it goes in the fragment, as Shindig does, so the
  rendered page stays the same for every user and can be cached.
* ``st`` goes in the fragment, not the query as in Shindig. The fragment
  never reaches the server, so the token stays out of access logs, proxies
  and ``Referer`` headers; the gadget JavaScript reads query and fragment
  alike (``gadgets.util.getUrlParameters``) and sends the token back with
  makeRequest. Rendering itself needs no token: it is the same page for
  every viewer.
* ``rpctoken`` (a random per-iframe secret the container checks on every
  gadgets.rpc message) and ``view-params`` are fragment parameters, as in
  Shindig.

A ``type="url"`` view has no locked host: the iframe points at the view's
href (after substitution) with the same standard parameters, the user prefs
always in the query, and ``libs`` set to the full URL of the feature script
the page may load.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

from django.conf import settings

from . import features, substitution
from .errors import SpecError, ViewNotFound
from .locked_domain import gadget_origin
from .security_token import encode_token
from .spec_model import Spec, View

_UP = "__UP_"


@dataclass(frozen=True)
class IframeInfo:
    url: str
    origin: str
    security_token: str
    rpctoken: str


@dataclass(frozen=True)
class Locale:
    lang: str = "all"
    country: str = "ALL"


@dataclass(frozen=True)
class Instance:
    """One gadget on one page: what the standard URL parameters say."""

    view: str  # the name the container asked for, not the fallback used
    module_id: int
    prefs: dict[str, str]  # every declared pref's value
    locale: Locale = Locale()
    nocache: bool = False
    debug: bool = False


def select_view(spec: Spec, requested: str) -> View:
    """The view to render for ``requested``, following Shindig's fallback.

    The requested name first, then its major view (``canvas`` for
    ``canvas.about``), then the configured aliases in order, then
    ``default``; no match is a ``ViewNotFound`` (404).
    """
    major = requested.split(".", 1)[0]
    candidates = [requested, major]
    candidates += features.VIEW_ALIASES.get(requested, [])
    candidates += features.VIEW_ALIASES.get(major, [])
    candidates.append("default")
    for name in candidates:
        if name in spec.views:
            return spec.views[name]
    raise ViewNotFound(
        f"The gadget has no content for the view '{requested}' and no "
        "default view to fall back to."
    )


def needs_prefs_in_query(spec: Spec, view: View) -> bool:
    """Whether rendering ``view`` substitutes user prefs on the server."""
    prefs = spec.module_prefs
    texts = [view.body, view.href, spec.title, prefs.attributes.get("title_url", "")]
    texts += [preload.href for preload in prefs.preloads]
    return any(_UP in text for text in texts)


def pref_values(spec: Spec, prefs: Mapping[str, str] | None) -> dict[str, str]:
    """Every declared user pref, by name: the caller's value, else the default."""
    given = {f"up_{name}": str(value) for name, value in (prefs or {}).items()}
    return substitution.user_pref_values(spec, given)


def iframe_url(
    spec: Spec,
    *,
    owner: str,
    viewer: str,
    module_id: int,
    view: str = "default",
    prefs: Mapping[str, str] | None = None,
    lang: str = "all",
    country: str = "ALL",
    nocache: bool = False,
    view_params: dict[str, object] | None = None,
    rpctoken: str | None = None,
    ttl_seconds: int | None = None,
    messages: Mapping[str, str] | None = None,
    direction: str = "ltr",
) -> IframeInfo:
    """Build the iframe URL, with a fresh security token, for one gadget.

    ``messages`` and ``direction`` (the message bundle for the locale) only
    matter for ``type="url"`` views, whose href may use ``__MSG_`` names.
    """
    chosen = select_view(spec, view)
    instance = Instance(
        view, module_id, pref_values(spec, prefs), Locale(lang, country), nocache
    )
    token = encode_token(
        owner=owner,
        viewer=viewer,
        gadget_url=spec.url,
        module_id=module_id,
        ttl_seconds=ttl_seconds,
        container=settings.GADGETS["CONTAINER_NAME"],
    )
    rpctoken = rpctoken or secrets.token_urlsafe(12)
    fragment = _fragment(token, rpctoken, view_params)
    if chosen.type != "url":
        url, origin = _ifr_url(spec, chosen, instance, fragment)
        return IframeInfo(url, origin, token, rpctoken)

    subs = substitution.Substitutions(
        dict(messages or {}), instance.prefs, module_id, direction
    )
    url = url_view_url(spec, chosen, subs.substitute(chosen.href), instance)
    return IframeInfo(_with_fragment(url, fragment), _origin(url), token, rpctoken)


def url_view_url(spec: Spec, chosen: View, href: str, instance: Instance) -> str:
    """The (already substituted) href of url view ``chosen``, plus params.

    ``/gadgets/ifr`` redirects here too, so the two URLs stay identical.
    """
    query = _standard_query(spec.url, instance)
    query.update({f"up_{name}": value for name, value in instance.prefs.items()})
    names = features.resolve(spec.features_for(chosen.name), chosen.name)
    query["libs"] = features.script_url(names, debug=instance.debug)
    parts = urlsplit(href)
    if not parts.scheme and not parts.netloc:
        # A relative href is relative to the spec, as every spec URL is.
        parts = urlsplit(urljoin(spec.url, href))
    if parts.scheme not in ("http", "https", "") or not parts.netloc:
        raise SpecError(
            f"The href of the url view '{chosen.name}' must be an http or https URL."
        )
    extra = urlencode(query)
    joined = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, joined, parts.fragment))


def _ifr_url(
    spec: Spec, chosen: View, instance: Instance, fragment: dict[str, str]
) -> tuple[str, str]:
    """``/gadgets/ifr`` on the gadget's locked host, and that origin."""
    origin = gadget_origin(spec.url)
    query = _standard_query(spec.url, instance)
    query["v"] = features.version()
    prefs = {f"up_{name}": value for name, value in instance.prefs.items()}
    if needs_prefs_in_query(spec, chosen):
        query.update(prefs)
    else:
        fragment = {**prefs, **fragment}
    return _with_fragment(f"{origin}/gadgets/ifr?{urlencode(query)}", fragment), origin


def _standard_query(gadget_url: str, instance: Instance) -> dict[str, str]:
    return {
        "url": gadget_url,
        "container": settings.GADGETS["CONTAINER_NAME"],
        "mid": str(instance.module_id),
        "view": instance.view,
        "lang": instance.locale.lang,
        "country": instance.locale.country,
        "nocache": "1" if instance.nocache else "0",
        "parent": settings.CONTAINER_ORIGIN,
    }


def _fragment(
    token: str, rpctoken: str, view_params: dict[str, object] | None
) -> dict[str, str]:
    fragment = {"st": token, "rpctoken": rpctoken}
    if view_params:
        fragment["view-params"] = json.dumps(view_params, separators=(",", ":"))
    return fragment


def _with_fragment(url: str, fragment: Mapping[str, str]) -> str:
    # A url view's own fragment is replaced: the gadget JS needs ours.
    base = url.split("#", 1)[0]
    return f"{base}#{urlencode(fragment)}" if fragment else base


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme else ""
