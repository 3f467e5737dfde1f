"""Gadget metadata for containers, in Shindig's legacy ``/gadgets/metadata``
shape, so old container JavaScript keeps working.

The container page (and ``POST /gadgets/metadata``) asks about several
gadgets at once::

    {"context": {"container": "default", "view": "home",
                 "language": "de", "country": "AT", "ignoreCache": false},
     "gadgets": [{"url": "https://example.com/g.xml", "moduleId": 3,
                  "prefs": {"color": "red"}}]}

and gets, per gadget, the localised title, views, user prefs, features,
OAuth services and a ready ``iframeUrl`` carrying a fresh security token
for the person asking::

    {"gadgets": [{"url": "https://example.com/g.xml", "moduleId": 3,
                  "iframeUrl": "http://<hash>.gadgets.localhost:8000/...",
                  "title": "Wetter", "userPrefs": {"color": {...}}, ...}]}

A gadget that cannot be described (unreachable spec, bad XML, no such
view) becomes ``{"url", "moduleId", "errors": ["<sentence>"]}`` without
failing the others.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from urllib.parse import urljoin

from . import messages, specfetch, substitution
from .errors import GadgetError
from .iframe_url import IframeInfo, iframe_url, pref_values, select_view
from .spec_model import FeatureRequest, ModulePrefs, OAuthService, Spec, UserPref

# ModulePrefs attributes copied as they are, by their metadata name.
_TEXT_FIELDS = {
    "description": "description",
    "directoryTitle": "directory_title",
    "author": "author",
    "authorEmail": "author_email",
    "authorAffiliation": "author_affiliation",
    "authorLocation": "author_location",
    "authorAboutme": "author_aboutme",
    "authorQuote": "author_quote",
}
# URI attributes, resolved against the spec URL as Shindig resolves them.
_URI_FIELDS = {
    "titleUrl": "title_url",
    "thumbnail": "thumbnail",
    "screenshot": "screenshot",
    "authorPhoto": "author_photo",
    "authorLink": "author_link",
}
_BOOL_FIELDS = {
    "showStats": "show_stats",
    "showInDirectory": "show_in_directory",
    "singleton": "singleton",
    "scaling": "scaling",
    "scrolling": "scrolling",
}


@dataclass(frozen=True)
class MetadataContext:
    """The ``context`` object: one locale and view for every gadget."""

    view: str = "default"
    language: str = "all"
    country: str = "ALL"
    ignore_cache: bool = False
    container: str = "default"


@dataclass(frozen=True)
class GadgetRequest:
    """One entry of ``gadgets``: which instance, with which pref values."""

    url: str
    module_id: int = 0
    prefs: dict[str, str] = field(default_factory=dict)


async def gadget_metadata(
    requests: list[GadgetRequest],
    *,
    owner: str,
    viewer: str,
    context: MetadataContext,
) -> list[dict[str, object]]:
    """Describe each gadget, in request order, fetching specs concurrently."""
    return list(
        await asyncio.gather(
            *(_describe_one(r, owner, viewer, context) for r in requests)
        )
    )


async def _describe_one(
    request: GadgetRequest, owner: str, viewer: str, context: MetadataContext
) -> dict[str, object]:
    try:
        spec = await specfetch.get_spec(request.url, nocache=context.ignore_cache)
        view = select_view(spec, context.view)
        bundle = await messages.message_bundle(
            spec,
            context.language,
            context.country,
            view.name,
            nocache=context.ignore_cache,
        )
        info = iframe_url(
            spec,
            owner=owner,
            viewer=viewer,
            module_id=request.module_id,
            view=context.view,
            prefs=request.prefs,
            lang=context.language,
            country=context.country,
            nocache=context.ignore_cache,
            messages=bundle.messages,
            direction=bundle.direction,
        )
    except GadgetError as error:
        return {
            "url": request.url,
            "moduleId": request.module_id,
            "errors": [error.message],
        }
    subs = substitution.Substitutions(
        bundle.messages,
        pref_values(spec, request.prefs),
        request.module_id,
        bundle.direction,
    )
    return describe(substitution.substitute_spec(spec, subs), request, info)


def describe(spec: Spec, request: GadgetRequest, info: IframeInfo) -> dict[str, object]:
    """The legacy metadata object for one (already localised) spec."""
    prefs = spec.module_prefs
    entry: dict[str, object] = {
        "iframeUrl": info.url,
        "url": spec.url,
        "moduleId": request.module_id,
        "title": spec.title,
    }
    entry.update(_module_pref_fields(spec))
    entry["views"] = {
        name: {
            "type": view.type,
            "quirks": view.quirks,
            "preferredHeight": view.preferred_height,
            "preferredWidth": view.preferred_width,
            **({"attributes": dict(view.attributes)} if view.attributes else {}),
        }
        for name, view in spec.views.items()
    }
    entry["features"] = list(_feature_details(prefs.features))
    entry["featureDetails"] = _feature_details(prefs.features)
    entry["userPrefs"] = {
        name: _user_pref(pref) for name, pref in spec.user_prefs.items()
    }
    entry["links"] = {rel: link.href for rel, link in prefs.links.items()}
    entry["oauth"] = {
        name: _oauth_service(service) for name, service in prefs.oauth_services.items()
    }
    return entry


def _module_pref_fields(spec: Spec) -> dict[str, object]:
    prefs: ModulePrefs = spec.module_prefs
    fields: dict[str, object] = {
        name: prefs.attributes.get(attribute, "")
        for name, attribute in _TEXT_FIELDS.items()
    }
    for name, attribute in _URI_FIELDS.items():
        fields[name] = _uri(spec.url, prefs.attributes.get(attribute, ""))
    for name, attribute in _BOOL_FIELDS.items():
        fields[name] = prefs.attr_bool(attribute)
    fields["categories"] = [
        prefs.attributes.get("category", ""),
        prefs.attributes.get("category2", ""),
    ]
    fields["height"] = prefs.attr_int("height")
    fields["width"] = prefs.attr_int("width")
    return fields


def _uri(base: str, value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    try:
        return urljoin(base, value)
    except ValueError:
        return ""  # as Shindig: an unparsable URI is empty


def _feature_details(
    requests: tuple[FeatureRequest, ...],
) -> dict[str, dict[str, object]]:
    """Features by name; one limited to views is listed as ``name.view``."""
    details: dict[str, dict[str, object]] = {}
    for request in requests:
        keys = [f"{request.name}.{view}" for view in request.views] or [request.name]
        for key in keys:
            details[key] = {
                "required": request.required,
                "parameters": {
                    name: list(values) for name, values in request.params.items()
                },
            }
    return details


def _user_pref(pref: UserPref) -> dict[str, object]:
    return {
        "displayName": pref.display_name,
        "type": pref.datatype,
        "default": pref.default_value,
        "required": pref.required,
        "enumValues": {enum.value: enum.display_value for enum in pref.enum_values},
        "orderedEnumValues": [
            {"value": enum.value, "displayValue": enum.display_value}
            for enum in pref.enum_values
        ],
    }


def _oauth_service(service: OAuthService) -> dict[str, str]:
    return {
        "request": service.request.url,
        "access": service.access.url,
        "authorization": service.authorization_url,
    }
