"""The feature JavaScript in headless Chromium, across two real origins.

Pages come from tests/js/harness.py: a container page on one loopback port
hosting gadget iframes on another, plus an "evil" third origin.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tests.js.harness import CRUFT, PARENT_PAGE, Origin, gadget_page, serve_javascript
from tests.live import BrowserPage, browser_page, chromium  # noqa: F401

pytestmark = pytest.mark.browser

GADGET_BODY = """<div style="height:400px">tall content</div>
<script>
gadgets.util.registerOnLoadHandler(function () {
  var prefs = new gadgets.Prefs();
  gadgets.window.setTitle('Hello <b>');
  gadgets.window.adjustHeight();
  gadgets.window.adjustHeight();
  prefs.set('color', 'red', 'n', '42');
  prefs.set('color', 'red');
  gadgets.views.requestNavigateTo('canvas', {a: 1});
  gadgets.rpc.call(null, 'echo', function (r) { window.echoed = r; }, 'ping');
});
</script>"""


@pytest.fixture(scope="module")
def origins() -> Iterator[dict[str, Origin]]:
    started = {name: Origin().start() for name in ("container", "gadget", "evil")}
    parents = [started["container"].base]
    for origin in started.values():
        serve_javascript(origin)
        origin.add("/parent.html", PARENT_PAGE)
        page = gadget_page(origin.base, parent_origins=parents, body=GADGET_BODY)
        origin.add("/gadget.html", page)
        page = gadget_page(origin.base, parent_origins=[], body=GADGET_BODY)
        origin.add("/unparented.html", page)
    yield started
    for origin in started.values():
        origin.stop()


def answer_with(entries: dict[str, Any]) -> Any:
    return lambda form: CRUFT + json.dumps({form["url"]: entries[form["url"]]})


def make_request(page: Any, url: str, params: dict[str, Any]) -> Any:
    return page.evaluate(
        """([url, params]) => new Promise(resolve =>
            gadgets.io.makeRequest(url, r => resolve({
                data: r.data && r.data.documentElement
                    ? r.data.documentElement.nodeName : r.data,
                text: r.text, rc: r.rc, errors: r.errors,
                oauthApprovalUrl: r.oauthApprovalUrl || null
            }), params))""",
        [url, params],
    )


def add_gadget(page: Any, frame_id: str, src: str, origin: str, token: str) -> Any:
    page.evaluate(
        "([id, src, origin, token]) => addGadget(id, src, origin, token)",
        [frame_id, src, origin, token],
    )
    page.wait_for_function(
        "id => document.getElementById(id).dataset.loaded === '1'", arg=frame_id
    )
    frame = page.frame(name=frame_id)
    frame.wait_for_function("window.loaded && window.loaded.length === 1")
    return frame


def open_container(origins: dict[str, Origin], browser_page: BrowserPage) -> Any:  # noqa: F811
    page = browser_page.page
    page.goto(origins["container"].base + "/parent.html")
    return page


def gadget_src(gadget: Origin, container: Origin, token: str) -> str:
    parent = quote(container.base, safe="")
    return f"{gadget.base}/gadget.html?parent={parent}&mid=3&st=TOKEN#rpctoken={token}"


def test_url_parameters_read_query_and_fragment(
    origins: dict[str, Origin],
    browser_page: BrowserPage,  # noqa: F811
) -> None:
    page = browser_page.page
    page.goto(origins["gadget"].base + "/gadget.html?a=1&b=x+y#a=2&rpctoken=t")

    params = page.evaluate("gadgets.util.getUrlParameters()")

    assert params["a"] == "2"
    assert params["b"] == "x y"
    assert params["rpctoken"] == "t"
    assert page.evaluate("window.loaded.length") == 1
    assert browser_page.errors == []


def test_prefs_escape_and_legacy_prefs_do_not(
    origins: dict[str, Origin],
    browser_page: BrowserPage,  # noqa: F811
) -> None:
    gadget = origins["gadget"]
    gadget.add(
        "/prefs.html",
        gadget_page(
            gadget.base,
            defaults={"color": "blue", "fallback": "plain"},
            messages={"hello": "Hi <there>"},
        ),
    )
    page = browser_page.page
    page.goto(
        gadget.base + "/prefs.html?mid=7&up_color=%3Cb%3E%26&up_list=a|b%257Cc"
        "&up_n=42&lang=fr&view=canvas#view-params=" + quote('{"q": 1}')
    )

    result = page.evaluate(
        """() => {
        var p = new gadgets.Prefs(), raw = new _IG_Prefs();
        return {s: p.getString('color'), raw: raw.getString('color'),
                list: p.getArray('list'), n: p.getInt('n'), on: p.getBool('n'),
                fallback: p.getString('fallback'), msg: p.getMsg('hello'),
                mid: p.getModuleId(), lang: p.getLang(), country: p.getCountry(),
                view: gadgets.views.getCurrentView().getName(),
                only: gadgets.views.getCurrentView().isOnlyVisibleGadget(),
                params: gadgets.views.getParams()};
        }"""
    )

    assert result["s"] == "&#60;b&#62;&"
    assert result["raw"] == "<b>&"
    assert result["list"] == ["a", "b|c"]
    assert (result["n"], result["on"]) == (42, True)
    assert result["fallback"] == "plain"
    assert result["msg"] == "Hi <there>"
    assert (result["mid"], result["lang"], result["country"]) == (7, "fr", "US")
    assert (result["view"], result["only"]) == ("canvas", True)
    assert result["params"] == {"q": 1}


def test_make_request_posts_fields_and_parses_after_the_cruft(
    origins: dict[str, Origin],
    browser_page: BrowserPage,  # noqa: F811
) -> None:
    gadget = origins["gadget"]
    url = "http://api.example/data"
    gadget.posted.clear()
    gadget.answer = answer_with(
        {url: {"rc": 200, "body": '{"a": 1}', "headers": {}, "oauthState": "S1"}}
    )
    page = browser_page.page
    page.goto(
        gadget.base + "/gadget.html?st=TOKEN&url=http%3A%2F%2Fspec.example%2Fg.xml"
    )
    params = {
        "CONTENT_TYPE": "JSON",
        "METHOD": "POST",
        "POST_DATA": "q=1",
        "HEADERS": {"X-A": "b c"},
        "AUTHORIZATION": "OAUTH",
        "OAUTH_SERVICE_NAME": "contacts",
    }

    first = make_request(page, url, params)
    make_request(page, url, params)

    assert first == {
        "data": {"a": 1},
        "text": '{"a": 1}',
        "rc": 200,
        "errors": [],
        "oauthApprovalUrl": None,
    }
    form = gadget.posted[0].form
    assert form["url"] == url
    assert (form["httpMethod"], form["postData"]) == ("POST", "q=1")
    assert (form["authz"], form["contentType"]) == ("oauth", "JSON")
    assert form["headers"] == "X-A=b%20c"
    assert (form["st"], form["OAUTH_SERVICE_NAME"]) == ("TOKEN", "contacts")
    assert (form["gadget"], form["container"]) == (
        "http://spec.example/g.xml",
        "default",
    )
    assert (form["signOwner"], form["signViewer"]) == ("true", "true")
    assert "oauthState" not in form
    assert gadget.posted[0].headers["x-shindig-st"] == "TOKEN"
    assert gadget.posted[1].form["oauthState"] == "S1"


def test_make_request_reports_errors_and_parses_dom(
    origins: dict[str, Origin],
    browser_page: BrowserPage,  # noqa: F811
) -> None:
    gadget = origins["gadget"]
    gadget.answer = answer_with(
        {
            "http://a.example/missing": {"rc": 404, "body": "gone"},
            "http://a.example/x.xml": {"rc": 200, "body": "<r><i/></r>"},
            "http://a.example/bad": {"rc": 200, "body": "{nope"},
        }
    )
    page = browser_page.page
    page.goto(gadget.base + "/gadget.html")

    missing = make_request(page, "http://a.example/missing", {})
    xml = make_request(page, "http://a.example/x.xml", {"CONTENT_TYPE": "DOM"})
    bad = make_request(page, "http://a.example/bad", {"CONTENT_TYPE": "JSON"})

    assert (missing["rc"], missing["errors"], missing["text"]) == (
        404,
        ["Error 404"],
        "gone",
    )
    assert xml["data"] == "r"
    assert bad["errors"] == ["The response was not valid JSON."]


def test_preloaded_response_answers_the_first_get_only(
    origins: dict[str, Origin],
    browser_page: BrowserPage,  # noqa: F811
) -> None:
    gadget = origins["gadget"]
    url = "http://a.example/pre"
    gadget.add(
        "/preload.html",
        gadget_page(gadget.base, preloaded=[{"id": url, "rc": 200, "body": "early"}]),
    )
    gadget.answer = answer_with({url: {"rc": 200, "body": "late"}})
    gadget.posted.clear()
    page = browser_page.page
    page.goto(gadget.base + "/preload.html")

    first = make_request(page, url, {})
    second = make_request(page, url, {})

    assert (first["text"], second["text"]) == ("early", "late")
    assert len(gadget.posted) == 1


def test_signed_and_oauth_preloads_start_at_load_and_answer_their_own_authz(
    origins: dict[str, Origin],
    browser_page: BrowserPage,  # noqa: F811
) -> None:
    gadget = origins["gadget"]
    signed, oauth = "http://a.example/signed", "http://a.example/oauth"
    preloads = [
        {"href": signed, "authz": "signed", "signOwner": True, "signViewer": False},
        {"href": oauth, "authz": "oauth", "OAUTH_SERVICE_NAME": "contacts"},
    ]
    gadget.add("/auth.html", gadget_page(gadget.base, auth_preloads=preloads))
    gadget.answer = lambda form: (
        CRUFT
        + json.dumps(
            {form["url"]: {"rc": 200, "body": f"{form['authz']}:{len(gadget.posted)}"}}
        )
    )
    gadget.posted.clear()
    page = browser_page.page
    page.goto(gadget.base + "/auth.html#st=TOKEN")
    page.wait_for_function("window.loaded.length === 1")
    page.wait_for_timeout(200)
    started = [posted.form for posted in gadget.posted]

    unsigned = make_request(page, signed, {})
    first = make_request(page, signed, {"AUTHORIZATION": "SIGNED"})
    again = make_request(page, signed, {"AUTHORIZATION": "SIGNED"})
    approval = make_request(
        page, oauth, {"AUTHORIZATION": "OAUTH", "OAUTH_SERVICE_NAME": "contacts"}
    )

    assert sorted(form["authz"] for form in started) == ["oauth", "signed"]
    by_url = {form["url"]: form for form in started}
    assert by_url[signed]["signViewer"] == "false"
    assert by_url[signed]["st"] == "TOKEN"
    assert by_url[oauth]["OAUTH_SERVICE_NAME"] == "contacts"
    assert unsigned["text"].startswith("none:")
    assert first["text"] in ("signed:1", "signed:2")
    assert again["text"] != first["text"]
    assert approval["text"] in ("oauth:1", "oauth:2")
    assert len(gadget.posted) == 4


def test_rpc_calls_reach_the_container_handlers(
    origins: dict[str, Origin],
    browser_page: BrowserPage,  # noqa: F811
) -> None:
    page = open_container(origins, browser_page)
    src = gadget_src(origins["gadget"], origins["container"], "tok1")

    frame = add_gadget(page, "g1", src, origins["gadget"].base, "tok1")
    frame.wait_for_function("window.echoed === 'echo:ping'")
    page.wait_for_function("window.calls.length >= 4")
    calls = page.evaluate("window.calls")

    kinds = [call[0] for call in calls]
    assert sorted(kinds) == ["navigate", "pref", "resize", "title"]
    by_kind = {call[0]: call[1:] for call in calls}
    assert by_kind["title"] == ["g1", "Hello <b>"]
    assert by_kind["resize"][0] == "g1" and by_kind["resize"][1] >= 400
    assert by_kind["pref"] == ["g1", {"color": "red", "n": "42"}]
    assert by_kind["navigate"] == ["g1", "canvas", {"a": 1}, None]


def test_calls_wait_for_a_container_that_sets_up_late(
    origins: dict[str, Origin],
    browser_page: BrowserPage,  # noqa: F811
) -> None:
    page = open_container(origins, browser_page)
    src = gadget_src(origins["gadget"], origins["container"], "tok6")

    page.evaluate(
        "([src, origin]) => addGadgetLate('g6', src, origin, 'tok6')",
        [src, origins["gadget"].base],
    )
    page.wait_for_function("window.calls.length >= 4")

    frame = page.frame(name="g6")
    frame.wait_for_function("window.echoed === 'echo:ping'")
    kinds = sorted(call[0] for call in page.evaluate("window.calls"))
    assert kinds == ["navigate", "pref", "resize", "title"]


def test_container_refuses_a_wrong_rpctoken(
    origins: dict[str, Origin],
    browser_page: BrowserPage,  # noqa: F811
) -> None:
    page = open_container(origins, browser_page)
    src = gadget_src(origins["gadget"], origins["container"], "wrong")

    frame = add_gadget(page, "g2", src, origins["gadget"].base, "right")
    frame.wait_for_function("window.loaded.length === 1")
    page.wait_for_timeout(300)

    assert page.evaluate("window.calls") == []
    assert frame.evaluate("window.echoed === undefined")


def test_container_refuses_a_frame_from_another_origin(
    origins: dict[str, Origin],
    browser_page: BrowserPage,  # noqa: F811
) -> None:
    page = open_container(origins, browser_page)
    src = gadget_src(origins["evil"], origins["container"], "tok3")

    frame = add_gadget(page, "g3", src, origins["gadget"].base, "tok3")
    frame.wait_for_function("window.loaded.length === 1")
    page.wait_for_timeout(300)

    assert page.evaluate("window.calls") == []


def test_gadget_ignores_a_parent_origin_outside_its_config(
    origins: dict[str, Origin],
    browser_page: BrowserPage,  # noqa: F811
) -> None:
    page = open_container(origins, browser_page)
    src = gadget_src(origins["gadget"], origins["container"], "tok5")
    src = src.replace("/gadget.html", "/unparented.html")

    frame = add_gadget(page, "g5", src, origins["gadget"].base, "tok5")
    page.wait_for_timeout(300)

    assert page.evaluate("window.calls") == []
    assert frame.evaluate("gadgets.rpc.getTargetOrigin('..')") is None


def test_a_frame_cannot_speak_for_another_frame(
    origins: dict[str, Origin],
    browser_page: BrowserPage,  # noqa: F811
) -> None:
    page = open_container(origins, browser_page)
    container = origins["container"]
    add_gadget(
        page,
        "g1",
        gadget_src(origins["gadget"], container, "tok1"),
        origins["gadget"].base,
        "tok1",
    )
    page.wait_for_function("window.calls.length >= 4")
    evil = add_gadget(
        page,
        "g4",
        gadget_src(origins["evil"], container, "tok4"),
        origins["evil"].base,
        "tok4",
    )
    evil.wait_for_function("window.echoed === 'echo:ping'")

    evil.evaluate(
        """parent.postMessage(JSON.stringify(
            {s: 'set_title', f: 'g1', c: 0, a: ['pwned'], t: 'tok1'}), '*')"""
    )
    page.wait_for_timeout(300)

    titles = [c for c in page.evaluate("window.calls") if c[0] == "title"]
    assert ["title", "g1", "pwned"] not in titles
    assert ["title", "g4", "Hello <b>"] in titles


def test_gadget_accepts_calls_only_from_its_parent(
    origins: dict[str, Origin],
    browser_page: BrowserPage,  # noqa: F811
) -> None:
    page = open_container(origins, browser_page)
    src = gadget_src(origins["gadget"], origins["container"], "tok1")
    frame = add_gadget(page, "g1", src, origins["gadget"].base, "tok1")
    frame.evaluate(
        """gadgets.rpc.register('probe', function (who) { window.probed = who; });
        window.postMessage(JSON.stringify(
            {s: 'probe', f: '..', c: 0, a: ['self'], t: 'tok1'}), '*');"""
    )
    page.wait_for_timeout(200)
    assert frame.evaluate("window.probed === undefined")

    page.evaluate("gadgets.rpc.call('g1', 'probe', null, 'parent')")

    frame.wait_for_function("window.probed === 'parent'")


def test_security_token_update_from_the_container(
    origins: dict[str, Origin],
    browser_page: BrowserPage,  # noqa: F811
) -> None:
    page = open_container(origins, browser_page)
    src = gadget_src(origins["gadget"], origins["container"], "tok1")
    frame = add_gadget(page, "g1", src, origins["gadget"].base, "tok1")
    assert frame.evaluate("shindig.auth.getSecurityToken()") == "TOKEN"

    page.evaluate("gadgets.container.updateSecurityToken('g1', 'FRESH')")

    frame.wait_for_function("shindig.auth.getSecurityToken() === 'FRESH'")


def test_oauth_popup_closes_on_the_callback_page_message(
    origins: dict[str, Origin],
    browser_page: BrowserPage,  # noqa: F811
) -> None:
    page = browser_page.page
    page.goto(origins["gadget"].base + "/gadget.html")
    page.evaluate(
        """window.doneCount = 0;
        window.popup = new gadgets.oauth.Popup('about:blank', 'width=10,height=10',
            null, function () { window.doneCount += 1; });
        window.popup.createOpenerOnClick()();
        new BroadcastChannel('gadgets.oauth').postMessage(
            {type: 'gadgets.oauth.approved'});"""
    )
    page.wait_for_function("window.doneCount === 1")

    page.evaluate(
        """window.popup.createOpenerOnClick()();
        window.postMessage({type: 'gadgets.oauth.approved'}, location.origin);"""
    )
    page.wait_for_function("window.doneCount === 2")

    page.evaluate("window.popup.createApprovedOnClick()()")
    assert page.evaluate("window.doneCount") == 3


def test_oauth_popup_takes_approval_only_from_its_own_or_the_container_origin(
    origins: dict[str, Origin],
    browser_page: BrowserPage,  # noqa: F811
) -> None:
    page = open_container(origins, browser_page)
    src = gadget_src(origins["gadget"], origins["container"], "tok1")
    frame = add_gadget(page, "g1", src, origins["gadget"].base, "tok1")
    frame.evaluate(
        """window.doneCount = 0;
        window.popup = new gadgets.oauth.Popup('about:blank', '', null,
            function () { window.doneCount += 1; });
        window.popup.createOpenerOnClick()();"""
    )

    evil = origins["evil"].base + "/unparented.html"
    page.evaluate(
        """src => new Promise(resolve => { var f = document.createElement('iframe');
            f.name = 'evil'; f.onload = resolve; f.src = src;
            document.body.appendChild(f); })""",
        evil,
    )
    evil_frame = page.frame(name="evil")
    assert evil_frame is not None
    evil_frame.evaluate(
        "parent.frames['g1'].postMessage({type: 'gadgets.oauth.approved'}, '*')"
    )
    page.wait_for_timeout(300)
    assert frame.evaluate("window.doneCount") == 0

    # The container's own callback page (its second chance) is trusted.
    page.evaluate("frames['g1'].postMessage({type: 'gadgets.oauth.approved'}, '*')")
    frame.wait_for_function("window.doneCount === 1")


def test_tabs_and_minimessage_build_their_elements(
    origins: dict[str, Origin],
    browser_page: BrowserPage,  # noqa: F811
) -> None:
    page = browser_page.page
    page.goto(origins["gadget"].base + "/gadget.html?mid=3")

    result = page.evaluate(
        """() => {
        var tabs = new gadgets.TabSet(3, 'Two');
        tabs.addTab('One');
        tabs.addTab('Two');
        var selectedFirst = tabs.getSelectedTab().getName();
        tabs.setSelectedTab(0);
        var mm = new gadgets.MiniMessage(3);
        var note = mm.createDismissibleMessage('Saved');
        var inHolder = note.parentNode.id;
        note.rows[0].cells[1].onclick();
        return {selectedFirst: selectedFirst,
                selected: tabs.getSelectedTab().getName(),
                classes: tabs.getTabs().map(t => t.getNameContainer().className),
                shown: tabs.getTabs().map(t => t.getContentContainer().style.display),
                header: tabs.getHeaderContainer().id,
                css: !!document.getElementById('tablib_css'),
                inHolder: inHolder, dismissed: !note.parentNode};
        }"""
    )

    assert result["selectedFirst"] == "Two"
    assert result["selected"] == "One"
    assert result["classes"] == ["tablib_selected", "tablib_unselected"]
    assert result["shown"] == ["", "none"]
    assert result["header"] == "tl_3"
    assert result["css"] is True
    assert (result["inHolder"], result["dismissed"]) == ("mm_3", True)


def test_legacy_fetches_use_makerequest_and_convert_feed_dates(
    origins: dict[str, Origin],
    browser_page: BrowserPage,  # noqa: F811
) -> None:
    gadget = origins["gadget"]
    feed = {"Title": "News", "Entry": [{"Title": "a", "Date": 1700000000000}]}
    gadget.answer = answer_with(
        {
            "http://a.example/page": {"rc": 200, "body": "<p>hi</p>"},
            "http://a.example/feed": {"rc": 200, "body": json.dumps(feed)},
        }
    )
    gadget.posted.clear()
    page = browser_page.page
    page.goto(gadget.base + "/gadget.html")

    text = page.evaluate(
        "() => new Promise(r => _IG_FetchContent('http://a.example/page', r))"
    )
    data = page.evaluate(
        "() => new Promise(r => _IG_FetchFeedAsJSON('http://a.example/feed', r, 5))"
    )

    assert text == "<p>hi</p>"
    assert gadget.posted[0].form["refresh"] == "3600"
    assert data["Entry"][0]["Date"] == 1700000000
    assert gadget.posted[1].form["contentType"] == "FEED"
    assert gadget.posted[1].form["numEntries"] == "5"


def test_legacy_helpers_and_proxy_urls(
    origins: dict[str, Origin],
    browser_page: BrowserPage,  # noqa: F811
) -> None:
    page = browser_page.page
    page.goto(origins["gadget"].base + "/gadget.html?x=1")

    result = page.evaluate(
        """() => ({
            image: _IG_GetImageUrl('http://img.example/a.png'),
            proxy: gadgets.io.getProxyUrl('http://img.example/b.png'),
            encoded: gadgets.io.encodeValues({a: 'b c', d: 1}),
            hesc: _hesc('<a href="x">'), trim: _trim('  t  '),
            strip: _striptags('<b>bold</b>'), args: _args().x,
            enumValue: gadgets.io.AuthorizationType.OAUTH2,
            json: gadgets.json.parse('{bad') === undefined,
            os: opensocial.hasPermission('viewer'),
        })"""
    )

    assert result == {
        "image": "http://img.example/a.png",
        "proxy": "http://img.example/b.png",
        "encoded": "a=b%20c&d=1",
        "hesc": "&#60;a href=&#34;x&#34;&#62;",
        "trim": "t",
        "strip": "bold",
        "args": "1",
        "enumValue": "OAUTH2",
        "json": True,
        "os": False,
    }
