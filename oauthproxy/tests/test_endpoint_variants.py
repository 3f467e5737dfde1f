from __future__ import annotations

import json

import pytest

from .conftest import GADGET

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("method", "location"),
    [
        ("GET", "auth-header"),
        ("GET", "uri-query"),
        ("POST", "auth-header"),
        ("POST", "uri-query"),
        ("POST", "post-body"),
    ],
)
def test_dance_works_with_every_token_endpoint_method_and_location(
    world, client, method, location
):
    world.fake.add(GADGET, world.provider.spec_xml(method=method, location=location))
    world.connect(client)
    token_calls = [r for r in world.provider.received if "/oauth/" in r["url"]]
    assert {r["method"] for r in token_calls} == {method}
    data = json.loads(world.fetch().body)
    assert data["user"] == "alice"


def test_oob_is_sent_when_the_registration_says_so(world):
    from oauthproxy.models import ConsumerRegistration

    ConsumerRegistration.objects.filter(service_name="contacts").update(
        callback_url="oob"
    )
    from django.core.cache import cache

    cache.clear()
    world.fetch()
    assert dict(world.provider.received[0]["params"])["oauth_callback"] == "oob"


def test_registered_callback_url_carries_the_state(world):
    from django.core.cache import cache

    from oauthproxy.models import ConsumerRegistration

    ConsumerRegistration.objects.filter(service_name="contacts").update(
        callback_url="https://relay.example/cb?x=1"
    )
    cache.clear()
    world.fetch()
    callback = dict(world.provider.received[0]["params"])["oauth_callback"]
    assert callback.startswith("https://relay.example/cb?x=1&state=")
