"""GET /gadgets/js/<features>.js on both kinds of host."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from gadgets import features


@pytest.fixture
def container_host(settings) -> str:  # type: ignore[no-untyped-def]
    return str(settings.CONTAINER_HOST)


@pytest.fixture
def gadget_host(settings) -> str:  # type: ignore[no-untyped-def]
    return f"abcdef.{settings.GADGET_DOMAIN}"


def get(host: str, path: str, **headers: str):  # type: ignore[no-untyped-def]
    return Client().get(path, HTTP_HOST=host, **headers)


@pytest.mark.django_db
def test_current_version_is_cached_for_a_year(container_host: str) -> None:
    response = get(container_host, f"/gadgets/js/core:rpc.js?v={features.version()}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"gadgets.rpc =" in response.content


@pytest.mark.django_db
def test_other_versions_are_cached_for_an_hour(container_host: str) -> None:
    response = get(container_host, "/gadgets/js/core.js?v=old")

    assert response["Cache-Control"] == "public, max-age=3600"


@pytest.mark.django_db
def test_gadget_host_serves_the_same_script(
    container_host: str, gadget_host: str
) -> None:
    on_container = get(container_host, "/gadgets/js/dynamic-height.js")
    on_gadget = get(gadget_host, "/gadgets/js/dynamic-height.js")

    assert on_gadget.status_code == 200
    assert on_gadget.content == on_container.content


@pytest.mark.django_db
def test_etag_answers_not_modified(container_host: str) -> None:
    first = get(container_host, "/gadgets/js/core.js")
    again = get(container_host, "/gadgets/js/core.js", HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 304
    assert again["ETag"] == first["ETag"]


@pytest.mark.django_db
def test_loaded_features_after_bang_are_left_out(container_host: str) -> None:
    response = get(container_host, "/gadgets/js/settitle!core.js")
    script = response.content.decode()

    assert "gadgets.window.setTitle" in script
    assert "gadgets.Prefs =" not in script


@pytest.mark.django_db
def test_unknown_feature_is_a_404_naming_it(container_host: str) -> None:
    response = get(container_host, "/gadgets/js/core:no-such-thing.js")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/javascript")
    assert b"'no-such-thing'" in response.content
    assert response.content.startswith(b"/*")


@pytest.mark.django_db
def test_serving_makes_no_sql_queries(container_host: str) -> None:
    get(container_host, "/gadgets/js/core:tabs.js")
    with CaptureQueriesContext(connection) as queries:
        response = get(container_host, "/gadgets/js/core:tabs.js")

    assert response.status_code == 200
    assert len(queries) == 0


@pytest.mark.django_db
def test_post_is_not_allowed(container_host: str) -> None:
    response = Client().post("/gadgets/js/core.js", HTTP_HOST=container_host)

    assert response.status_code == 405


@pytest.mark.django_db
def test_container_script_has_the_container_api(container_host: str) -> None:
    response = get(container_host, "/gadgets/js/container.js")

    assert b"gadgets.container =" in response.content
    assert b"_IG_Prefs" not in response.content
