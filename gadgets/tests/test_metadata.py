"""``POST /gadgets/metadata`` and ``gadget_metadata``: Shindig's legacy shape."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from gadgets.locked_domain import gadget_origin
from gadgets.metadata import GadgetRequest, MetadataContext, gadget_metadata
from gadgets.security_token import decode_token
from gadgets.tests.render_helpers import SPEC_URL, spec_xml, use_spec

BROKEN_URL = "http://gadgets.example.com/broken.xml"
RICH = spec_xml(
    '<Content view="home"><![CDATA[h]]></Content>'
    '<Content view="canvas" preferred_height="300" quirks="false" extra="1">'
    "<![CDATA[c]]></Content>",
    title="__MSG_title__",
    module_prefs=(
        '<Require feature="dynamic-height"/>'
        '<Optional feature="tabs" views="canvas"><Param name="s">1</Param></Optional>'
        '<Link rel="icon" href="icon.png"/>'
        '<Locale><msg name="title">Weather</msg><msg name="c">Colour</msg></Locale>'
        '<Locale lang="de"><msg name="title">Wetter</msg></Locale>'
        "<OAuth><Service name='contacts'>"
        '<Request url="https://sp.example.com/request"/>'
        '<Access url="https://sp.example.com/access"/>'
        '<Authorization url="https://sp.example.com/authorize"/>'
        "</Service></OAuth>"
    ),
    user_prefs=(
        '<UserPref name="color" display_name="__MSG_c__" datatype="enum" '
        'default_value="r" required="true">'
        '<EnumValue value="r" display_value="Red"/><EnumValue value="g"/></UserPref>'
    ),
).replace(
    'title="__MSG_title__"',
    'title="__MSG_title__" title_url="about.html" author="Ada" height="200" '
    'scrolling="true" category="tools" thumbnail="http://img.example.com/t.png"',
)


def post(client: Client, payload: object, **extra: str):
    body = payload if isinstance(payload, str) else json.dumps(payload)
    return client.post(
        "/gadgets/metadata", body, content_type="application/json", **extra
    )


@pytest.fixture
def served(fake_upstream):
    fake_upstream.add(SPEC_URL, RICH)
    fake_upstream.add(BROKEN_URL, "<Module>")
    return fake_upstream


@pytest.mark.django_db
def test_metadata_describes_a_gadget_in_the_legacy_shape(client, served) -> None:
    response = post(
        client,
        {
            "context": {"view": "home", "language": "de", "country": "AT"},
            "gadgets": [{"url": SPEC_URL, "moduleId": 5, "prefs": {"color": "g"}}],
        },
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    (entry,) = response.json()["gadgets"]
    assert entry["url"] == SPEC_URL
    assert entry["moduleId"] == 5
    assert entry["title"] == "Wetter"
    assert entry["titleUrl"] == "http://gadgets.example.com/about.html"
    assert entry["thumbnail"] == "http://img.example.com/t.png"
    assert entry["author"] == "Ada"
    assert entry["height"] == 200 and entry["width"] == 0
    assert entry["scrolling"] is True and entry["singleton"] is False
    assert entry["categories"] == ["tools", ""]
    assert entry["views"]["canvas"] == {
        "type": "html",
        "quirks": False,
        "preferredHeight": 300,
        "preferredWidth": 0,
        "attributes": {"extra": "1"},
    }
    assert entry["views"]["home"]["quirks"] is True
    assert "dynamic-height" in entry["features"]
    assert "tabs.canvas" in entry["features"]
    assert entry["featureDetails"]["tabs.canvas"] == {
        "required": False,
        "parameters": {"s": ["1"]},
    }
    assert entry["userPrefs"]["color"] == {
        "displayName": "Colour",
        "type": "enum",
        "default": "r",
        "required": True,
        "enumValues": {"r": "Red", "g": "g"},
        "orderedEnumValues": [
            {"value": "r", "displayValue": "Red"},
            {"value": "g", "displayValue": "g"},
        ],
    }
    assert entry["links"] == {"icon": "http://gadgets.example.com/icon.png"}
    assert entry["oauth"] == {
        "contacts": {
            "request": "https://sp.example.com/request",
            "access": "https://sp.example.com/access",
            "authorization": "https://sp.example.com/authorize",
        }
    }


@pytest.mark.django_db
def test_iframe_url_carries_a_token_for_the_logged_in_person(
    client, served, django_user_model
) -> None:
    client.force_login(django_user_model.objects.create_user("alice", password="x"))
    payload = {"gadgets": [{"url": SPEC_URL, "moduleId": 2, "prefs": {"color": "g"}}]}
    (entry,) = post(client, payload).json()["gadgets"]
    split = urlsplit(entry["iframeUrl"])
    assert entry["iframeUrl"].startswith(gadget_origin(SPEC_URL) + "/gadgets/ifr?")
    fragment = parse_qs(split.fragment)
    token = decode_token(fragment["st"][0])
    assert (token.owner, token.viewer, token.module_id) == ("alice", "alice", 2)
    assert fragment["up_color"] == ["g"]


@pytest.mark.django_db
def test_anonymous_visitor_gets_an_anonymous_token(client, served) -> None:
    (entry,) = post(client, {"gadgets": [{"url": SPEC_URL}]}).json()["gadgets"]
    st = parse_qs(urlsplit(entry["iframeUrl"]).fragment)["st"][0]
    token = decode_token(st)
    assert token.owner == "" and token.is_anonymous


@pytest.mark.django_db
def test_a_failing_gadget_gets_errors_and_the_others_still_work(client, served) -> None:
    payload = {
        "gadgets": [
            {"url": BROKEN_URL, "moduleId": 1},
            {"url": SPEC_URL, "moduleId": 2},
            {"url": "http://gadgets.example.com/missing.xml", "moduleId": 3},
            {"url": "ftp://x/y.xml", "moduleId": 4},
        ]
    }
    entries = post(client, payload).json()["gadgets"]
    assert [entry["moduleId"] for entry in entries] == [1, 2, 3, 4]
    broken, ok, missing, ftp = entries
    assert set(broken) == {"url", "moduleId", "errors"}
    assert broken["url"] == BROKEN_URL
    assert "not well-formed" in broken["errors"][0]
    assert ok["title"] == "Weather"
    assert missing["errors"] and ftp["errors"]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ("{not json", "not valid JSON"),
        ("[]", '"gadgets" list'),
        ('{"gadgets": {}}', '"gadgets" list'),
        ('{"gadgets": [1]}', "gadgets[0]"),
        ('{"gadgets": [{"moduleId": 1}]}', '"url"'),
        ('{"gadgets": [{"url": "http://a/", "moduleId": -1}]}', "moduleId"),
        ('{"gadgets": [{"url": "http://a/", "prefs": []}]}', "prefs"),
        ('{"context": [], "gadgets": []}', "context"),
        ('{"context": {"view": 3}, "gadgets": []}', "view"),
    ],
)
@pytest.mark.django_db
def test_malformed_requests_are_400_with_a_json_error(client, body, named) -> None:
    response = post(client, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "bad_request"
    assert named in error["message"]


@pytest.mark.django_db
def test_too_many_gadgets_are_refused(client) -> None:
    response = post(client, {"gadgets": [{"url": SPEC_URL}] * 101})
    assert response.status_code == 400


@pytest.mark.django_db
def test_get_is_not_allowed(client) -> None:
    assert client.get("/gadgets/metadata").status_code == 405


@pytest.mark.django_db
def test_csrf_protection_is_kept(served) -> None:
    response = post(Client(enforce_csrf_checks=True), {"gadgets": []})
    assert response.status_code == 403


@pytest.mark.django_db
def test_metadata_is_not_served_on_gadget_hosts(client, served) -> None:
    from gadgets.tests.render_helpers import host_for

    response = post(client, {"gadgets": []}, HTTP_HOST=host_for())
    assert response.status_code == 404


async def test_gadget_metadata_is_callable_from_python(monkeypatch) -> None:
    use_spec(monkeypatch, RICH)
    entries = await gadget_metadata(
        [GadgetRequest(SPEC_URL, 7, {})],
        owner="owner",
        viewer="viewer",
        context=MetadataContext(view="canvas", language="de"),
    )
    assert entries[0]["title"] == "Wetter"
    assert "view=canvas" in str(entries[0]["iframeUrl"])
