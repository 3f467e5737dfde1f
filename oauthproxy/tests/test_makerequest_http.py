"""authz=oauth and authz=signed through /gadgets/makeRequest over HTTP."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from asgiref.sync import async_to_sync

from gadgets.locked_domain import locked_host
from gadgets.security_token import encode_token
from gadgets.tests.test_makerequest_view import HostClient
from oauthproxy import dance
from oauthproxy.models import AccessToken, PendingDance

from .conftest import GADGET

pytestmark = pytest.mark.django_db

PREFIX = b"throw 1; < don't be evil' >"


def _token(viewer: str = "alice", owner: str | None = None) -> str:
    return encode_token(
        owner=owner or viewer, viewer=viewer, gadget_url=GADGET, module_id=1
    )


def _post(world: Any, client: HostClient, **params: str) -> Any:
    fields = {
        "url": world.provider.resource_url,
        "authz": "oauth",
        "OAUTH_SERVICE_NAME": "contacts",
        "contentType": "JSON",
        "st": _token(),
        **params,
    }
    return async_to_sync(client.post)(
        "/gadgets/makeRequest",
        urlencode(fields),
        content_type="application/x-www-form-urlencoded",
    )


def _entry(response: Any, url: str) -> dict[str, Any]:
    assert response.status_code == 200, response.content
    assert response.content.startswith(PREFIX)
    data = json.loads(response.content[len(PREFIX) :])
    assert list(data) == [url]
    return data[url]  # type: ignore[no-any-return]


@pytest.fixture
def gadget_client() -> HostClient:
    return HostClient(locked_host(GADGET))


def test_first_oauth_request_answers_an_approval_url_and_sets_the_binding(
    world, gadget_client
):
    response = _post(world, gadget_client)
    entry = _entry(response, world.provider.resource_url)
    assert entry["rc"] == 200 and entry["body"] == ""
    assert entry["oauthApprovalUrl"].startswith(world.provider.authorize_url)
    assert entry["oauthState"]
    assert "oauthError" not in entry
    [cookie] = response.cookies.values()
    assert cookie.key.startswith("oauth_binding_")
    assert cookie["path"] == "/gadgets/oauthcallback"
    assert cookie["httponly"] and cookie["secure"]
    assert cookie["samesite"] == "None"
    assert cookie.value not in response.content.decode()
    assert response["Cache-Control"] == "private, no-store"


def test_whole_dance_over_http_then_data_with_no_new_approval(
    world, gadget_client, client
):
    first = _post(world, gadget_client)
    entry = _entry(first, world.provider.resource_url)
    [cookie] = first.cookies.values()
    request_token = parse_qs(urlsplit(entry["oauthApprovalUrl"]).query)["oauth_token"][
        0
    ]
    redirect = urlsplit(world.provider.approve(request_token))
    client.cookies[cookie.key] = cookie.value
    page = client.get(f"{redirect.path}?{redirect.query}", HTTP_HOST=redirect.netloc)
    assert page.status_code == 200, page.content
    assert AccessToken.objects.filter(viewer="alice").count() == 1

    data = _entry(_post(world, gadget_client), world.provider.resource_url)
    assert data["rc"] == 200
    assert "oauthApprovalUrl" not in data
    assert json.loads(data["body"])["user"] == "alice"


def test_received_callback_finishes_for_a_browser_that_lost_the_binding(
    world, gadget_client
):
    entry = _entry(_post(world, gadget_client), world.provider.resource_url)
    request_token = parse_qs(urlsplit(entry["oauthApprovalUrl"]).query)["oauth_token"][
        0
    ]
    redirect = world.provider.approve(request_token)
    data = _entry(
        _post(world, gadget_client, OAUTH_RECEIVED_CALLBACK=redirect),
        world.provider.resource_url,
    )
    assert json.loads(data["body"])["user"] == "alice"
    assert PendingDance.objects.get().used_at is not None


def test_viewer_who_is_not_the_owner_gets_not_owner(world, gadget_client):
    entry = _entry(
        _post(world, gadget_client, st=_token("mallory", owner="alice")),
        world.provider.resource_url,
    )
    assert entry["rc"] == 403
    assert entry["oauthError"] == "NOT_OWNER"
    assert "owner" in entry["oauthErrorText"]


def test_bad_use_token_value_is_a_clear_400(world, gadget_client):
    response = _post(world, gadget_client, OAUTH_USE_TOKEN="sometimes")
    assert response.status_code == 400
    assert b"OAUTH_USE_TOKEN" in response.content


def test_reserved_parameter_in_the_url_is_refused(world, gadget_client):
    response = _post(
        world, gadget_client, url=world.provider.resource_url + "?oauth_token=x"
    )
    assert response.status_code == 400
    assert b"oauth_token" in response.content
    assert not world.provider.received


def test_oauth_answers_are_never_cached(world, gadget_client):
    _post(world, gadget_client)
    _post(world, gadget_client)
    assert PendingDance.objects.count() == 2


def test_signed_fetch_over_http_sends_identity_parameters(world, gadget_client):
    from oauthproxy import keys

    key = keys.container_key()
    world.provider.add_consumer(key.consumer_key, key.certificate_pem, "RSA")
    entry = _entry(
        _post(world, gadget_client, authz="signed", OAUTH_SERVICE_NAME=""),
        world.provider.resource_url,
    )
    assert entry["rc"] == 200, entry
    params = dict(json.loads(entry["body"])["params"])
    assert params["opensocial_viewer_id"] == "alice"
    assert params["oauth_signature_method"] == "RSA-SHA1"


def test_the_same_function_serves_http_and_direct_calls(world):
    request = world.request()
    assert async_to_sync(dance.fetch)(request).approval_url


def test_warm_oauth_makerequest_over_http_makes_at_most_two_queries(
    world, gadget_client, client, django_assert_max_num_queries
):
    world.connect(client)
    _post(world, gadget_client)  # fills the registration cache
    before = len(world.fake.calls)
    with django_assert_max_num_queries(2):
        entry = _entry(_post(world, gadget_client), world.provider.resource_url)
    assert json.loads(entry["body"])["user"] == "alice"
    [call] = world.fake.calls[before:]  # the resource only: no spec fetch
    assert call.url.startswith(world.provider.resource_url + "?")


def test_a_secret_under_a_missing_key_fails_closed_in_the_envelope(
    world, gadget_client, caplog
):
    from cryptography.fernet import Fernet
    from django.test import override_settings

    with override_settings(ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        entry = _entry(_post(world, gadget_client), world.provider.resource_url)
    assert entry["rc"] == 403
    assert entry["oauthError"] == "BAD_OAUTH_CONFIGURATION"
    assert "encryption key" in entry["oauthErrorText"]
    assert not world.provider.received
    assert any(
        r.levelname == "ERROR" and "ENCRYPTION_KEYS" in r.getMessage()
        for r in caplog.records
    )
