"""Hangman variables: __MSG_, __UP_, __MODULE_ID__ and __BIDI_."""

from __future__ import annotations

import time
from typing import Any

import pytest

from gadgets.spec import parse_spec
from gadgets.substitution import Substitutions, substitute_spec, user_pref_values
from gadgets.tests.specs import RICH_SPEC_URL, load


def subs(**kwargs: Any) -> Substitutions:
    return Substitutions(**kwargs)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no variables", "no variables"),
        ("__MSG_hi__", "Hello"),
        ("a __MSG_hi__ b __MSG_hi__", "a Hello b Hello"),
        ("__UP_name__", "Ada"),
        ("__MODULE_ID__", "42"),
        ("___MODULE_ID__", "_42"),
        ("____MODULE_ID__", "__42"),
        ("__MSG_missing__", "__MSG_missing__"),
        ("__UP_undeclared__", "__UP_undeclared__"),
        ("__ENV_x__ __FOO_bar__", "__ENV_x__ __FOO_bar__"),
        ("__MODULE_NAME__", "__MODULE_NAME__"),
        ("__BIDI_UNKNOWN__", "__BIDI_UNKNOWN__"),
        ("__MSG_missing__MODULE_ID__", "__MSG_missing42"),
        ("__MSG_hello_world__", "underscored"),
        ("__UP_name____MODULE_ID__", "Ada42"),
        ("__MSG_a__ text __", "__MSG_a__ text __"),
        ("__", "__"),
        ("__MSG_", "__MSG_"),
    ],
)
def test_variables_are_replaced_in_one_pass(text: str, expected: str) -> None:
    values = subs(
        messages={"hi": "Hello", "hello_world": "underscored"},
        user_prefs={"name": "Ada"},
        module_id=42,
    )
    assert values.substitute(text) == expected


def test_user_pref_values_are_html_escaped_including_quotes() -> None:
    values = subs(user_prefs={"x": "<script>\"'&"})
    assert values.substitute("__UP_x__") == "&lt;script&gt;&quot;&#x27;&amp;"
    assert values.substitute("<a title='__UP_x__'>") == (
        "<a title='&lt;script&gt;&quot;&#x27;&amp;'>"
    )


def test_messages_are_not_escaped() -> None:
    assert subs(messages={"m": "<b>bold</b>"}).substitute("__MSG_m__") == "<b>bold</b>"


def test_message_is_expanded_once_for_up_module_and_bidi_but_not_msg() -> None:
    values = subs(
        messages={
            "greet": "Hi __UP_name__ in __MODULE_ID__ at __BIDI_START_EDGE__",
            "loop": "__MSG_loop__",
            "other": "__MSG_greet__",
        },
        user_prefs={"name": "<Ada>"},
        module_id=3,
    )
    assert values.substitute("__MSG_greet__") == "Hi &lt;Ada&gt; in 3 at left"
    assert values.substitute("__MSG_loop__") == "__MSG_loop__"
    assert values.substitute("__MSG_other__") == "__MSG_greet__"


def test_user_pref_value_is_not_expanded_again() -> None:
    values = subs(messages={"m": "x"}, user_prefs={"p": "__MSG_m__"}, module_id=1)
    assert values.substitute("__UP_p__") == "__MSG_m__"


@pytest.mark.parametrize(
    ("direction", "expected"),
    [("ltr", "left right ltr rtl"), ("rtl", "right left rtl ltr")],
)
def test_bidi_variables_swap_for_rtl(direction: str, expected: str) -> None:
    text = "__BIDI_START_EDGE__ __BIDI_END_EDGE__ __BIDI_DIR__ __BIDI_REVERSE_DIR__"
    assert subs(direction=direction).substitute(text) == expected


def test_module_id_defaults_to_zero() -> None:
    assert subs().substitute("__MODULE_ID__") == "0"


def test_user_pref_values_come_from_the_request_else_the_default() -> None:
    spec = parse_spec(load("rich.xml"), RICH_SPEC_URL)
    values = user_pref_values(spec, {"up_name": "Grace", "up_bogus": "x"})
    assert values["name"] == "Grace"
    assert values["color"] == "red"
    assert values["selectedTab"] == ""
    assert "bogus" not in values


def test_substitute_spec_fills_every_listed_place() -> None:
    spec = parse_spec(load("rich.xml"), RICH_SPEC_URL)
    values = Substitutions(
        messages={"title": "Contacts", "mode": "wide", "hello": "Hi __UP_name__"},
        user_prefs=user_pref_values(spec, {"up_name": "a&b"}),
        module_id=9,
        direction="rtl",
    )
    done = substitute_spec(spec, values)
    prefs = done.module_prefs
    assert prefs.title == "Contacts for a&amp;b"
    assert [f.params for f in prefs.features if f.name == "views"] == [
        {"mode": ["wide"]}
    ]
    assert prefs.preloads[1].href == "http://api.example.com/a&amp;b/data"
    assert done.user_prefs["name"].display_name == "Contacts name"
    assert done.views["home"].body == (
        '\n<div id="hello">Hi a&amp;b</div><p>module 9</p>'
    )
    assert done.views["home"].attributes == {"data-extra": "9"}
    assert done.views["canvas"].href.endswith("canvas?u=a&amp;b")


def test_substitute_spec_resolves_a_relative_preload_after_substitution() -> None:
    spec = parse_spec(
        '<Module><ModulePrefs><Preload href="__UP_feed__"/>'
        '<Link rel="r" href="__UP_feed__/help"/></ModulePrefs>'
        '<UserPref name="feed" default_value="feeds/a.xml"/><Content/></Module>',
        "http://example.com/dir/g.xml",
    )
    values = Substitutions(user_prefs=user_pref_values(spec, {}))
    done = substitute_spec(spec, values)
    assert done.module_prefs.preloads[0].href == "http://example.com/dir/feeds/a.xml"
    assert done.module_prefs.links["r"].href == (
        "http://example.com/dir/feeds/a.xml/help"
    )


def test_substitute_spec_leaves_oauth_urls_and_locales_alone() -> None:
    spec = parse_spec(
        '<Module><ModulePrefs><Locale lang="de"><msg name="m">__UP_p__</msg>'
        '</Locale><OAuth><Service name="s"><Request url="http://a/__UP_p__"/>'
        '<Access url="http://a/a"/><Authorization url="http://a/z"/></Service>'
        '</OAuth></ModulePrefs><UserPref name="p" default_value="v"/>'
        "<Content/></Module>",
        "http://example.com/g.xml",
    )
    done = substitute_spec(spec, Substitutions(user_prefs={"p": "v"}))
    assert done.module_prefs.oauth_services == spec.module_prefs.oauth_services
    assert done.module_prefs.locales == spec.module_prefs.locales


def test_substitute_spec_does_not_change_the_cached_spec() -> None:
    spec = parse_spec(load("rich.xml"), RICH_SPEC_URL)
    before = repr(spec)
    substitute_spec(spec, Substitutions(user_prefs={"name": "x"}, module_id=1))
    assert repr(spec) == before


def test_substitution_is_fast_enough_for_every_render() -> None:
    spec = parse_spec(load("rich.xml"), RICH_SPEC_URL)
    values = Substitutions(
        messages={"title": "T", "hello": "Hi __UP_name__"},
        user_prefs=user_pref_values(spec, {}),
        module_id=1,
    )
    started = time.perf_counter()
    for _ in range(1000):
        substitute_spec(spec, values)
    milliseconds_per_call = time.perf_counter() - started  # 1000 calls
    assert milliseconds_per_call < 1.0, f"{milliseconds_per_call:.3f} ms per call"


def test_long_text_without_closing_underscores_is_linear() -> None:
    text = "__UP_" + "x" * 200_000 + " __MSG_" * 10_000
    started = time.perf_counter()
    subs(user_prefs={"x": "y"}).substitute(text)
    assert time.perf_counter() - started < 1.0
