"""A disabled consumer registration stops being used at once."""

from __future__ import annotations

import json

import pytest

from oauthproxy.models import ConsumerRegistration

from .conftest import GADGET

pytestmark = pytest.mark.django_db


def _disable(service: str = "contacts") -> None:
    row = ConsumerRegistration.objects.get(gadget_url=GADGET, service_name=service)
    row.enabled = False
    row.save()


def test_disabled_registration_is_refused_not_signed_with_the_container_key(world):
    _disable()
    calls_before = len(world.fake.calls)

    result = world.fetch()

    assert result.oauth_error == "BAD_OAUTH_CONFIGURATION"
    assert "is disabled" in result.oauth_error_text
    assert "'contacts'" in result.oauth_error_text
    # Only the spec may be fetched: nothing goes to the provider.
    assert all(
        world.provider.base not in call.url for call in world.fake.calls[calls_before:]
    )


def test_disabling_takes_effect_on_a_connected_token(world, client):
    world.connect(client)
    assert json.loads(world.fetch().body)

    _disable()
    result = world.fetch()

    assert result.oauth_error == "BAD_OAUTH_CONFIGURATION"


def test_enabling_again_restores_service(world, client):
    world.connect(client)
    _disable()
    row = ConsumerRegistration.objects.get(gadget_url=GADGET, service_name="contacts")
    row.enabled = True
    row.save()

    result = world.fetch()
    # Either the stored token is used, or (where disabling retired it) the
    # person is asked to approve again: the registration is in use.
    assert result.oauth_error != "BAD_OAUTH_CONFIGURATION"
    assert result.status == 200 or result.approval_url


def test_other_services_of_the_gadget_are_unaffected(world):
    _disable("calendar")

    assert world.fetch().approval_url
