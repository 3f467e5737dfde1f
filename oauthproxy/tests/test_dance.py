from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from gadgets.locked_domain import locked_host
from oauthproxy import dance
from oauthproxy.models import AccessToken, PendingDance

from .conftest import GADGET, st

pytestmark = pytest.mark.django_db


def _data(result):
    assert result.status == 200, result
    return json.loads(result.body)


def test_first_request_returns_an_approval_url_and_a_binding(world):
    result = world.fetch()
    assert result.status == 200 and result.body == b""
    assert result.approval_url.startswith(
        world.provider.authorize_url + "?oauth_token="
    )
    assert result.oauth_state and not result.oauth_error
    assert result.binding_cookie is not None
    dance_row = PendingDance.objects.get()
    assert dance_row.viewer == "alice" and dance_row.service_name == "contacts"
    sent = world.provider.received[0]["params"]
    callback = dict(sent)["oauth_callback"]
    assert callback.startswith(
        f"http://{locked_host(GADGET)}/gadgets/oauthcallback?state="
    )
    assert not any(name.startswith("opensocial") for name, _ in sent)
    assert AccessToken.objects.count() == 0


def test_full_dance_stores_the_token_and_the_next_request_gets_data(world, client):
    first = world.fetch()
    response = world.callback(client, world.approve(first), first.binding_cookie)
    assert response.status_code == 200
    page = response.content.decode()
    assert '"gadgets.oauth.approved"' in page
    assert json.dumps(f"http://{locked_host(GADGET)}") in page
    assert AccessToken.objects.count() == 1
    data = _data(world.fetch())
    assert data["user"] == "alice"
    assert dict(data["params"])["opensocial_viewer_id"] == "alice"


def _on_container(client, response):
    """Follow the gadget host's redirect to the container host's callback."""
    assert response.status_code == 302, response.content
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}" == "http://localhost:8000"
    assert response["Referrer-Policy"] == "no-referrer"
    return client.get(f"{location.path}?{location.query}", HTTP_HOST="localhost:8000")


def test_callback_from_another_browser_is_refused_and_nothing_stored(
    world, client, django_user_model
):
    first = world.fetch()
    redirect = world.approve(first, user="victim")
    client.force_login(django_user_model.objects.create(username="victim"))
    page = _on_container(client, world.callback(client, redirect, None))
    assert page.status_code == 403
    assert "another person" in page.content.decode()
    assert "gadgets.oauth.approved" not in page.content.decode()
    assert AccessToken.objects.count() == 0
    client.cookies[first.binding_cookie.name] = "forged-binding"
    page = _on_container(client, world.callback(client, redirect, None))
    assert page.status_code == 403
    assert AccessToken.objects.count() == 0
    assert PendingDance.objects.get().used_at is None


def test_browser_without_the_binding_completes_with_the_viewers_session(
    world, client, django_user_model
):
    first = world.fetch()
    redirect = world.approve(first)
    client.force_login(django_user_model.objects.create(username="alice"))
    page = _on_container(client, world.callback(client, redirect, None))
    assert page.status_code == 200, page.content
    assert json.dumps(f"http://{locked_host(GADGET)}") in page.content.decode()
    assert AccessToken.objects.get().viewer == "alice"
    assert _data(world.fetch())["user"] == "alice"
    again = world.callback(client, redirect, None)
    assert again.status_code == 400 and "already used" in again.content.decode()


def test_browser_without_session_or_binding_is_asked_to_sign_in(world, client):
    first = world.fetch()
    redirect = world.approve(first)
    page = _on_container(client, world.callback(client, redirect, None))
    assert page.status_code == 401
    assert "/accounts/login/?next=%2Fgadgets%2Foauthcallback" in page.content.decode()
    assert AccessToken.objects.count() == 0


def test_refused_browser_can_finish_through_the_gadget_frame(world, client):
    first = world.fetch()
    redirect = world.approve(first)
    world.callback(client, redirect, None)
    result = world.fetch(received_callback=redirect)
    assert _data(result)["user"] == "alice"


def test_received_callback_from_another_viewer_completes_nothing(world, client):
    first = world.fetch()
    redirect = world.approve(first, user="victim")
    result = world.fetch(received_callback=redirect, token=st("mallory"))
    assert result.approval_url
    assert not AccessToken.objects.filter(viewer="alice").exists()
    assert PendingDance.objects.filter(used_at__isnull=True, viewer="alice").exists()


def test_replayed_callback_is_refused(world, client):
    first = world.fetch()
    redirect = world.approve(first)
    assert world.callback(client, redirect, first.binding_cookie).status_code == 200
    again = world.callback(client, redirect, first.binding_cookie)
    assert again.status_code == 400 and "already used" in again.content.decode()
    assert AccessToken.objects.count() == 1


def test_tampered_state_or_token_is_refused(world, client):
    first = world.fetch()
    redirect = world.approve(first)
    forged_state = redirect.replace("state=", "state=x")
    assert world.callback(client, forged_state, first.binding_cookie).status_code == 400
    token = parse_qs(urlsplit(redirect).query)["oauth_token"][0]
    forged_token = redirect.replace(token, "someone-elses-token")
    response = world.callback(client, forged_token, first.binding_cookie)
    assert (
        response.status_code == 400
        and "different request token" in response.content.decode()
    )
    assert AccessToken.objects.count() == 0


def test_expired_dance_is_refused(world, client):
    first = world.fetch()
    PendingDance.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = world.callback(client, world.approve(first), first.binding_cookie)
    assert response.status_code == 400 and "expired" in response.content.decode()
    assert AccessToken.objects.count() == 0


def test_callback_on_another_gadgets_host_is_refused(world, client):
    first = world.fetch()
    host = locked_host("http://gadgets.example/other.xml")
    response = world.callback(
        client, world.approve(first), first.binding_cookie, host=host
    )
    assert response.status_code == 400
    assert AccessToken.objects.count() == 0


def test_manual_approved_link_finds_the_token(world, client):
    world.connect(client)
    assert _data(world.fetch())["user"] == "alice"


def test_expired_token_is_refreshed_ahead_with_the_session_handle(world, client):
    world.provider.session_extension = True
    world.provider.access_token_lifetime = 3600
    world.connect(client)
    old = AccessToken.objects.get()
    AccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=5))
    assert _data(world.fetch())["user"] == "alice"
    new = AccessToken.objects.get()
    assert new.get_credentials()[0] != old.get_credentials()[0]
    assert new.get_credentials()[2] == old.get_credentials()[2]
    assert new.expires_at > timezone.now()


def test_access_token_expired_problem_triggers_a_refresh_and_retry(world, client):
    world.provider.session_extension = True
    world.connect(client)
    world.provider.expire_access_tokens()
    assert _data(world.fetch())["user"] == "alice"
    refreshes = [
        r
        for r in world.provider.received
        if "oauth_session_handle" in dict(r["params"])
    ]
    assert len(refreshes) == 1


def test_revoked_token_leads_back_to_an_approval_url(world, client):
    world.connect(client)
    world.provider.revoke_access_tokens()
    result = world.fetch()
    assert result.approval_url and not result.oauth_error
    assert AccessToken.objects.count() == 0


def test_revoked_token_reported_in_the_body_is_understood(world, client):
    world.provider.problem_in = "body"
    world.connect(client)
    world.provider.revoke_access_tokens()
    assert world.fetch().approval_url
    assert AccessToken.objects.count() == 0


def test_provider_5xx_leaves_the_token_intact(world, client):
    world.connect(client)
    world.provider.fail_with = 503
    result = world.fetch()
    assert result.status == 503 and not result.approval_url
    assert "HTTP 503" in result.oauth_error_text
    assert AccessToken.objects.count() == 1
    world.provider.fail_with = None
    assert _data(world.fetch())["user"] == "alice"


def test_provider_timeout_leaves_the_token_intact(world, client):
    world.connect(client)
    world.provider.timeout = True
    result = world.fetch()
    assert result.status == 403 and result.oauth_error == "MISSING_SERVER_RESPONSE"
    assert "'contacts'" in result.oauth_error_text
    assert AccessToken.objects.count() == 1


def test_temporary_problem_keeps_the_token(world, client):
    world.connect(client)
    world.provider.forced_problem = (403, "consumer_key_refused")
    result = world.fetch()
    assert result.status == 403 and result.oauth_error == "consumer_key_refused"
    assert "kept" in result.oauth_error_text
    assert AccessToken.objects.count() == 1


def test_fatal_problem_deletes_the_token_and_reports(world, client):
    world.connect(client)
    world.provider.forced_problem = (401, "consumer_key_unknown")
    result = world.fetch()
    assert result.oauth_error == "consumer_key_unknown" and not result.approval_url
    assert AccessToken.objects.count() == 0


def test_at_most_two_attempts_per_request(world, client):
    world.provider.session_extension = True
    world.connect(client)
    world.provider.forced_problem = (401, "access_token_expired")
    before = len(world.provider.received)
    result = world.fetch()
    resource_calls = [
        r
        for r in world.provider.received[before:]
        if r["url"].startswith(world.provider.resource_url)
    ]
    assert len(resource_calls) == 2
    assert result.status != 200 or result.oauth_error


def test_if_available_without_token_signs_two_legged(world):
    result = world.fetch(use_token=dance.IF_AVAILABLE)
    data = _data(result)
    assert data["user"] == "" and "oauth_token" not in dict(data["params"])
    assert PendingDance.objects.count() == 0


def test_if_available_after_revocation_passes_through_without_prompting(world, client):
    world.connect(client)
    world.provider.revoke_access_tokens()
    result = world.fetch(use_token=dance.IF_AVAILABLE)
    assert not result.approval_url and _data(result)["user"] == ""


def test_unauthenticated_viewer_cannot_start_a_dance(world):
    result = world.fetch(token=st(viewer="", owner="alice"))
    assert result.status == 403 and result.oauth_error == "UNAUTHENTICATED"


def test_viewer_who_is_not_the_owner_may_not_approve(world, client):
    world.connect(client)
    result = world.fetch(token=st(viewer="bob", owner="alice"))
    assert (
        result.oauth_error == "NOT_OWNER" and "page owners" in result.oauth_error_text
    )
    shared = world.fetch(
        token=st(viewer="bob", owner="alice"), use_token=dance.IF_AVAILABLE
    )
    assert _data(shared)["user"] == ""


def test_preapproved_request_token_is_exchanged_directly(world):
    token, secret = world.provider.preapprove("contacts-gadget")
    result = world.fetch(request_token=token, request_token_secret=secret)
    assert _data(result)["user"] == "alice"
    assert AccessToken.objects.count() == 1


def test_access_token_data_passes_through_once(world):
    world.provider.extra_access_params = {"user_id": "42", "xoauth_guid": "G"}
    token, secret = world.provider.preapprove("contacts-gadget")
    result = world.fetch(
        url=world.provider.access_token_url,
        request_token=token,
        request_token_secret=secret,
    )
    assert result.status == 200
    assert json.loads(result.body) == {"user_id": "42", "xoauth_guid": "G"}
    assert ("content-type", "application/json; charset=utf-8") in result.headers


def test_reserved_parameters_are_refused(world):
    result = world.fetch(url=world.provider.resource_url + "?%6Fpensocial_owner_id=eve")
    assert result.oauth_error == "INVALID_PARAMETER"
    body = world.fetch(
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=b"a=1&xoauth_public_key=k",
    )
    assert body.oauth_error == "INVALID_PARAMETER"


def test_unknown_service_names_the_known_ones(world):
    result = world.fetch(service_name="photos")
    assert result.oauth_error == "BAD_OAUTH_CONFIGURATION"
    assert (
        "'photos'" in result.oauth_error_text
        and "'contacts'" in result.oauth_error_text
    )


def test_unconfirmed_callback_provider_is_refused(world):
    world.provider.confirm_callback = False
    result = world.fetch()
    assert result.oauth_error == "MISSING_OAUTH_PARAMETER"
    assert "session fixation" in result.oauth_error_text


def test_oauth_state_is_bound_to_its_key(world):
    from oauthproxy import state

    result = world.fetch()
    request = world.request()
    assert state.open_state(result.oauth_state, request.key) is not None
    other = world.request(token_name="other")
    assert state.open_state(result.oauth_state, other.key) is None
    assert state.open_state(result.oauth_state + "x", request.key) is None


def test_use_token_values(world):
    assert dance.parse_use_token(None, "signed") == "never"
    assert dance.parse_use_token(None, "oauth") == "always"
    assert dance.parse_use_token("IF_AVAILABLE", "oauth") == "if_available"
    with pytest.raises(Exception, match="OAUTH_USE_TOKEN"):
        dance.parse_use_token("sometimes", "oauth")
