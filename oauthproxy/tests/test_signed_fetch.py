from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync

from oauthproxy import dance, keys
from oauthproxy.models import ConsumerRegistration

from .conftest import GADGET, st

pytestmark = pytest.mark.django_db


def _signed(world, **kwargs):
    kwargs.setdefault("service_name", "")
    request = world.request(authz="signed", use_token=dance.NEVER, **kwargs)
    return async_to_sync(dance.fetch)(request)


def _trust_container_key(world):
    key = keys.container_key()
    world.provider.add_consumer(key.consumer_key, key.certificate_pem, "RSA")
    return key


def test_signed_fetch_with_the_container_key_sends_identity_and_key_name(world):
    key = _trust_container_key(world)
    result = _signed(world, token=st("alice", owner="olivia"))
    assert result.status == 200, result
    params = dict(json.loads(result.body)["params"])
    assert params["oauth_signature_method"] == "RSA-SHA1"
    assert params["oauth_consumer_key"] == key.consumer_key
    assert params["xoauth_signature_publickey"] == key.name
    assert params["opensocial_owner_id"] == "olivia"
    assert params["opensocial_viewer_id"] == "alice"
    assert params["opensocial_app_url"] == GADGET
    assert "oauth_body_hash" in params
    assert "oauth_token" not in params


def test_sign_flags_choose_the_identity_parameters(world):
    _trust_container_key(world)
    only_owner = dict(json.loads(_signed(world, sign_viewer=False).body)["params"])
    assert (
        "opensocial_owner_id" in only_owner and "opensocial_viewer_id" not in only_owner
    )
    neither = dict(
        json.loads(_signed(world, sign_owner=False, sign_viewer=False).body)["params"]
    )
    assert not any(name.startswith("opensocial") for name in neither)


def test_signed_fetch_uses_the_per_gadget_key_when_registered(world):
    row = ConsumerRegistration(
        gadget_url=GADGET, service_name="", consumer_key="contacts-gadget"
    )
    row.set_secret("consumer-secret-value")
    row.save()
    params = dict(json.loads(_signed(world).body)["params"])
    assert params["oauth_signature_method"] == "HMAC-SHA1"
    assert "xoauth_signature_publickey" not in params


def test_signed_fetch_passes_provider_errors_through_without_deleting(world):
    _trust_container_key(world)
    world.provider.forced_problem = (401, "token_rejected")
    result = _signed(world)
    assert result.status == 403 or result.status == 401
    assert "rejected" in result.oauth_error_text


def test_signed_fetch_does_not_fetch_the_spec(world):
    _trust_container_key(world)
    _signed(world)
    assert not any(call.url == GADGET for call in world.fake.calls)
