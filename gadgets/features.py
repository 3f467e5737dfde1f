"""The gadget JavaScript features: what each feature serves and needs.

A gadget names the APIs it uses in its spec (``<Require
feature="dynamic-height"/>``). This module turns those names into an ordered
list of features, every dependency before its dependents, and serves the
JavaScript for such a list. A worked example::

    >>> resolve_names(["dynamic-height"])
    ['globals', 'core.config', 'core.json', 'core.log', 'core.util',
     'shindig.auth', 'core.prefs', 'core.io', 'core.legacy', 'core', 'rpc',
     'dynamic-height']

``core`` is added implicitly, as in Shindig, unless every requested feature
runs on the container's page (``container``), where the gadget-side
``core.legacy`` globals have no business. Version aliases
(``opensocial-0.8`` and friends) map to one minimal ``opensocial`` feature:
core plus an ``opensocial`` namespace whose ``getEnvironment()`` answers and
whose ``hasPermission()`` is always false; this container has no social API.

The rendered gadget page loads the script from the container's origin
(``script_url``), so a browser caches it once for every gadget, then passes
each feature its settings with ``gadgets.config.init(feature_config(...))``.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from .errors import UnsupportedFeature
from .spec_model import FeatureRequest

JS_DIR = Path(__file__).resolve().parent / "js"


@dataclass(frozen=True)
class Feature:
    name: str
    files: tuple[str, ...] = ()
    deps: tuple[str, ...] = ()
    # True for features meant for the container's page, not a gadget's.
    container_side: bool = False


_BASE = ("globals", "core.config", "core.json", "core.log", "core.util")

FEATURES: dict[str, Feature] = {
    f.name: f
    for f in (
        Feature("globals", ("globals.js",)),
        Feature("core.config", ("config.js",), ("globals",)),
        Feature("core.json", ("json.js",), ("globals",)),
        Feature("core.log", ("log.js",), ("globals",)),
        Feature("core.util", ("util.js",), ("core.config", "core.json")),
        Feature("shindig.auth", ("auth.js",), ("core.util",)),
        Feature("core.prefs", ("prefs.js",), ("core.util",)),
        Feature("core.io", ("io.js",), ("core.util", "shindig.auth", "core.log")),
        Feature("core.legacy", ("legacy.js",), ("core.prefs", "core.io")),
        Feature(
            "core", (), (*_BASE, "shindig.auth", "core.prefs", "core.io", "core.legacy")
        ),
        Feature("rpc", ("rpc.js",), _BASE),
        Feature("views", ("views.js",), ("core", "rpc")),
        Feature("dynamic-height", ("dynamic-height.js",), ("core", "rpc")),
        Feature("settitle", ("settitle.js",), ("core", "rpc")),
        Feature("setprefs", ("setprefs.js",), ("core", "rpc")),
        Feature("minimessage", ("minimessage.js",), ("core",)),
        Feature("tabs", ("tabs.js",), ("core",)),
        Feature("oauthpopup", ("oauthpopup.js",), ("core",)),
        Feature("security-token", (), ("shindig.auth",)),
        Feature("locked-domain", (), ()),
        Feature("analytics", ("analytics.js",), ("core",)),
        Feature("opensocial", ("opensocial.js",), ("core",)),
        Feature("container", ("container.js",), ("rpc",), container_side=True),
    )
}

ALIASES: dict[str, str] = {
    "opensocial-0.7": "opensocial",
    "opensocial-0.8": "opensocial",
    "opensocial-0.9": "opensocial",
    "opensocial-1.0": "opensocial",
    "opensocial-2.0": "opensocial",
    "opensocial-2.5": "opensocial",
    "dynamic-height.height": "dynamic-height",
    "dynamic-size.util": "dynamic-height",
    "core.util.base": "core.util",
    "core.util.dom": "core.util",
    "core.util.event": "core.util",
    "core.util.onload": "core.util",
    "core.util.string": "core.util",
    "core.util.urlparams": "core.util",
    "core.config.base": "core.config",
    "com.google.gadgets.analytics": "analytics",
}

# Server-side view fallback: when a spec has no <Content> for the requested
# view, try these names in order (Shindig's container.js aliases, plus
# home -> default because iGoogle's "home" is what specs call "default").
# Callers fall back to "default" last of all.
VIEW_ALIASES: dict[str, list[str]] = {
    "default": ["home", "profile", "canvas"],
    "home": ["default"],
    "profile": ["DASHBOARD", "default"],
    "canvas": ["FULL_PAGE"],
}

_ONLY_VISIBLE_VIEWS = {"canvas"}

UNPARSEABLE_CRUFT = "throw 1; < don't be evil' >"

# Class names match what tabs.js and minimessage.js build.
TABS_CSS = [
    ".tablib_table {width: 100%; border-collapse: separate; border-spacing: 0;"
    " empty-cells: show; font-size: 11px; text-align: center;}",
    ".tablib_emptyTab {border-bottom: 1px solid #676767; padding: 0 1px;}",
    ".tablib_spacerTab {border-bottom: 1px solid #676767; padding: 0; width: 1px;}",
    ".tablib_selected {padding: 2px 8px; background-color: #fff;"
    " border: 1px solid #676767; border-bottom-width: 0; color: #3366cc;"
    " font-weight: bold; width: 80px; cursor: default;}",
    ".tablib_unselected {padding: 2px 8px; background-color: #dde6f2;"
    " border: 1px solid #aaa; border-bottom: 1px solid #676767; color: #36c;"
    " width: 80px; cursor: pointer;}",
    ".tablib_navContainer {width: 10px; vertical-align: middle;}",
    ".tablib_navContainer a:link, .tablib_navContainer a:visited,"
    " .tablib_navContainer a:hover {color: #3366aa; text-decoration: none;}",
]

MINIMESSAGE_CSS = [
    ".mmlib_table {width: 100%; font: bold 9px arial, sans-serif;"
    " background-color: #fff4c2; border-collapse: separate; border-spacing: 0;"
    " padding: 1px 0;}",
    ".mmlib_xlink {font: normal 1.1em arial, sans-serif; font-weight: bold;"
    " color: #0000cc; cursor: pointer;}",
]


def resolve(requests: Iterable[FeatureRequest], view: str | None) -> list[str]:
    """The features a gadget needs for ``view``, dependencies first.

    Requests limited to other views are skipped; with ``view`` None every
    request counts. Unknown required features raise ``UnsupportedFeature``;
    unknown optional ones are dropped.
    """
    names = []
    for request in requests:
        if view is not None and request.views and view not in request.views:
            continue
        name = ALIASES.get(request.name, request.name)
        if name in FEATURES:
            names.append(name)
        elif request.required:
            raise _unsupported(request.name)
    return _ordered(names)


def resolve_names(names: Iterable[str]) -> list[str]:
    """Like ``resolve`` for plain names, each of them required."""
    requests = (FeatureRequest(name=name, required=True) for name in names)
    return resolve(requests, None)


def _unsupported(name: str) -> UnsupportedFeature:
    return UnsupportedFeature(
        f"This gadget requires the feature '{name}', "
        "which this container does not provide."
    )


def _ordered(names: list[str]) -> list[str]:
    if not names or not all(FEATURES[n].container_side for n in names):
        names = ["core", *names]
    ordered: list[str] = []
    for name in names:
        _visit(name, ordered)
    return ordered


def _visit(name: str, ordered: list[str]) -> None:
    if name in ordered:
        return
    for dep in FEATURES[name].deps:
        _visit(dep, ordered)
    ordered.append(name)


@functools.cache
def _source(filename: str) -> str:
    return (JS_DIR / filename).read_text(encoding="utf-8")


@functools.cache
def version() -> str:
    """A short checksum over every feature's JavaScript (cache buster)."""
    digest = hashlib.sha256()
    for feature in FEATURES.values():
        for filename in feature.files:
            digest.update(filename.encode() + b"\0" + _source(filename).encode())
    return digest.hexdigest()[:12]


def script_url(features: list[str], *, debug: bool = False) -> str:
    """Absolute URL of the feature script on the container's origin."""
    url = f"{settings.CONTAINER_ORIGIN}/gadgets/js/{':'.join(features)}.js"
    url += f"?v={version()}"
    return url + "&debug=1" if debug else url


def javascript(features: list[str], *, debug: bool = False) -> str:
    """The concatenated JavaScript of ``features``, in the order given."""
    return _javascript(tuple(features), debug)


@functools.lru_cache(maxsize=256)
def _javascript(features: tuple[str, ...], debug: bool) -> str:
    parts = []
    for name in features:
        for filename in FEATURES[name].files:
            source = _source(filename)
            if debug:
                parts.append(f"/* feature {name}: {filename} */\n{source}")
            else:
                parts.append(_compact(source))
    return "\n".join(parts) + "\n"


# One whole /* ... */ comment standing alone on its lines.
_BLOCK_COMMENT = re.compile(
    r"^[ \t]*/\*[^*]*\*+(?:[^/*][^*]*\*+)*/[ \t]*$", re.MULTILINE
)
_LINE_COMMENT = re.compile(r"^[ \t]*//.*$", re.MULTILINE)
_INDENT = re.compile(r"^[ \t]+", re.MULTILINE)
_BLANK_LINES = re.compile(r"\n\s*\n+")


def _compact(source: str) -> str:
    # Only whole-line comments go, so string literals are never touched.
    source = _BLOCK_COMMENT.sub("", source)
    source = _LINE_COMMENT.sub("", source)
    source = _INDENT.sub("", source)
    return _BLANK_LINES.sub("\n", source).strip()


def feature_config(
    features: list[str], *, gadget_origin: str, container: str
) -> dict[str, object]:
    """Per-feature settings for ``gadgets.config.init`` in a rendered gadget.

    The renderer adds ``core.util`` (declared features and their params).
    """
    config: dict[str, object] = {}
    if "core.io" in features:
        config["core.io"] = _io_config(gadget_origin, container)
    if "views" in features:
        config["views"] = _views_config()
    if "rpc" in features:
        # Gadgets talk to the container's page and to nothing else.
        config["rpc"] = {"parentOrigins": [settings.CONTAINER_ORIGIN]}
    if "tabs" in features:
        config["tabs"] = {"css": TABS_CSS}
    if "minimessage" in features:
        config["minimessage"] = {"css": MINIMESSAGE_CSS}
    return config


def _io_config(gadget_origin: str, container: str) -> dict[str, object]:
    # makeRequest is same-origin: it must run on the gadget's locked host.
    # This server has no content proxy (an open proxy must never answer on
    # a gadget's host), so getProxyUrl and _IG_GetImageUrl hand back the URL
    # itself and the browser fetches it directly.
    return {
        "jsonProxyUrl": "/gadgets/makeRequest",
        "proxyUrl": "%rawurl%",
        "unparseableCruft": UNPARSEABLE_CRUFT,
        "container": container,
    }


def _views_config() -> dict[str, object]:
    return {
        name: {"isOnlyVisible": name in _ONLY_VISIBLE_VIEWS, "aliases": aliases}
        for name, aliases in VIEW_ALIASES.items()
    }
