"""The parsed form of a gadget spec (the Gadgets XML of iGoogle and Shindig).

These frozen dataclasses are what ``gadgets.spec.parse_spec`` returns and
what rendering, metadata and the OAuth proxy read. They are plain data:
picklable for the cache, comparable in tests, and free of lxml objects.
Attribute names follow the XML (``display_name`` for ``display_name``);
unknown attributes are kept in ``attributes`` dicts, as Shindig keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

AUTHZ_VALUES = ("none", "signed", "oauth", "oauth2")
PARAM_LOCATIONS = ("auth-header", "uri-query", "post-body")
USER_PREF_TYPES = ("string", "hidden", "bool", "enum", "list", "number")


@dataclass(frozen=True)
class FeatureRequest:
    """A ``<Require>`` (required) or ``<Optional>`` feature."""

    name: str
    required: bool
    params: dict[str, list[str]] = field(default_factory=dict)
    views: tuple[str, ...] = ()  # empty: every view


@dataclass(frozen=True)
class Preload:
    href: str
    authz: str = "none"
    sign_owner: bool = True
    sign_viewer: bool = True
    views: tuple[str, ...] = ()
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Icon:
    value: str
    mode: str = ""
    type: str = ""


@dataclass(frozen=True)
class Link:
    rel: str
    href: str
    method: str = "GET"


@dataclass(frozen=True)
class LocaleSpec:
    lang: str = "all"
    country: str = "ALL"
    messages_url: str | None = None
    messages: dict[str, str] = field(default_factory=dict)
    language_direction: str = "ltr"
    views: tuple[str, ...] = ()


@dataclass(frozen=True)
class OAuthEndpoint:
    url: str
    method: str = "GET"
    param_location: str = "auth-header"


@dataclass(frozen=True)
class OAuthService:
    name: str
    request: OAuthEndpoint
    access: OAuthEndpoint
    authorization_url: str


@dataclass(frozen=True)
class EnumValue:
    value: str
    display_value: str


@dataclass(frozen=True)
class UserPref:
    name: str
    display_name: str
    default_value: str = ""
    datatype: str = "string"
    required: bool = False
    enum_values: tuple[EnumValue, ...] = ()
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class View:
    """One view's content; several ``<Content>`` for one name are joined."""

    name: str
    type: str = "html"  # html, url or x-html-sanitized
    body: str = ""
    href: str = ""
    preferred_height: int = 0
    preferred_width: int = 0
    quirks: bool = True
    authz: str = "none"
    sign_owner: bool = True
    sign_viewer: bool = True
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ModulePrefs:
    attributes: dict[str, str] = field(default_factory=dict)
    features: tuple[FeatureRequest, ...] = ()
    preloads: tuple[Preload, ...] = ()
    icons: tuple[Icon, ...] = ()
    links: dict[str, Link] = field(default_factory=dict)
    locales: tuple[LocaleSpec, ...] = ()
    oauth_services: dict[str, OAuthService] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return self.attributes.get("title", "")

    def attr_bool(self, name: str) -> bool:
        return self.attributes.get(name, "").strip().lower() == "true"

    def attr_int(self, name: str) -> int:
        try:
            return int(self.attributes.get(name, "0"))
        except ValueError:
            return 0


@dataclass(frozen=True)
class Spec:
    url: str  # canonical spec URL
    module_prefs: ModulePrefs
    user_prefs: dict[str, UserPref] = field(default_factory=dict)  # in order
    views: dict[str, View] = field(default_factory=dict)  # in order
    specification_version: str = "1.0"
    checksum: str = ""  # SHA-256 of the source XML

    @property
    def title(self) -> str:
        return self.module_prefs.title

    def features_for(self, view: str | None) -> list[FeatureRequest]:
        """Feature requests that apply to ``view`` (all views when None)."""
        return [
            feature
            for feature in self.module_prefs.features
            if not feature.views or view is None or view in feature.views
        ]
