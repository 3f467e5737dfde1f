"""``/gadgets/ifr`` over HTTP: routing, headers, errors, preloads, budget."""

from __future__ import annotations

import json
import re

import pytest

from gadgets import features
from gadgets.render import RenderParams, cache_control
from gadgets.tests.render_helpers import SPEC_URL, host_for, spec_xml

pytestmark = pytest.mark.django_db

PRELOAD_URL = "http://data.example.com/feed.json"


def ifr(client, host: str | None = None, **params: str):
    query = {"url": SPEC_URL, **params}
    return client.get("/gadgets/ifr", query, HTTP_HOST=host or host_for())


@pytest.fixture
def hello(fake_upstream):
    fake_upstream.add(SPEC_URL, spec_xml())
    return fake_upstream


def test_renders_on_the_gadgets_own_host(client, hello) -> None:
    response = ifr(client)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=UTF-8"
    assert '<p id="hi">Hello</p>' in response.content.decode()


def test_page_may_be_framed_by_the_container_only(client, hello, settings) -> None:
    response = ifr(client)
    assert "X-Frame-Options" not in response
    assert response["Content-Security-Policy"] == (
        f"frame-ancestors {settings.CONTAINER_ORIGIN}"
    )
    assert response["Referrer-Policy"] == "no-referrer"


def test_post_renders_too(client, hello) -> None:
    response = client.post(
        "/gadgets/ifr?url=" + SPEC_URL, {"view": "default"}, HTTP_HOST=host_for()
    )
    assert response.status_code == 200


def test_container_host_does_not_serve_ifr(client, hello, settings) -> None:
    response = ifr(client, host=settings.CONTAINER_HOST)
    assert response.status_code == 404
    assert hello.calls == []


def test_another_gadgets_host_is_refused_with_403(client, hello) -> None:
    response = ifr(client, host=host_for("http://other.example.com/g.xml"))
    assert response.status_code == 403
    assert "may only be rendered on its own host" in response.content.decode()
    assert hello.calls == []


def test_loop_guard_header_is_refused(client, hello) -> None:
    response = client.get(
        "/gadgets/ifr", {"url": SPEC_URL}, HTTP_HOST=host_for(), HTTP_X_SHINDIG_DOS="on"
    )
    assert response.status_code == 403
    assert hello.calls == []


def test_missing_url_is_400(client) -> None:
    response = client.get("/gadgets/ifr", HTTP_HOST=host_for())
    assert response.status_code == 400
    assert "url parameter" in response.content.decode()


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"mid": "x1"}, "mid"),
        ({"lang": "<script>"}, "lang"),
        ({"country": "U_S"}, "country"),
        ({"libs": "core:<b>"}, "libs"),
        ({"parent": "http://evil.example.com"}, "parent"),
    ],
)
def test_bad_parameters_are_400_naming_them(client, hello, params, named) -> None:
    response = ifr(client, **params)
    assert response.status_code == 400
    text = response.content.decode()
    assert named in text
    assert "<script>" not in text and "<b>" not in text


def test_unsupported_required_feature_is_400_naming_it(client, fake_upstream) -> None:
    fake_upstream.add(SPEC_URL, spec_xml(module_prefs='<Require feature="wave"/>'))
    response = ifr(client)
    assert response.status_code == 400
    assert "wave" in response.content.decode()


def test_malformed_spec_is_a_clear_4xx(client, fake_upstream) -> None:
    fake_upstream.add(SPEC_URL, "<Module><ModulePrefs></Module>")
    response = ifr(client)
    assert 400 <= response.status_code < 500
    assert "not well-formed" in response.content.decode()


def test_unreachable_spec_is_a_clear_error_not_a_500(client, fake_upstream) -> None:
    response = ifr(client)
    assert response.status_code in (502, 504)
    assert SPEC_URL in response.content.decode()


def test_missing_view_is_404(client, fake_upstream) -> None:
    fake_upstream.add(SPEC_URL, spec_xml('<Content view="canvas">c</Content>'))
    response = ifr(client, view="profile")
    assert response.status_code == 404


def test_url_view_redirects(client, fake_upstream) -> None:
    fake_upstream.add(
        SPEC_URL, spec_xml('<Content type="url" href="http://app.example.com/page"/>')
    )
    response = ifr(client)
    assert response.status_code == 302
    assert response["Location"].startswith("http://app.example.com/page?url=")


def test_error_messages_are_html_escaped(client, fake_upstream) -> None:
    fake_upstream.add(SPEC_URL, spec_xml('<Content view="a">x</Content>'))
    response = ifr(client, view="<img src=x onerror=alert(1)>")
    assert response.status_code == 404
    assert "<img" not in response.content.decode()
    assert "&lt;img" in response.content.decode()


# -- caching -------------------------------------------------------------


def test_cache_headers_follow_nocache_and_version(client, hello, settings) -> None:
    ttl = settings.GADGETS["SPEC_TTL_SECONDS"]
    assert ifr(client)["Cache-Control"] == f"public, max-age={ttl}"
    current = ifr(client, v=features.version())
    assert current["Cache-Control"] == f"public, max-age={ttl}"
    assert ifr(client, v="stale")["Cache-Control"] == "no-cache"
    assert "no-store" in ifr(client, nocache="1")["Cache-Control"]


def test_cache_control_rules() -> None:
    params = RenderParams(url=SPEC_URL, host="h")
    assert cache_control(params).startswith("public")
    assert "no-store" in cache_control(
        RenderParams(url=SPEC_URL, host="h", nocache=True)
    )


def test_warm_render_makes_no_outbound_call_and_few_queries(
    client, hello, django_assert_max_num_queries
) -> None:
    assert ifr(client).status_code == 200
    calls = len(hello.calls)
    with django_assert_max_num_queries(2):
        response = ifr(client)
    assert response.status_code == 200
    assert len(hello.calls) == calls


def test_warm_render_with_preload_makes_no_outbound_call(
    client, fake_upstream, django_assert_max_num_queries
) -> None:
    fake_upstream.add(
        SPEC_URL, spec_xml(module_prefs=f'<Preload href="{PRELOAD_URL}"/>')
    )
    fake_upstream.add(PRELOAD_URL, '{"a": 1}')
    assert ifr(client).status_code == 200
    calls = len(fake_upstream.calls)
    with django_assert_max_num_queries(2):
        response = ifr(client)
    assert len(fake_upstream.calls) == calls
    assert preloaded(response)[0]["body"] == '{"a": 1}'


# -- preloads ------------------------------------------------------------


def preloaded(response) -> list:
    match = re.search(
        r"gadgets\.io\.preloaded_=(.*?);</script>", response.content.decode()
    )
    assert match
    return json.loads(match.group(1))


def test_unauthenticated_preloads_are_fetched_and_injected(
    client, fake_upstream
) -> None:
    other = "http://data.example.com/canvas-only"
    fake_upstream.add(
        SPEC_URL,
        spec_xml(
            module_prefs=(
                f'<Preload href="{PRELOAD_URL}"/>'
                f'<Preload href="{other}" views="canvas"/>'
                '<Preload href="http://data.example.com/signed" authz="signed"/>'
            )
        ),
    )
    fake_upstream.add(
        PRELOAD_URL,
        '{"a": "</script>"}',
        headers=[
            ("content-type", "application/json"),
            ("set-cookie", "k=v"),
            ("x-a", "b"),
        ],
    )
    response = ifr(client)
    assert preloaded(response) == [
        {
            "id": PRELOAD_URL,
            "rc": 200,
            "body": '{"a": "</script>"}',
            "headers": {"set-cookie": ["k=v"]},
        }
    ]
    assert '"</script>"' not in response.content.decode()
    fetched = [call.url for call in fake_upstream.calls]
    assert other not in fetched
    assert "http://data.example.com/signed" not in fetched


def test_failed_preload_gives_an_error_entry_not_a_failed_page(
    client, fake_upstream
) -> None:
    fake_upstream.add(
        SPEC_URL, spec_xml(module_prefs=f'<Preload href="{PRELOAD_URL}"/>')
    )
    response = ifr(client)
    assert response.status_code == 200
    assert preloaded(response) == [{"id": PRELOAD_URL, "rc": 502, "body": ""}]


def test_preloads_are_fetched_concurrently(client, fake_upstream) -> None:
    urls = [f"http://data.example.com/{n}" for n in range(3)]
    fake_upstream.add(
        SPEC_URL,
        spec_xml(module_prefs="".join(f'<Preload href="{u}"/>' for u in urls)),
    )
    for url in urls:
        fake_upstream.add(url, url)
    assert [entry["body"] for entry in preloaded(ifr(client))] == urls
