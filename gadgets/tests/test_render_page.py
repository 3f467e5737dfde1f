"""What ``render_gadget`` writes: page structure, views, features, escaping."""

from __future__ import annotations

import json
import re

import pytest

from gadgets import features
from gadgets.errors import (
    GadgetError,
    SpecError,
    UnsupportedFeature,
    ViewNotFound,
    WrongHost,
)
from gadgets.render import RenderParams, RenderResult, render_gadget, script_json
from gadgets.tests.render_helpers import (
    SPEC_URL,
    host_for,
    script_json_of,
    spec_xml,
    use_spec,
)

HOSTILE = "</script><script>alert(1)</script><!--\u2028\u2029&"


async def render(
    monkeypatch: pytest.MonkeyPatch, xml: str, **params: object
) -> RenderResult:
    use_spec(monkeypatch, xml)
    fields: dict[str, object] = {"url": SPEC_URL, "host": host_for()}
    fields.update(params)
    return await render_gadget(RenderParams(**fields))


async def page(monkeypatch: pytest.MonkeyPatch, xml: str, **params: object) -> str:
    result = await render(monkeypatch, xml, **params)
    assert result.html is not None and result.redirect_url is None
    return result.html


def head_of(html: str) -> str:
    match = re.search(r"<head>(.*?)</head>", html, re.DOTALL)
    assert match
    return match.group(1)


# -- structure -------------------------------------------------------------


async def test_head_starts_with_title_style_beacon_script_then_config(
    monkeypatch,
) -> None:
    html = await page(monkeypatch, spec_xml(title="Weather &amp; more"))
    head = head_of(html)
    order = [
        "<title>Weather &amp; more</title>",
        "<style>html,body{height:100%;width:100%;overflow:auto}",
        "<script>window['__isgadget']=true;</script>",
        '<script src="http://localhost:8000/gadgets/js/',
        "<script>gadgets.config.init(",
        "gadgets.Prefs.setMessages_(",
        "gadgets.Prefs.setDefaultPrefs_(",
        "gadgets.io.preloaded_=[]",
    ]
    positions = [head.index(piece) for piece in order]
    assert positions == sorted(positions)
    assert head.startswith("<title>")


async def test_feature_script_is_the_versioned_url_for_the_views_features(
    monkeypatch,
) -> None:
    xml = spec_xml(module_prefs='<Require feature="dynamic-height"/>')
    html = await page(monkeypatch, xml)
    src = re.search(r'<script src="([^"]+)"', html)
    assert src
    names = features.resolve(
        [
            features.FeatureRequest("dynamic-height", True),
            features.FeatureRequest("rpc", False),
        ],
        "default",
    )
    assert src.group(1) == features.script_url(names).replace("&", "&amp;")
    assert f"v={features.version()}" in src.group(1)


async def test_debug_asks_for_readable_javascript(monkeypatch) -> None:
    html = await page(monkeypatch, spec_xml(), debug=True)
    assert "debug=1" in re.search(r'<script src="([^"]+)"', html).group(1)


async def test_onload_handlers_run_at_the_very_end_of_body(monkeypatch) -> None:
    html = await page(monkeypatch, spec_xml())
    assert html.endswith(
        '<p id="hi">Hello</p><script>gadgets.util.runOnLoadHandlers();</script>'
        "</body></html>"
    )
    assert '<body dir="ltr">' in html


async def test_fragment_body_is_wrapped_with_lang_and_dir(monkeypatch) -> None:
    xml = spec_xml(
        module_prefs=(
            '<Locale lang="ar" language_direction="rtl">'
            '<msg name="hi">مرحبا</msg></Locale>'
        )
    )
    html = await page(monkeypatch, xml, lang="ar", country="EG")
    assert html.startswith('<html lang="ar-EG"><head><title>')
    assert '<body dir="rtl">' in html


async def test_default_locale_gives_english_lang(monkeypatch) -> None:
    html = await page(monkeypatch, spec_xml())
    assert html.startswith('<html lang="en">')


async def test_config_carries_feature_settings_and_declared_feature_params(
    monkeypatch,
) -> None:
    xml = spec_xml(
        module_prefs=(
            '<Require feature="views"/><Optional feature="no-such-thing"/>'
            '<Require feature="tabs"><Param name="style">dark</Param></Require>'
            '<Optional feature="setprefs"><Param name="a">1</Param>'
            '<Param name="a">2</Param></Optional>'
        )
    )
    config = script_json_of(await page(monkeypatch, xml), "gadgets.config.init")
    assert config["core.util"]["tabs"] == {"style": "dark"}
    assert config["core.util"]["views"] == {}
    assert config["core.util"]["setprefs"] == {"a": ["1", "2"]}
    assert "no-such-thing" not in config["core.util"]
    assert "tabs" in config and "views" in config
    assert config["core.io"]["jsonProxyUrl"] == "/gadgets/makeRequest"


async def test_messages_and_default_prefs_are_injected(monkeypatch) -> None:
    xml = spec_xml(
        module_prefs=(
            '<Locale><msg name="greet">Hello</msg></Locale>'
            '<Locale lang="de"><msg name="greet">Hallo</msg></Locale>'
        ),
        user_prefs='<UserPref name="color" default_value="red"/><UserPref name="n"/>',
    )
    html = await page(monkeypatch, xml, lang="de")
    assert script_json_of(html, "gadgets.Prefs.setMessages_") == {"greet": "Hallo"}
    assert script_json_of(html, "gadgets.Prefs.setDefaultPrefs_") == {
        "color": "red",
        "n": "",
    }


async def test_substitution_fills_title_body_and_module_id(monkeypatch) -> None:
    xml = spec_xml(
        "<Content><![CDATA["
        '<div id="m__MODULE_ID__">__MSG_greet__ __UP_who__</div>'
        "]]></Content>",
        title="__MSG_greet__",
        module_prefs='<Locale><msg name="greet">Hi</msg></Locale>',
        user_prefs='<UserPref name="who" default_value="you"/>',
    )
    html = await page(monkeypatch, xml, module_id=7, user_prefs={"who": "Ada"})
    assert "<title>Hi</title>" in html
    assert '<div id="m7">Hi Ada</div>' in html


# -- doctype -------------------------------------------------------------


async def test_no_doctype_and_quirks_css_for_classic_gadgets(monkeypatch) -> None:
    html = await page(monkeypatch, spec_xml())
    assert not html.lower().startswith("<!doctype")
    assert "font-family:arial" in head_of(html)


async def test_html5_doctype_for_version_2_gadget_not_in_quirks_mode(
    monkeypatch,
) -> None:
    xml = spec_xml(
        '<Content quirks="false"><![CDATA['
        '<!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.01//EN"><p>x</p>]]></Content>',
        module_attrs='specificationVersion="2.0"',
    )
    html = await page(monkeypatch, xml)
    assert html.startswith("<!DOCTYPE html>\n<html")
    assert "DTD HTML 4.01" not in html
    assert "font-family:arial" not in html


async def test_version_2_gadget_in_quirks_mode_gets_no_doctype(monkeypatch) -> None:
    xml = spec_xml(module_attrs='specificationVersion="2.0"')
    html = await page(monkeypatch, xml)
    assert not html.lower().startswith("<!doctype")


async def test_doctype_quirksmode_attribute_forces_quirks(monkeypatch) -> None:
    xml = spec_xml(
        '<Content quirks="false"><![CDATA[x]]></Content>',
        module_attrs='specificationVersion="2.0"',
    ).replace('title="Hello"', 'title="Hello" doctype="quirksmode"')
    html = await page(monkeypatch, xml)
    assert not html.lower().startswith("<!doctype")


async def test_authored_doctype_is_kept_and_drops_quirks_css(monkeypatch) -> None:
    doctype = '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN">'
    xml = spec_xml(f"<Content><![CDATA[{doctype}<p>x</p>]]></Content>")
    html = await page(monkeypatch, xml)
    assert html.startswith(doctype + "\n<html")
    assert "font-family:arial" not in html


# -- full documents ------------------------------------------------------


async def test_authored_document_gets_our_head_first_and_onload_last(
    monkeypatch,
) -> None:
    body = (
        '<HTML><Head><script src="mine.js"></script></Head>'
        '<BODY class="x"><header>h</header><p>x</p></BODY></HTML>'
    )
    html = await page(monkeypatch, spec_xml(f"<Content><![CDATA[{body}]]></Content>"))
    assert html.startswith('<HTML lang="en"><Head><title>Hello</title>')
    assert html.index("gadgets.io.preloaded_") < html.index('src="mine.js"')
    assert '<BODY dir="ltr" class="x"><header>h</header>' in html
    assert html.endswith(
        "<p>x</p><script>gadgets.util.runOnLoadHandlers();</script></BODY></HTML>"
    )


async def test_authored_document_without_head_gets_one(monkeypatch) -> None:
    body = '<html lang="fr"><body dir="rtl">x</body></html>'
    html = await page(monkeypatch, spec_xml(f"<Content><![CDATA[{body}]]></Content>"))
    assert html.startswith('<html lang="fr"><head><title>Hello</title>')
    assert (
        '<body dir="rtl">x<script>gadgets.util.runOnLoadHandlers();</script></body>'
        in html
    )


async def test_authored_body_without_html_tag(monkeypatch) -> None:
    body = "<body><p>x</p></body>"
    html = await page(monkeypatch, spec_xml(f"<Content><![CDATA[{body}]]></Content>"))
    assert html.startswith('<html lang="en"><head><title>Hello</title>')
    assert html.endswith(
        "<p>x</p><script>gadgets.util.runOnLoadHandlers();</script></body>"
    )


# -- views ---------------------------------------------------------------


VIEWS = (
    '<Content view="home"><![CDATA[home-view]]></Content>'
    '<Content view="canvas"><![CDATA[canvas-view]]></Content>'
)


async def test_requested_view_is_rendered(monkeypatch) -> None:
    assert "canvas-view" in await page(monkeypatch, spec_xml(VIEWS), view="canvas")


async def test_default_view_falls_back_to_home_alias(monkeypatch) -> None:
    assert "home-view" in await page(monkeypatch, spec_xml(VIEWS))


async def test_sub_view_uses_its_major_view(monkeypatch) -> None:
    assert "canvas-view" in await page(
        monkeypatch, spec_xml(VIEWS), view="canvas.about"
    )


async def test_unknown_view_falls_back_to_default(monkeypatch) -> None:
    xml = spec_xml("<Content><![CDATA[plain]]></Content>")
    assert "plain" in await page(monkeypatch, xml, view="canvas")


async def test_no_matching_view_is_404(monkeypatch) -> None:
    with pytest.raises(ViewNotFound) as caught:
        await render(monkeypatch, spec_xml(VIEWS), view="profile.x")
    assert caught.value.status == 404


async def test_url_view_redirects_with_standard_params(monkeypatch) -> None:
    xml = spec_xml(
        '<Content type="url" href="http://app.example.com/g?lang=__UP_l__"/>',
        user_prefs='<UserPref name="l" default_value="en"/>',
        module_prefs='<Require feature="dynamic-height"/>',
    )
    result = await render(monkeypatch, xml, module_id=4, user_prefs={"l": "de"})
    assert result.html is None and result.redirect_url
    url = result.redirect_url
    assert url.startswith("http://app.example.com/g?lang=de&url=")
    assert "mid=4" in url and "up_l=de" in url
    assert "libs=http%3A%2F%2Flocalhost%3A8000%2Fgadgets%2Fjs%2F" in url
    assert "dynamic-height" in url


async def test_url_view_with_script_href_is_refused(monkeypatch) -> None:
    xml = spec_xml('<Content type="url" href="javascript:alert(1)"/>')
    with pytest.raises(SpecError):
        await render(monkeypatch, xml)


# -- refusals ------------------------------------------------------------


async def test_unknown_required_feature_is_400_naming_it(monkeypatch) -> None:
    xml = spec_xml(module_prefs='<Require feature="google.contentmatch"/>')
    with pytest.raises(UnsupportedFeature) as caught:
        await render(monkeypatch, xml)
    assert caught.value.status == 400
    assert "google.contentmatch" in caught.value.message


async def test_wrong_host_is_refused_before_fetching_the_spec(monkeypatch) -> None:
    from gadgets import specfetch

    with pytest.raises(WrongHost) as caught:
        await render(
            monkeypatch, spec_xml(), host=host_for("http://other.example.com/g.xml")
        )
    assert caught.value.status == 403
    assert specfetch.get_spec_calls == []


async def test_parent_other_than_the_container_is_400(monkeypatch) -> None:
    with pytest.raises(GadgetError) as caught:
        await render(monkeypatch, spec_xml(), parent="https://evil.example.com")
    assert caught.value.status == 400
    assert "parent" in caught.value.message


async def test_container_origin_is_an_accepted_parent(monkeypatch, settings) -> None:
    await page(monkeypatch, spec_xml(), parent=settings.CONTAINER_ORIGIN + "/")


async def test_nocache_is_passed_to_the_spec_cache(monkeypatch) -> None:
    from gadgets import specfetch

    result = await render(monkeypatch, spec_xml(), nocache=True)
    assert specfetch.get_spec_calls == [(SPEC_URL, True)]
    assert "no-store" in result.cache_control


# -- escaping ------------------------------------------------------------


def test_script_json_cannot_close_the_script_element() -> None:
    text = script_json({"m": HOSTILE})
    assert "<" not in text and ">" not in text and "&" not in text
    assert "\u2028" not in text and "\u2029" not in text
    assert json.loads(text) == {"m": HOSTILE}


async def test_hostile_messages_and_prefs_stay_inside_their_json(monkeypatch) -> None:
    hostile_xml = (
        HOSTILE.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    )
    xml = spec_xml(
        "<Content><![CDATA[__UP_p__]]></Content>",
        title="__MSG_evil__",
        module_prefs=f'<Locale><msg name="evil">{hostile_xml}</msg></Locale>',
        user_prefs=f'<UserPref name="p" default_value="{hostile_xml}"/>',
    )
    html = await page(monkeypatch, xml, user_prefs={"p": HOSTILE})
    assert html.count("<script>") == 3  # beacon, config, onload
    assert "alert(1)</script>" not in html
    assert "<!--" not in html
    assert script_json_of(html, "gadgets.Prefs.setMessages_") == {"evil": HOSTILE}
    assert "<title>&lt;/script&gt;" in html
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in html  # the __UP_ body value


# -- signed and OAuth preloads ---------------------------------------------


async def test_signed_and_oauth_preloads_are_handed_to_the_page_not_fetched(
    monkeypatch, fake_upstream
) -> None:
    preloads = (
        '<Require feature="core.io"/>'
        '<Preload href="https://api.example/signed" authz="signed"'
        ' sign_viewer="false"/>'
        '<Preload href="https://api.example/oauth" authz="oauth"'
        ' oauth_service_name="contacts" oauth_token_name="ro"/>'
        '<Preload href="https://api.example/canvas" authz="signed" views="canvas"/>'
    )
    html = await page(monkeypatch, spec_xml(module_prefs=preloads))

    config = script_json_of(html, "gadgets.config.init")
    assert config["core.io"]["authPreloads"] == [
        {
            "href": "https://api.example/signed",
            "authz": "signed",
            "signOwner": True,
            "signViewer": False,
        },
        {
            "href": "https://api.example/oauth",
            "authz": "oauth",
            "signOwner": True,
            "signViewer": True,
            "OAUTH_SERVICE_NAME": "contacts",
            "OAUTH_TOKEN_NAME": "ro",
        },
    ]
    assert "gadgets.io.preloaded_=[];" in html
    assert not [c for c in fake_upstream.calls if "api.example" in c.url]
