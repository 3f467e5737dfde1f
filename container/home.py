"""What people do to their home page, as plain functions.

Views, admin actions and commands all call these, so every way of adding,
moving or editing a gadget follows the same rules: specs are fetched and
validated before anything is written, several rows change in one
transaction, and only user prefs the spec declares are ever stored.

Two people are involved in every page: the *owner* whose page it is and the
*viewer* who looks at it. Today they are always the same person, but the
functions keep them apart (the security token carries both) so that viewing
someone else's page later changes the views, not this module.

Positions are kept dense: after any change each column's gadgets are
numbered 0, 1, 2... again, in one transaction, so "move up" and "move to
position 2" always mean what they say.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from gadgets import messages, substitution
from gadgets.errors import InvalidParameter
from gadgets.iframe_url import Locale
from gadgets.locked_domain import canonical_gadget_url
from gadgets.metadata import GadgetRequest, MetadataContext, gadget_metadata
from gadgets.spec_model import Spec
from gadgets.specfetch import get_spec, get_spec_sync
from oauthproxy import lifecycle
from oauthproxy.models import AccessToken, AuditEvent

from .forms import MAX_PREF_CHARS, visible_prefs
from .models import GalleryEntry, InstalledGadget

logger = logging.getLogger(__name__)

COLUMN_COUNT = 3
DEFAULT_HEIGHT_PX = 200
HOME_VIEW = "home"
CANVAS_VIEW = "canvas"
DIRECTIONS = ("up", "down", "left", "right")
# Frozen, so one shared default is safe: the bundle every gadget falls back on.
ANY_LOCALE = Locale()
_LANGUAGE_TAG = re.compile(
    r"^(?P<lang>[A-Za-z]{2,3})(?:[-_](?P<country>[A-Za-z]{2}))?$"
)


def person_id(user: User) -> str:
    """The id written into security tokens as owner or viewer."""
    return user.get_username()


# --------------------------------------------------------------------------
# Adding and removing


def add_gadget(owner: User, url: str) -> InstalledGadget:
    """Fetch and validate the spec at ``url``, then put it top left.

    Raises a ``GadgetError`` with a sentence for a bad URL or a broken or
    unreachable spec; nothing is written then.
    """
    spec = get_spec_sync(canonical_gadget_url(url))
    gadget = _install(owner, spec)
    remember_title(gadget, localised_spec(gadget).title)
    return gadget


def add_parsed_gadget(owner: User, spec: Spec) -> InstalledGadget:
    """Put an already parsed spec top left (the demo's seeding, which runs
    before the server that would serve the spec is up)."""
    return _install(owner, spec)


def add_from_gallery(owner: User, entry: GalleryEntry) -> InstalledGadget:
    return add_gadget(owner, entry.spec_url)


@transaction.atomic
def _install(owner: User, spec: Spec) -> InstalledGadget:
    # Lock the owner's row so two concurrent adds cannot pick the same id.
    users = get_user_model().objects.select_for_update()
    users.filter(pk=owner.pk).values_list("pk", flat=True).first()
    mine = InstalledGadget.objects.filter(owner=owner)
    highest = mine.aggregate(highest=Max("module_id"))["highest"] or 0
    mine.filter(column=0).update(position=F("position") + 1)
    gadget = InstalledGadget.objects.create(
        owner=owner,
        spec_url=spec.url,
        module_id=highest + 1,
        column=0,
        position=0,
        title=spec.title[:200],
    )
    logger.info("gadget installed id=%s module_id=%s", gadget.pk, gadget.module_id)
    return gadget


@transaction.atomic
def remove_gadget(gadget: InstalledGadget) -> None:
    """Delete the instance and its access tokens, then close the gap."""
    owner_id = gadget.owner_id
    _delete_tokens(gadget)
    gadget.delete()
    _normalise([*InstalledGadget.objects.select_for_update().filter(owner_id=owner_id)])


def _delete_tokens(gadget: InstalledGadget) -> None:
    # Tokens are keyed by module id, and a later instance may get this id
    # again: it must start without the removed instance's access.
    viewer = person_id(gadget.owner)
    tokens = AccessToken.objects.filter(
        viewer=viewer, gadget_url=gadget.spec_url, module_id=gadget.module_id
    )
    for token in tokens:
        lifecycle.retire_token(token, reason="gadget removed")


def needs_settings_first(gadget: InstalledGadget) -> bool:
    """Whether a required pref has no value yet (iGoogle asked at once)."""
    spec = load_spec(gadget)
    values = pref_values(gadget, spec)
    required = [pref for pref in visible_prefs(spec.user_prefs) if pref.required]
    return any(not values[pref.name] for pref in required)


# --------------------------------------------------------------------------
# Moving


def move_gadget(gadget: InstalledGadget, column: int, position: int) -> None:
    """Put ``gadget`` at ``position`` in ``column`` (both clamped)."""
    with transaction.atomic():
        mine = InstalledGadget.objects.select_for_update().filter(
            owner_id=gadget.owner_id
        )
        columns = _columns([g for g in mine if g.pk != gadget.pk])
        column = min(max(column, 0), COLUMN_COUNT - 1)
        position = min(max(position, 0), len(columns[column]))
        columns[column].insert(position, gadget)
        _save_positions(columns)


def step_gadget(gadget: InstalledGadget, direction: str) -> None:
    """Move one step: up or down in its column, or to the next column."""
    if direction not in DIRECTIONS:
        raise InvalidParameter(
            f"The direction must be one of {', '.join(DIRECTIONS)}, "
            f"not {direction[:20]!r}."
        )
    column = min(gadget.column, COLUMN_COUNT - 1)
    position = gadget.position
    if direction == "up":
        position -= 1
    elif direction == "down":
        position += 1
    else:
        column += -1 if direction == "left" else 1
    move_gadget(gadget, column, position)


def _columns(gadgets: list[InstalledGadget]) -> list[list[InstalledGadget]]:
    columns: list[list[InstalledGadget]] = [[] for _ in range(COLUMN_COUNT)]
    ordered = sorted(gadgets, key=lambda g: (g.column, g.position, g.pk))
    for gadget in ordered:
        columns[min(gadget.column, COLUMN_COUNT - 1)].append(gadget)
    return columns


def _normalise(gadgets: list[InstalledGadget]) -> None:
    _save_positions(_columns(gadgets))


def _save_positions(columns: list[list[InstalledGadget]]) -> None:
    changed = []
    for column, gadgets in enumerate(columns):
        for position, gadget in enumerate(gadgets):
            if (gadget.column, gadget.position) != (column, position):
                gadget.column, gadget.position = column, position
                changed.append(gadget)
    InstalledGadget.objects.bulk_update(changed, ["column", "position"])


def set_minimised(gadget: InstalledGadget, is_minimised: bool) -> None:
    gadget.is_minimised = is_minimised
    gadget.save(update_fields=["is_minimised", "updated"])


# --------------------------------------------------------------------------
# User prefs


def pref_values(gadget: InstalledGadget, spec: Spec) -> dict[str, str]:
    """Every declared pref: the saved value, else the spec's default."""
    saved = gadget.prefs if isinstance(gadget.prefs, dict) else {}
    return {
        name: str(saved.get(name, pref.default_value))
        for name, pref in spec.user_prefs.items()
    }


def save_prefs(gadget: InstalledGadget, spec: Spec, values: Mapping[str, str]) -> None:
    """Store the settings form's values (only prefs the spec declares)."""
    declared = {n: str(v) for n, v in values.items() if n in spec.user_prefs}
    gadget.prefs = {**_declared_saved(gadget, spec), **declared}
    gadget.save(update_fields=["prefs", "updated"])


def set_prefs_from_gadget(
    gadget: InstalledGadget, spec: Spec, values: Mapping[str, Any]
) -> dict[str, str]:
    """Store what the gadget set with ``gadgets.Prefs.set`` (set_pref rpc).

    Hidden prefs are allowed here (that is what they are for); a name the
    spec does not declare, or a value that is not a short string, refuses
    the whole update.
    """
    for name, value in values.items():
        if name not in spec.user_prefs:
            raise InvalidParameter(
                f"The gadget declares no user pref named {name[:60]!r}."
            )
        if (
            not isinstance(value, str | int | float | bool)
            or len(str(value)) > MAX_PREF_CHARS
        ):
            raise InvalidParameter(
                f"The value of the user pref {name!r} must be a string of at most "
                f"{MAX_PREF_CHARS} characters."
            )
    save_prefs(gadget, spec, {name: _pref_text(v) for name, v in values.items()})
    return pref_values(gadget, spec)


def _pref_text(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _declared_saved(gadget: InstalledGadget, spec: Spec) -> dict[str, str]:
    saved = gadget.prefs if isinstance(gadget.prefs, dict) else {}
    return {n: str(v) for n, v in saved.items() if n in spec.user_prefs}


# --------------------------------------------------------------------------
# Rendering the page


@dataclass
class Tile:
    """One gadget as the page shows it: chrome, iframe, or an error."""

    gadget: InstalledGadget
    title: str
    title_url: str = ""
    iframe_src: str = ""
    origin: str = ""
    rpctoken: str = ""
    height_px: int = DEFAULT_HEIGHT_PX
    error: str = ""
    has_settings: bool = False
    has_canvas: bool = False
    view: str = HOME_VIEW

    @property
    def iframe_id(self) -> str:
        return f"remote_iframe_{self.gadget.module_id}"


@dataclass
class Page:
    columns: list[list[Tile]] = field(default_factory=list)

    @property
    def tiles(self) -> list[Tile]:
        return [tile for column in self.columns for tile in column]

    def frame_origins(self) -> list[str]:
        return sorted({tile.origin for tile in self.tiles if tile.origin})


def home_page(
    owner: User,
    viewer: User,
    *,
    view_params: Mapping[int, dict[str, Any]] | None = None,
    locale: Locale = ANY_LOCALE,
) -> Page:
    """The owner's gadgets in columns, each with a fresh iframe URL.

    Iframe URLs, security tokens and localised titles come from the gadget
    server's metadata function; specs come from its cache (no fetch when
    warm), cold ones concurrently. ``view_params`` maps a gadget id to the
    params it passed to ``requestNavigateTo`` on its way back from canvas.
    """
    columns = _columns(list(InstalledGadget.objects.filter(owner=owner)))
    gadgets = [gadget for column in columns for gadget in column]
    params = view_params or {}
    tiles = {}
    for tile in describe(gadgets, owner, viewer, HOME_VIEW, locale):
        if tile.gadget.pk in params and tile.iframe_src:
            tile.iframe_src = with_view_params(tile.iframe_src, params[tile.gadget.pk])
        if not tile.error:
            remember_title(tile.gadget, tile.title)
        tiles[tile.gadget.pk] = tile
    return Page([[tiles[gadget.pk] for gadget in column] for column in columns])


def remember_title(gadget: InstalledGadget, title: str) -> None:
    """Keep the last title seen, for when the spec cannot be loaded."""
    title = html.unescape(title).strip()[:200]
    if title and title != gadget.title:
        gadget.title = title
        InstalledGadget.objects.filter(pk=gadget.pk).update(title=title)


def canvas_tile(
    gadget: InstalledGadget,
    viewer: User,
    view_params: dict[str, Any] | None = None,
    locale: Locale = ANY_LOCALE,
) -> Tile:
    """The gadget in its canvas view (Shindig's fallbacks apply)."""
    [tile] = describe([gadget], gadget.owner, viewer, CANVAS_VIEW, locale)
    if view_params and tile.iframe_src:
        tile.iframe_src = with_view_params(tile.iframe_src, view_params)
    return tile


def describe(
    gadgets: list[InstalledGadget],
    owner: User,
    viewer: User,
    view: str,
    locale: Locale = ANY_LOCALE,
) -> list[Tile]:
    """A tile per gadget, from one call to the gadget server's metadata."""
    requests = [
        GadgetRequest(url=g.spec_url, module_id=g.module_id, prefs=_saved(g))
        for g in gadgets
    ]
    entries = async_to_sync(gadget_metadata)(
        requests,
        owner=person_id(owner),
        viewer=person_id(viewer),
        context=MetadataContext(
            view=view, language=locale.lang, country=locale.country
        ),
    )
    return [
        tile_from_metadata(gadget, entry, view)
        for gadget, entry in zip(gadgets, entries, strict=True)
    ]


def tile_from_metadata(
    gadget: InstalledGadget, entry: Mapping[str, Any], view: str
) -> Tile:
    """The chrome of one gadget from its metadata entry (or its errors)."""
    if entry.get("errors"):
        message = " ".join(str(e) for e in entry["errors"])
        return Tile(gadget, gadget.title or gadget.spec_url, error=message, view=view)
    src = str(entry["iframeUrl"])
    views: dict[str, Any] = entry.get("views") or {}
    prefs: dict[str, Any] = entry.get("userPrefs") or {}
    shown = views.get(view) or views.get("default") or {}
    # Titles come back HTML-escaped where a pref was substituted; the
    # template escapes once more, so unescape first to avoid "&amp;lt;".
    title = html.unescape(str(entry.get("title") or "")).strip()
    return Tile(
        gadget,
        title=title or gadget.title or "Untitled gadget",
        title_url=_safe_link(str(entry.get("titleUrl") or "")),
        iframe_src=src,
        origin=_origin(src),
        rpctoken=parse_qs(urlsplit(src).fragment).get("rpctoken", [""])[0],
        height_px=int(shown.get("preferredHeight") or entry.get("height") or 0)
        or DEFAULT_HEIGHT_PX,
        has_settings=any(p.get("type") != "hidden" for p in prefs.values()),
        has_canvas=CANVAS_VIEW in views,
        view=view,
    )


def locale_from_header(accept_language: str) -> Locale:
    """The reader's first language, ``de-AT`` -> ``Locale("de", "AT")``.

    Gadgets pick their message bundle by it; anything unusual means
    ``all``/``ALL``, the bundle every gadget may fall back on.
    """
    first = accept_language.split(",", 1)[0].split(";", 1)[0].strip()
    match = _LANGUAGE_TAG.match(first)
    if not match:
        return ANY_LOCALE
    return Locale(match["lang"].lower(), (match["country"] or "ALL").upper())


def with_view_params(src: str, params: Mapping[str, Any]) -> str:
    """Add ``view-params`` to the iframe URL's fragment, as Shindig does."""
    encoded = urlencode({"view-params": json.dumps(params, separators=(",", ":"))})
    return f"{src}&{encoded}" if "#" in src else f"{src}#{encoded}"


def _saved(gadget: InstalledGadget) -> dict[str, str]:
    saved = gadget.prefs if isinstance(gadget.prefs, dict) else {}
    return {str(name): str(value) for name, value in saved.items()}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return (
        f"{parts.scheme}://{parts.netloc}" if parts.scheme in {"http", "https"} else ""
    )


def _safe_link(url: str) -> str:
    # Only web links: a javascript: URL from a spec must never be clickable.
    return url if url.lower().startswith(("http://", "https://")) else ""


def load_spec(gadget: InstalledGadget) -> Spec:
    """The gadget's parsed spec, from the cache when warm."""
    return get_spec_sync(gadget.spec_url)


def localised_spec(gadget: InstalledGadget, locale: Locale = ANY_LOCALE) -> Spec:
    """The spec with messages and prefs filled in, for labels people read."""
    return async_to_sync(_localised_spec)(gadget, locale)


async def _localised_spec(gadget: InstalledGadget, locale: Locale) -> Spec:
    spec = await get_spec(gadget.spec_url)
    bundle = await messages.message_bundle(spec, locale.lang, locale.country, None)
    subs = substitution.Substitutions(
        bundle.messages, pref_values(gadget, spec), gadget.module_id, bundle.direction
    )
    return substitution.substitute_spec(spec, subs)


def layout(owner: User) -> list[list[int]]:
    """The owner's gadget ids, column by column, in order."""
    columns = _columns(list(InstalledGadget.objects.filter(owner=owner)))
    return [[gadget.pk for gadget in column] for column in columns]


# --------------------------------------------------------------------------
# The gallery


def gallery_entries() -> list[GalleryEntry]:
    return list(GalleryEntry.objects.filter(is_listed=True))


def screenshot_origins(entries: list[GalleryEntry]) -> list[str]:
    """Where the gallery's screenshots load from (for the page's CSP)."""
    return sorted({_origin(e.screenshot_url) for e in entries} - {""})


def fill_gallery_entry_from_spec(entry: GalleryEntry) -> GalleryEntry:
    """Copy title, description, screenshot and author from the spec."""
    # An unsaved instance with default prefs, to fill in the title's variables.
    sample = InstalledGadget(spec_url=canonical_gadget_url(entry.spec_url), module_id=0)
    spec = localised_spec(sample)
    attributes = spec.module_prefs.attributes
    title = html.unescape(attributes.get("directory_title") or spec.title)
    entry.spec_url = spec.url
    entry.title = title[:200]
    entry.description = attributes.get("description", "")
    # A relative screenshot is relative to the spec, as Shindig resolves it.
    screenshot = attributes.get("screenshot", "").strip()
    entry.screenshot_url = (
        _safe_link(urljoin(spec.url, screenshot))[:2048] if screenshot else ""
    )
    entry.author = attributes.get("author", "")[:200]
    entry.save()
    return entry


# --------------------------------------------------------------------------
# Connected services (OAuth access tokens)


@dataclass(frozen=True)
class ConnectedService:
    """One stored access token, as the "Connected services" page lists it."""

    token_id: int
    gadget_title: str
    gadget_url: str
    module_id: int
    service_name: str
    created: datetime
    last_used: datetime | None
    is_revoked: bool


def connected_services(user: User) -> list[ConnectedService]:
    """The user's stored OAuth access tokens (as viewer), newest first."""
    tokens = AccessToken.objects.filter(viewer=person_id(user)).order_by(
        "-created_at", "-pk"
    )
    titles = {
        (g.spec_url, g.module_id): g.title
        for g in InstalledGadget.objects.filter(owner=user)
    }
    return [
        ConnectedService(
            token_id=token.pk,
            gadget_title=titles.get((token.gadget_url, token.module_id), ""),
            gadget_url=token.gadget_url,
            module_id=token.module_id,
            service_name=token.service_name,
            created=token.created_at,
            last_used=token.last_used_at,
            is_revoked=token.revoked,
        )
        for token in tokens
    ]


@dataclass
class EndedService:
    """A connection that ended recently, and why, for the same page."""

    gadget_url: str
    service_name: str
    reason: str
    ended: datetime


ENDED_SHOWN_DAYS = 30


def ended_services(user: User, limit: int = 10) -> list[EndedService]:
    """The user's connections that ended lately: disconnected by them,
    refused a refresh, or found revoked by the provider."""
    since = timezone.now() - timedelta(days=ENDED_SHOWN_DAYS)
    events = AuditEvent.objects.filter(
        kind="token_deleted", actor=person_id(user), created_at__gte=since
    ).order_by("-created_at", "-pk")[:limit]
    return [
        EndedService(
            gadget_url=event.gadget_url,
            service_name=event.service_name,
            reason=str(event.details.get("reason", "")),
            ended=event.created_at,
        )
        for event in events
    ]


@transaction.atomic
def disconnect_service(user: User, token_id: int) -> bool:
    """Delete one of the user's access tokens at once; False if not theirs.

    The deletion is audited (ids and names only, never the token).
    """
    viewer = person_id(user)
    token = AccessToken.objects.filter(pk=token_id, viewer=viewer).first()
    if token is None:
        return False
    lifecycle.retire_token(token, reason="disconnected by the user")
    return True
