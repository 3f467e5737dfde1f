"""Parse gadget spec XML (the Gadgets API of iGoogle and Shindig).

A spec is attacker-controlled XML, so it is read by ``gadgets.xml`` and then
walked element by element into the frozen dataclasses of
``gadgets.spec_model``. Errors name the element and what is wrong; things
Shindig ignores or defaults are ignored or defaulted here too, so gadgets
written for Shindig keep working. A worked example::

    <Module>
      <ModulePrefs title="__MSG_title__">
        <Require feature="dynamic-height"/>
        <Locale messages="msgs/all_ALL.xml"/>
      </ModulePrefs>
      <UserPref name="color" default_value="red"/>
      <Content type="html" view="home,canvas"><![CDATA[Hi]]></Content>
    </Module>

parsed with the URL ``http://example.com/g/spec.xml`` gives a ``Spec`` whose
``module_prefs.attributes`` is ``{"title": "__MSG_title__"}`` (substitution
happens per request, in ``gadgets.substitution``), one ``FeatureRequest``
for ``dynamic-height``, one global ``LocaleSpec`` whose ``messages_url`` is
``http://example.com/g/msgs/all_ALL.xml``, a ``color`` user pref and two
views, ``home`` and ``canvas``, with the body ``Hi``. Parsing is pure and
fast enough to run once per fetch; ``gadgets.specfetch`` caches the result.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from typing import cast
from urllib.parse import urljoin, urlsplit

from django.conf import settings
from lxml import etree

from .errors import SpecError
from .locked_domain import canonical_gadget_url
from .spec_model import (
    AUTHZ_VALUES,
    PARAM_LOCATIONS,
    USER_PREF_TYPES,
    EnumValue,
    FeatureRequest,
    Icon,
    Link,
    LocaleSpec,
    ModulePrefs,
    OAuthEndpoint,
    OAuthService,
    Preload,
    Spec,
    UserPref,
    View,
)
from .xml import parse_xml

CONTENT_TYPES = ("html", "url", "x-html-sanitized")
_FEATURE_TAGS = ("Require", "Optional")
_PRELOAD_KNOWN = frozenset({"href", "authz", "sign_owner", "sign_viewer", "views"})
_USER_PREF_KNOWN = frozenset(
    {"name", "display_name", "default_value", "datatype", "required"}
)
_VIEW_KNOWN = frozenset(
    {
        "view",
        "type",
        "href",
        "preferred_height",
        "preferred_width",
        "quirks",
        "authz",
        "sign_owner",
        "sign_viewer",
    }
)


def parse_spec(xml: bytes | str, url: str) -> Spec:
    """Parse a gadget spec fetched from ``url``; raise ``SpecError`` if bad."""
    spec_url = canonical_gadget_url(url)
    source = xml.encode("utf-8") if isinstance(xml, str) else xml
    what = f"Gadget spec at {spec_url}"
    root = parse_xml(xml, what=what, max_bytes=settings.GADGETS["SPEC_MAX_BYTES"])
    try:
        return _module(root, spec_url, hashlib.sha256(source).hexdigest())
    except SpecError as error:
        raise SpecError(f"{what}: {error.message}") from None


def _module(root: etree._Element, spec_url: str, checksum: str) -> Spec:
    if root.tag != "Module":
        raise SpecError(
            f"the root element is <{root.tag}>, not <Module> (line {root.sourceline})"
        )
    prefs = _exactly_one(root, "ModulePrefs", "Module")
    _at_most_one(root, "ExternalServices", "Module")
    contents = _children(root, "Content")
    if not contents:
        raise _invalid(root, "Module", "has no Content element")
    return Spec(
        url=spec_url,
        module_prefs=_module_prefs(prefs, spec_url),
        user_prefs=_user_prefs(_children(root, "UserPref")),
        views=_views(contents),
        specification_version=root.get("specificationVersion", "").strip() or "1.0",
        checksum=checksum,
    )


# -- small readers shared by every element ---------------------------------


def _invalid(element: etree._Element, where: str, problem: str) -> SpecError:
    return SpecError(f"{where}: {problem} (line {element.sourceline})")


def _attributes(element: etree._Element) -> dict[str, str]:
    return {str(key): str(value) for key, value in element.attrib.items()}


def _children(parent: etree._Element, tag: str) -> list[etree._Element]:
    return [child for child in parent if child.tag == tag]


def _at_most_one(parent: etree._Element, tag: str, where: str) -> etree._Element | None:
    found = _children(parent, tag)
    if len(found) > 1:
        raise _invalid(found[1], where, f"has more than one {tag} element")
    return found[0] if found else None


def _exactly_one(parent: etree._Element, tag: str, where: str) -> etree._Element:
    found = _at_most_one(parent, tag, where)
    if found is None:
        raise _invalid(parent, where, f"the {tag} element is missing")
    return found


def _shown(value: str) -> str:
    """A value quoted for an error message, cut short if it is long."""
    return repr(value if len(value) <= 80 else value[:77] + "...")


def _bool(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.strip().lower() == "true"


def _int(value: str | None) -> int:
    try:
        return int((value or "").strip())
    except ValueError:
        return 0


def _view_names(value: str | None) -> tuple[str, ...]:
    return tuple(name.strip() for name in (value or "").split(",") if name.strip())


def _authz(value: str | None) -> str:
    authz = (value or "").strip().lower()
    return authz if authz in AUTHZ_VALUES else "none"


def text_content(element: etree._Element) -> str:
    """Text of the element and its descendants, as DOM ``getTextContent``."""
    return "".join(cast("Iterator[str]", element.itertext()))


def markup_content(element: etree._Element) -> str:
    """The element's content with child markup serialised back to text."""
    parts = [element.text or ""]
    for child in element:
        parts.append(etree.tostring(child, encoding="unicode", with_tail=True))
    return "".join(parts)


def resolve_url(base: str, href: str) -> str:
    """``href`` resolved against ``base``; ``ValueError`` if unparsable."""
    urlsplit(href).port  # noqa: B018 - raises ValueError on a bad port
    return urljoin(base, href)


def _http_url(element: etree._Element, base: str, where: str) -> str:
    value = (element.get("url") or "").strip()
    if not value:
        raise _invalid(element, where, "the url attribute is missing")
    try:
        resolved = resolve_url(base, value)
    except ValueError:
        resolved = ""
    parts = urlsplit(resolved)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _invalid(element, where, f"the url {_shown(value)} is not http or https")
    return resolved


# -- ModulePrefs -------------------------------------------------------------


def _module_prefs(element: etree._Element, base: str) -> ModulePrefs:
    oauth = _at_most_one(element, "OAuth", "ModulePrefs")
    oauth2 = _at_most_one(element, "OAuth2", "ModulePrefs")
    features = [_feature(x, where) for where, x in _numbered(element, *_FEATURE_TAGS)]
    if oauth is not None or oauth2 is not None:
        _add_security_token(features)
    links = [_link(x, base, where) for where, x in _numbered(element, "Link")]
    return ModulePrefs(
        attributes=_attributes(element),
        features=tuple(features),
        preloads=tuple(_preload(x, base, w) for w, x in _numbered(element, "Preload")),
        icons=tuple(_icon(x, where) for where, x in _numbered(element, "Icon")),
        links={link.rel: link for link in links},  # a later rel wins
        locales=tuple(_locale(x, base) for x in _children(element, "Locale")),
        oauth_services={} if oauth is None else _oauth(oauth, base),
    )


def _numbered(
    parent: etree._Element, *tags: str
) -> Iterator[tuple[str, etree._Element]]:
    """Children with one of ``tags``, each with a name like ``Link #2``."""
    seen: Counter[str] = Counter()
    for child in parent:
        if child.tag in tags:
            seen[child.tag] += 1
            yield f"{child.tag} #{seen[child.tag]}", child


def _add_security_token(features: list[FeatureRequest]) -> None:
    """OAuth needs an ``st`` in the iframe, so it implies ``security-token``."""
    if not any(f.name == "security-token" and not f.views for f in features):
        features.append(FeatureRequest(name="security-token", required=True))


def _feature(element: etree._Element, where: str) -> FeatureRequest:
    name = (element.get("feature") or "").strip()
    if not name:
        raise _invalid(element, where, "the feature attribute is missing")
    params: dict[str, list[str]] = {}
    for index, param in enumerate(_children(element, "Param"), 1):
        param_name = (param.get("name") or "").strip()
        if not param_name:
            raise _invalid(
                param,
                f"{element.tag} feature={_shown(name)} Param #{index}",
                "the name attribute is missing",
            )
        params.setdefault(param_name, []).append(text_content(param))
    return FeatureRequest(
        name=name,
        required=element.tag == "Require",
        params=params,
        views=_view_names(element.get("views")),
    )


def _preload(element: etree._Element, base: str, where: str) -> Preload:
    href = (element.get("href") or "").strip()
    if not href:
        raise _invalid(element, where, "the href attribute is missing")
    try:
        # A relative href holding __UP_x__ is resolved after substitution.
        resolved = href if "__" in href else resolve_url(base, href)
    except ValueError:
        raise _invalid(
            element, where, f"the href {_shown(href)} is not a valid URL"
        ) from None
    return Preload(
        href=resolved,
        authz=_authz(element.get("authz")),
        sign_owner=_bool(element.get("sign_owner"), True),
        sign_viewer=_bool(element.get("sign_viewer"), True),
        views=_view_names(element.get("views")),
        attributes={
            key: value
            for key, value in _attributes(element).items()
            if key not in _PRELOAD_KNOWN
        },
    )


def _icon(element: etree._Element, where: str) -> Icon:
    mode = (element.get("mode") or "").strip()
    if mode and mode.lower() != "base64":
        raise _invalid(
            element, where, f"the mode {_shown(mode)} is not supported; use base64"
        )
    return Icon(
        value=text_content(element).strip(),
        mode=mode.lower(),
        type=(element.get("type") or "").strip(),
    )


def _link(element: etree._Element, base: str, where: str) -> Link:
    rel = (element.get("rel") or "").strip()
    href = (element.get("href") or "").strip()
    if not rel:
        raise _invalid(element, where, "the rel attribute is missing")
    if not href:
        raise _invalid(element, where, "the href attribute is missing")
    try:
        resolved = href if "__" in href else resolve_url(base, href)
    except ValueError:
        raise _invalid(
            element, where, f"the href {_shown(href)} is not a valid URL"
        ) from None
    method = (element.get("method") or "").strip().upper()
    return Link(rel=rel, href=resolved, method="POST" if method == "POST" else "GET")


def _locale(element: etree._Element, base: str) -> LocaleSpec:
    lang = (element.get("lang") or "").strip().lower() or "all"
    country = (element.get("country") or "").strip().upper() or "ALL"
    where = f"Locale lang={lang} country={country}"
    direction = (element.get("language_direction") or "").strip().lower() or "ltr"
    if direction not in ("ltr", "rtl"):
        raise _invalid(
            element,
            where,
            f"the language_direction {_shown(direction)} must be ltr or rtl",
        )
    messages_url = None
    messages: dict[str, str] = {}
    if (element.get("messages") or "").strip():
        messages_url = _http_url_attr(element, "messages", base, where)
    else:
        messages = collect_messages(element, where)
    return LocaleSpec(
        lang=lang,
        country=country,
        messages_url=messages_url,
        messages=messages,
        language_direction=direction,
        views=_view_names(element.get("views")),
    )


def _http_url_attr(
    element: etree._Element, attribute: str, base: str, where: str
) -> str:
    value = (element.get(attribute) or "").strip()
    try:
        resolved = resolve_url(base, value)
    except ValueError:
        resolved = ""
    if urlsplit(resolved).scheme not in ("http", "https"):
        raise _invalid(
            element,
            where,
            f"the {attribute} URL {_shown(value)} is not a valid http or https URL",
        )
    return resolved


def collect_messages(element: etree._Element, where: str) -> dict[str, str]:
    """Every ``<msg name>`` under ``element``: inline Locales and bundles."""
    messages: dict[str, str] = {}
    for index, msg in enumerate(element.iter("msg"), 1):
        name = (msg.get("name") or "").strip()
        if not name:
            raise _invalid(
                msg, f"{where} msg #{index}", "the name attribute is missing"
            )
        messages[name] = markup_content(msg)
    return messages


def _oauth(element: etree._Element, base: str) -> dict[str, OAuthService]:
    services: dict[str, OAuthService] = {}
    for service in _children(element, "Service"):
        name = service.get("name") or ""
        where = f"OAuth Service {_shown(name)}"
        if name in services:
            raise _invalid(service, where, "is defined twice")
        services[name] = _oauth_service(service, name, base, where)
    return services


def _oauth_service(
    element: etree._Element, name: str, base: str, where: str
) -> OAuthService:
    request = _endpoint(_exactly_one(element, "Request", where), base, where)
    access = _endpoint(_exactly_one(element, "Access", where), base, where)
    authorization = _exactly_one(element, "Authorization", where)
    if (request.method, request.param_location) != (
        access.method,
        access.param_location,
    ):
        raise _invalid(
            element,
            where,
            "Request and Access must use the same method and param_location",
        )
    return OAuthService(
        name=name,
        request=request,
        access=access,
        authorization_url=_http_url(authorization, base, f"{where} Authorization"),
    )


def _endpoint(element: etree._Element, base: str, service: str) -> OAuthEndpoint:
    where = f"{service} {element.tag}"
    url = _http_url(element, base, where)
    method = (element.get("method") or "").strip().upper() or "GET"
    if method not in ("GET", "POST"):
        raise _invalid(
            element, where, f"the method {_shown(method)} is not GET or POST"
        )
    location = (element.get("param_location") or "").strip().lower() or "auth-header"
    if location not in PARAM_LOCATIONS:
        raise _invalid(
            element,
            where,
            f"the param_location {_shown(location)} is not one of "
            f"{', '.join(PARAM_LOCATIONS)}",
        )
    if location == "post-body" and method == "GET":
        raise _invalid(element, where, "param_location post-body needs method POST")
    return OAuthEndpoint(url=url, method=method, param_location=location)


# -- UserPref and Content ----------------------------------------------------


def _user_prefs(elements: list[etree._Element]) -> dict[str, UserPref]:
    prefs: dict[str, UserPref] = {}
    for index, element in enumerate(elements, 1):
        where = f"UserPref #{index}"
        name = (element.get("name") or "").strip()
        if not name:
            raise _invalid(element, where, "the name attribute is missing")
        if name in prefs:
            raise _invalid(element, where, f"the name {_shown(name)} is used twice")
        prefs[name] = _user_pref(element, name, f"UserPref {_shown(name)}")
    return prefs


def _user_pref(element: etree._Element, name: str, where: str) -> UserPref:
    datatype = (element.get("datatype") or "").strip().lower()
    enum_values = []
    for index, enum in enumerate(_children(element, "EnumValue"), 1):
        value = enum.get("value")
        if value is None:
            raise _invalid(
                enum, f"{where} EnumValue #{index}", "the value attribute is missing"
            )
        enum_values.append(EnumValue(value, enum.get("display_value", value)))
    return UserPref(
        name=name,
        display_name=element.get("display_name", name),
        default_value=element.get("default_value", ""),
        datatype=datatype if datatype in USER_PREF_TYPES else "string",
        required=_bool(element.get("required"), False),
        enum_values=tuple(enum_values),
        attributes={
            key: value
            for key, value in _attributes(element).items()
            if key not in _USER_PREF_KNOWN
        },
    )


def _views(elements: list[etree._Element]) -> dict[str, View]:
    """Group ``<Content>`` by view name; one element may serve several views."""
    grouped: dict[str, list[etree._Element]] = {}
    for element in elements:
        for name in _view_names(element.get("view")) or ("default",):
            grouped.setdefault(name, []).append(element)
    return {name: _view(name, group) for name, group in grouped.items()}


def _content_type(element: etree._Element) -> str:
    content_type = (element.get("type") or "").strip().lower()
    return content_type if content_type in CONTENT_TYPES else "html"


def _view(name: str, elements: list[etree._Element]) -> View:
    where = f"Content view={_shown(name)}"
    types = [_content_type(element) for element in elements]
    if len(set(types)) > 1:
        raise _invalid(
            elements[-1],
            where,
            f"may not mix content types ({', '.join(sorted(set(types)))})",
        )
    attributes: dict[str, str] = {}
    for element in elements:  # later elements of the same view win
        attributes.update(_attributes(element))
    href = attributes.get("href", "").strip()
    if types[0] == "url" and not href:
        raise _invalid(elements[0], where, 'type="url" needs an href attribute')
    body = "" if types[0] == "url" else "".join(map(text_content, elements))
    return View(
        name=name,
        type=types[0],
        body=body,
        href=href,
        preferred_height=_int(attributes.get("preferred_height")),
        preferred_width=_int(attributes.get("preferred_width")),
        quirks=_bool(attributes.get("quirks"), True),
        authz=_authz(attributes.get("authz")),
        sign_owner=_bool(attributes.get("sign_owner"), True),
        sign_viewer=_bool(attributes.get("sign_viewer"), True),
        attributes={k: v for k, v in attributes.items() if k not in _VIEW_KNOWN},
    )
