"""Hangman variables: per-request substitution into a parsed spec.

One cached ``Spec`` renders differently per locale, user prefs and module,
so the variables are filled in per request. For example, with the message
``greeting`` = ``Hello, __UP_name__`` and the user pref ``name`` set to
``<Ada>``::

    >>> subs = Substitutions(
    ...     messages={"greeting": "Hello, __UP_name__"},
    ...     user_prefs={"name": "<Ada>"},
    ...     module_id=7,
    ... )
    >>> subs.substitute("__MSG_greeting__ in ___MODULE_ID__ (__BIDI_DIR__)")
    'Hello, &lt;Ada&gt; in _7 (ltr)'

The rules kept from Shindig: one pass over the text; a message value is
expanded once more for ``__UP_``, ``__MODULE_`` and ``__BIDI_`` variables,
but a ``__MSG_`` inside a message is left as it is (no recursion, so a
message cannot blow up); unknown variables stay untouched; and the scanner
moves on one character after a miss, so ``___MODULE_ID__`` still works.

Beyond Shindig, user pref values are escaped for HTML including both
quotes, since they are written into attributes as often as into text.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Callable, Mapping

from .spec import resolve_url
from .spec_model import (
    EnumValue,
    FeatureRequest,
    Icon,
    Link,
    ModulePrefs,
    Preload,
    Spec,
    UserPref,
    View,
)

# A variable runs from "__TYPE_" to the first "__" after it.
_VARIABLE = re.compile(r"__(MSG|UP|MODULE|BIDI)_((?:[^_]|_(?!_))*)__")
_BIDI = {
    "ltr": {
        "START_EDGE": "left",
        "END_EDGE": "right",
        "DIR": "ltr",
        "REVERSE_DIR": "rtl",
    },
    "rtl": {
        "START_EDGE": "right",
        "END_EDGE": "left",
        "DIR": "rtl",
        "REVERSE_DIR": "ltr",
    },
}


class Substitutions:
    """The values for one render: messages, user prefs, module id, direction.

    ``user_prefs`` holds raw values (escaping happens here) and only the
    prefs the spec declares; see ``user_pref_values``.
    """

    def __init__(
        self,
        messages: Mapping[str, str] | None = None,
        user_prefs: Mapping[str, str] | None = None,
        module_id: int = 0,
        direction: str = "ltr",
    ) -> None:
        self.messages = dict(messages or {})
        self.user_prefs = dict(user_prefs or {})
        self.module_id = module_id
        self.direction = "rtl" if direction == "rtl" else "ltr"
        self._expanded_messages: dict[str, str] = {}

    def substitute(self, text: str) -> str:
        """``text`` with every known variable replaced."""
        return self._scan(text, self._lookup)

    def _lookup(self, kind: str, name: str) -> str | None:
        if kind == "MSG":
            return self._message(name)
        return self._plain_lookup(kind, name)

    def _plain_lookup(self, kind: str, name: str) -> str | None:
        """Every variable but messages: what a message value may contain."""
        if kind == "UP":
            value = self.user_prefs.get(name)
            return None if value is None else html.escape(value, quote=True)
        if kind == "MODULE":
            return str(self.module_id) if name == "ID" else None
        return _BIDI[self.direction].get(name)

    def _message(self, name: str) -> str | None:
        if name in self._expanded_messages:
            return self._expanded_messages[name]
        value = self.messages.get(name)
        if value is not None:
            value = self._scan(value, self._plain_lookup)
            self._expanded_messages[name] = value
        return value

    @staticmethod
    def _scan(text: str, lookup: Callable[[str, str], str | None]) -> str:
        if "__" not in text:
            return text
        out: list[str] = []
        copied = position = 0
        while match := _VARIABLE.search(text, position):
            value = lookup(match.group(1), match.group(2))
            if value is None:
                position = match.start() + 1  # "___MODULE_ID__" needs this
                continue
            out += (text[copied : match.start()], value)
            copied = position = match.end()
        out.append(text[copied:])
        return "".join(out)


def user_pref_values(spec: Spec, params: Mapping[str, str]) -> dict[str, str]:
    """Each declared pref's value: ``up_<name>`` from the request, else default."""
    return {
        name: params.get(f"up_{name}", pref.default_value)
        for name, pref in spec.user_prefs.items()
    }


def substitute_spec(spec: Spec, subs: Substitutions) -> Spec:
    """A copy of ``spec`` with the variables filled in where Shindig does.

    Not substituted, as in Shindig: OAuth endpoint URLs (a gadget must not
    steer signed requests with user input) and Locale attributes.
    """
    return dataclasses.replace(
        spec,
        module_prefs=_module_prefs(spec.module_prefs, spec.url, subs.substitute),
        user_prefs={
            name: _user_pref(pref, subs.substitute)
            for name, pref in spec.user_prefs.items()
        },
        views={name: _view(view, subs.substitute) for name, view in spec.views.items()},
    )


_Sub = Callable[[str], str]


def _dict(values: dict[str, str], sub: _Sub) -> dict[str, str]:
    return {key: sub(value) for key, value in values.items()}


def _module_prefs(prefs: ModulePrefs, base: str, sub: _Sub) -> ModulePrefs:
    return dataclasses.replace(
        prefs,
        attributes=_dict(prefs.attributes, sub),
        features=tuple(_feature(feature, sub) for feature in prefs.features),
        preloads=tuple(_preload(preload, base, sub) for preload in prefs.preloads),
        icons=tuple(
            icon
            if "__" not in icon.value
            else Icon(sub(icon.value), icon.mode, icon.type)
            for icon in prefs.icons
        ),
        links={
            link.rel: link
            for link in (_link(x, base, sub) for x in prefs.links.values())
        },
    )


def _feature(feature: FeatureRequest, sub: _Sub) -> FeatureRequest:
    if not feature.params:
        return feature
    params = {name: [sub(v) for v in values] for name, values in feature.params.items()}
    return dataclasses.replace(feature, params=params)


def _resolved(base: str, href: str) -> str:
    try:
        return resolve_url(base, href)
    except ValueError:
        return ""  # as Shindig: an unparsable URI becomes empty


def _preload(preload: Preload, base: str, sub: _Sub) -> Preload:
    return dataclasses.replace(
        preload,
        href=_resolved(base, sub(preload.href)),
        attributes=_dict(preload.attributes, sub),
    )


def _link(link: Link, base: str, sub: _Sub) -> Link:
    if "__" not in link.rel and "__" not in link.href:
        return link
    return Link(sub(link.rel), _resolved(base, sub(link.href)), link.method)


def _user_pref(pref: UserPref, sub: _Sub) -> UserPref:
    return dataclasses.replace(
        pref,
        display_name=sub(pref.display_name),
        default_value=sub(pref.default_value),
        enum_values=tuple(
            EnumValue(enum.value, sub(enum.display_value)) for enum in pref.enum_values
        ),
    )


def _view(view: View, sub: _Sub) -> View:
    return dataclasses.replace(
        view,
        body=sub(view.body),
        href=sub(view.href),
        attributes=_dict(view.attributes, sub),
    )
