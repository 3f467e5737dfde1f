"""Every element and attribute of a gadget spec, and every parse error."""

from __future__ import annotations

import hashlib

import pytest

from gadgets.errors import InvalidUrl, SpecError
from gadgets.spec import parse_spec
from gadgets.spec_model import EnumValue, FeatureRequest, OAuthEndpoint, Spec
from gadgets.tests.specs import RICH_SPEC_URL, load

BASE = "http://gadgets.example.com/rich/"


@pytest.fixture(scope="module")
def rich() -> Spec:
    return parse_spec(load("rich.xml"), RICH_SPEC_URL)


def spec_with(prefs_children: str = "", body: str = "", prefs_attrs: str = "") -> str:
    content = body or '<Content type="html"><![CDATA[x]]></Content>'
    return (
        f"<Module><ModulePrefs {prefs_attrs}>{prefs_children}</ModulePrefs>"
        f"{content}</Module>"
    )


def parse(xml: str) -> Spec:
    return parse_spec(xml, "http://example.com/dir/g.xml")


# -- Module and ModulePrefs --------------------------------------------------


def test_spec_url_is_canonicalised_and_checksum_is_sha256_of_source() -> None:
    source = load("minimal.xml")
    spec = parse_spec(source, "HTTP://Gadgets.Example.COM:80/minimal.xml#frag")
    assert spec.url == "http://gadgets.example.com/minimal.xml"
    assert spec.checksum == hashlib.sha256(source).hexdigest()
    assert spec.title == "Hello"
    assert spec.specification_version == "1.0"


def test_text_input_is_accepted_and_checksummed_as_utf8() -> None:
    text = spec_with(prefs_attrs='title="Grüße"')
    spec = parse(text)
    assert spec.title == "Grüße"
    assert spec.checksum == hashlib.sha256(text.encode()).hexdigest()


def test_non_http_spec_url_is_refused() -> None:
    with pytest.raises(InvalidUrl):
        parse_spec(spec_with(), "file:///etc/passwd")


def test_specification_version_is_read(rich: Spec) -> None:
    assert rich.specification_version == "2.0"


def test_every_module_prefs_attribute_is_kept_raw(rich: Spec) -> None:
    prefs = rich.module_prefs
    assert prefs.title == "__MSG_title__ for __UP_name__"
    assert prefs.attributes["render_inline"] == "never"
    assert prefs.attributes["title_url"] == "about.html"
    assert prefs.attr_bool("scrolling") is True
    assert prefs.attr_bool("singleton") is False
    assert prefs.attr_int("height") == 250
    assert prefs.attr_int("width") == 0


def test_features_with_params_views_and_implicit_security_token(rich: Spec) -> None:
    features = {f.name: f for f in rich.module_prefs.features}
    assert features["dynamic-height"].required is True
    assert features["views"].params == {"mode": ["__MSG_mode__"]}
    assert features["tabs"] == FeatureRequest("tabs", False, {}, ("canvas",))
    assert features["pubsub-2"].params == {"topics": ["a", "b"]}
    assert features["security-token"] == FeatureRequest("security-token", True)
    assert "core" not in features
    assert [f.name for f in rich.features_for("home")].count("tabs") == 0


def test_security_token_is_not_added_twice_or_without_oauth() -> None:
    oauth = (
        '<OAuth><Service><Request url="http://a/r"/><Access url="http://a/a"/>'
        '<Authorization url="http://a/z"/></Service></OAuth>'
    )
    spec = parse(spec_with('<Require feature="security-token"/>' + oauth))
    names = [f.name for f in spec.module_prefs.features]
    assert names == ["security-token"]
    assert parse(spec_with()).module_prefs.features == ()
    spec = parse(spec_with('<OAuth2><Service name="x"/></OAuth2>'))
    assert [f.name for f in spec.module_prefs.features] == ["security-token"]


def test_preloads(rich: Spec) -> None:
    first, second = rich.module_prefs.preloads
    assert first.href == BASE + "feeds/news.xml"
    assert first.authz == "signed"
    assert (first.sign_owner, first.sign_viewer) == (True, False)
    assert first.views == ("home", "canvas")
    assert first.attributes == {"oauth_service_name": "contacts"}
    assert second.authz == "none"
    assert second.href == "http://api.example.com/__UP_name__/data"


def test_relative_preload_href_with_a_variable_waits_for_substitution() -> None:
    spec = parse(spec_with('<Preload href="__UP_feed__"/>'))
    assert spec.module_prefs.preloads[0].href == "__UP_feed__"


def test_icons(rich: Spec) -> None:
    plain, inline = rich.module_prefs.icons
    assert (plain.value, plain.mode) == ("icon.png", "")
    assert (inline.mode, inline.type) == ("base64", "image/png")


def test_links_are_keyed_by_rel_later_wins_and_resolved(rich: Spec) -> None:
    links = rich.module_prefs.links
    assert links["gadgets.help"].href == BASE + "help2.html"
    assert links["event.addapp"].method == "POST"
    assert links["gadgets.help"].method == "GET"


def test_locales(rich: Spec) -> None:
    locales = {(x.lang, x.country, x.views): x for x in rich.module_prefs.locales}
    default = locales[("all", "ALL", ())]
    assert default.messages["hello"] == "Hello, <b>__UP_name__</b>!"
    assert locales[("de", "ALL", ())].messages == {"title": "Kontakte"}
    assert ("de", "AT", ()) in locales
    arabic = locales[("ar", "ALL", ())]
    assert arabic.language_direction == "rtl"
    assert arabic.messages_url == BASE + "messages/ar.xml"
    assert arabic.messages == {}
    assert locales[("fr", "ALL", ("canvas",))].messages["title"] == "Contacts (grand)"


def test_locale_with_messages_url_ignores_inline_msgs() -> None:
    spec = parse(spec_with('<Locale messages="m.xml"><msg name="a">b</msg></Locale>'))
    locale = spec.module_prefs.locales[0]
    assert locale.messages == {}
    assert locale.messages_url == "http://example.com/dir/m.xml"


def test_oauth_services(rich: Spec) -> None:
    services = rich.module_prefs.oauth_services
    contacts = services["contacts"]
    assert contacts.request == OAuthEndpoint(
        "http://sp.example.com/oauth/request_token", "POST", "post-body"
    )
    assert contacts.access.url == "http://gadgets.example.com/oauth/access_token"
    assert contacts.authorization_url == (
        "http://sp.example.com/oauth/authorize?scope=contacts"
    )
    default = services[""]
    assert default.request == OAuthEndpoint("https://sp.example.com/r")


def test_user_prefs(rich: Spec) -> None:
    prefs = rich.user_prefs
    assert list(prefs) == [
        "name",
        "color",
        "where",
        "selectedTab",
        "show",
        "tags",
        "count",
    ]
    assert prefs["name"].display_name == "__MSG_title__ name"
    assert prefs["name"].required is True
    assert prefs["color"].datatype == "enum"
    assert prefs["color"].enum_values == (
        EnumValue("red", "Red"),
        EnumValue("blue", "blue"),
        EnumValue("", "None"),
    )
    assert prefs["where"].datatype == "string"
    assert prefs["where"].attributes == {"urlparam": "w"}
    assert prefs["selectedTab"].display_name == "selectedTab"
    assert prefs["selectedTab"].default_value == ""
    assert [prefs[n].datatype for n in ("show", "tags", "count")] == [
        "bool",
        "list",
        "number",
    ]


def test_views_are_split_trimmed_concatenated_and_typed(rich: Spec) -> None:
    views = rich.views
    assert set(views) == {
        "home",
        "profile",
        "canvas",
        "proxied",
        "sanitized",
        "default",
    }
    home = views["home"]
    assert (
        home.body == '\n<div id="hello">__MSG_hello__</div><p>module __MODULE_ID__</p>'
    )
    assert views["profile"].body == '\n<div id="hello">__MSG_hello__</div>'
    assert (home.preferred_height, home.preferred_width) == (200, 0)
    assert home.quirks is False
    assert home.attributes == {"data-extra": "__MODULE_ID__"}
    assert views["canvas"].type == "url"
    assert views["canvas"].href.endswith("canvas?u=__UP_name__")
    proxied = views["proxied"]
    assert (proxied.authz, proxied.sign_owner, proxied.sign_viewer) == (
        "oauth",
        False,
        True,
    )
    assert views["sanitized"].body == "Text & lost tags"
    assert views["default"].type == "html"
    assert views["default"].body == "default view"


def test_unknown_elements_are_ignored() -> None:
    spec = parse(
        "<Module><Junk/><ModulePrefs><MayRequire type='x'/><Foo/></ModulePrefs>"
        "<Content>a</Content><Other>b</Other></Module>"
    )
    assert spec.views["default"].body == "a"


def test_bare_doctype_and_bom_are_tolerated() -> None:
    spec = parse_spec(
        b"\xef\xbb\xbf<!DOCTYPE Module><Module><ModulePrefs/><Content/></Module>",
        "http://example.com/g.xml",
    )
    assert "default" in spec.views


# -- errors ------------------------------------------------------------------

OAUTH_OK = '<Request url="http://a/r"/><Access url="http://a/a"/><Authorization url="http://a/z"/>'


def oauth(service_body: str) -> str:
    return spec_with(f"<OAuth><Service name='s'>{service_body}</Service></OAuth>")


ERRORS = [
    ("<Foo/>", "the root element is <Foo>, not <Module>"),
    ("<Module><Content/></Module>", "Module: the ModulePrefs element is missing"),
    (
        "<Module><ModulePrefs/><ModulePrefs/><Content/></Module>",
        "Module: has more than one ModulePrefs element",
    ),
    ("<Module><ModulePrefs/></Module>", "Module: has no Content element"),
    (
        "<Module><ModulePrefs/><ExternalServices/><ExternalServices/>"
        "<Content/></Module>",
        "Module: has more than one ExternalServices element",
    ),
    (
        spec_with(body='<UserPref name="a"/><UserPref/><Content/>'),
        "UserPref #2: the name attribute is missing",
    ),
    (
        spec_with(body='<UserPref name="a"/><UserPref name="a"/><Content/>'),
        "UserPref #2: the name 'a' is used twice",
    ),
    (
        spec_with(body='<UserPref name="e"><EnumValue/></UserPref><Content/>'),
        "UserPref 'e' EnumValue #1: the value attribute is missing",
    ),
    (spec_with("<Require/>"), "Require #1: the feature attribute is missing"),
    (
        spec_with("<Optional feature=' '/>"),
        "Optional #1: the feature attribute is missing",
    ),
    (
        spec_with("<Require feature='x'><Param>v</Param></Require>"),
        "Require feature='x' Param #1: the name attribute is missing",
    ),
    (spec_with("<Preload/>"), "Preload #1: the href attribute is missing"),
    (
        spec_with("<Preload href='http://a:99999999/'/>"),
        "Preload #1: the href 'http://a:99999999/' is not a valid URL",
    ),
    (
        spec_with("<Icon mode='url'>x</Icon>"),
        "Icon #1: the mode 'url' is not supported; use base64",
    ),
    (spec_with("<Link href='h'/>"), "Link #1: the rel attribute is missing"),
    (spec_with("<Link rel='r'/>"), "Link #1: the href attribute is missing"),
    (
        spec_with("<Locale lang='he' language_direction='up'/>"),
        "Locale lang=he country=ALL: the language_direction 'up' must be ltr or rtl",
    ),
    (
        spec_with("<Locale messages='javascript:alert(1)'/>"),
        "Locale lang=all country=ALL: the messages URL 'javascript:alert(1)' "
        "is not a valid http or https URL",
    ),
    (
        spec_with("<Locale><msg>x</msg></Locale>"),
        "Locale lang=all country=ALL msg #1: the name attribute is missing",
    ),
    (
        spec_with("<OAuth/><OAuth/>"),
        "ModulePrefs: has more than one OAuth element",
    ),
    (
        spec_with("<OAuth2/><OAuth2/>"),
        "ModulePrefs: has more than one OAuth2 element",
    ),
    (
        oauth('<Access url="http://a/a"/><Authorization url="http://a/z"/>'),
        "OAuth Service 's': the Request element is missing",
    ),
    (
        oauth(OAUTH_OK + '<Access url="http://a/a"/>'),
        "OAuth Service 's': has more than one Access element",
    ),
    (
        oauth('<Request url="http://a/r"/><Access url="http://a/a"/>'),
        "OAuth Service 's': the Authorization element is missing",
    ),
    (
        oauth(OAUTH_OK.replace("http://a/r", "ftp://a/r")),
        "OAuth Service 's' Request: the url 'ftp://a/r' is not http or https",
    ),
    (
        oauth(OAUTH_OK.replace('url="http://a/r"', "")),
        "OAuth Service 's' Request: the url attribute is missing",
    ),
    (
        oauth(OAUTH_OK.replace("http://a/z", "javascript:x")),
        "OAuth Service 's' Authorization: the url 'javascript:x' is not http or https",
    ),
    (
        oauth(OAUTH_OK.replace('url="http://a/a"', 'url="http://a/a" method="PUT"')),
        "OAuth Service 's' Access: the method 'PUT' is not GET or POST",
    ),
    (
        oauth(
            OAUTH_OK.replace('url="http://a/r"', 'url="http://a/r" param_location="x"')
        ),
        "OAuth Service 's' Request: the param_location 'x' is not one of",
    ),
    (
        oauth(OAUTH_OK.replace('url="http://a/r"', 'url="http://a/r" method="POST"')),
        "OAuth Service 's': Request and Access must use the same method",
    ),
    (
        oauth(
            OAUTH_OK.replace(
                'url="http://a/r"', 'url="http://a/r" param_location="post-body"'
            )
        ),
        "OAuth Service 's' Request: param_location post-body needs method POST",
    ),
    (
        spec_with(
            "<OAuth><Service name='s'>" + OAUTH_OK + "</Service>"
            "<Service name='s'>" + OAUTH_OK + "</Service></OAuth>"
        ),
        "OAuth Service 's': is defined twice",
    ),
    (
        spec_with(body='<Content view="a"/><Content type="url" href="h" view="a"/>'),
        "Content view='a': may not mix content types (html, url)",
    ),
    (
        spec_with(body='<Content type="url"/>'),
        "Content view='default': type=\"url\" needs an href attribute",
    ),
    ("<Module><ModulePrefs></Module>", "not well-formed XML"),
]


@pytest.mark.parametrize(("xml", "message"), ERRORS)
def test_invalid_spec_is_a_spec_error_naming_the_problem(
    xml: str, message: str
) -> None:
    with pytest.raises(SpecError) as caught:
        parse(xml)
    assert message in caught.value.message
    assert caught.value.message.startswith(
        "Gadget spec at http://example.com/dir/g.xml: "
    )
    assert "(line " in caught.value.message


IGNORED = [
    (spec_with(body='<UserPref name="p" datatype="location"/><Content/>'), "string"),
    (spec_with("<Preload href='x' authz='magic'/>"), "none"),
    (spec_with(body='<Content type="flash">b</Content>'), "html"),
]


@pytest.mark.parametrize(("xml", "expected"), IGNORED)
def test_unknown_values_fall_back_to_defaults(xml: str, expected: str) -> None:
    spec = parse(xml)
    found = {
        "string": lambda: spec.user_prefs["p"].datatype,
        "none": lambda: spec.module_prefs.preloads[0].authz,
        "html": lambda: spec.views["default"].type,
    }[expected]()
    assert found == expected


def test_numbers_and_booleans_default_quietly() -> None:
    spec = parse(
        spec_with(
            body='<Content preferred_height="tall" quirks="yes" sign_owner="0">b'
            "</Content>"
        )
    )
    view = spec.views["default"]
    assert (view.preferred_height, view.quirks, view.sign_owner) == (0, False, False)
