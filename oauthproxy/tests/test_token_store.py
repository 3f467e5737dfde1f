from __future__ import annotations

import itertools
import json

import pytest
from asgiref.sync import async_to_sync

from oauthproxy import dance
from oauthproxy.client import TokenResponse
from oauthproxy.models import AccessToken, token_key

from .conftest import GADGET, OTHER_GADGET, st

pytestmark = pytest.mark.django_db

USERS = ("alice", "bob")
GADGETS = (GADGET, OTHER_GADGET)
MODULES = (1, 2)
SERVICES = ("contacts", "calendar")
TOKEN_NAMES = ("", "readonly")


def test_key_matrix_exactly_one_combination_finds_the_token():
    identity = dance.TokenIdentity("alice", GADGET, 1, "contacts", "readonly")
    async_to_sync(dance.store_token)(identity, TokenResponse("t", "s"))
    found = []
    for combo in itertools.product(USERS, GADGETS, MODULES, SERVICES, TOKEN_NAMES):
        if async_to_sync(dance._stored_token)(token_key(*combo)) is not None:
            found.append(combo)
    assert found == [("alice", GADGET, 1, "contacts", "readonly")]


def test_key_matrix_through_makerequest(world, client):
    world.connect(client, token_name="readonly")
    seen = {}
    for user, gadget, module, service, name in itertools.product(
        USERS, GADGETS, MODULES, SERVICES, TOKEN_NAMES
    ):
        result = world.fetch(
            token=st(user, gadget=gadget, module_id=module),
            service_name=service,
            token_name=name,
            use_token=dance.IF_AVAILABLE,
        )
        seen[(user, gadget, module, service, name)] = json.loads(result.body)["user"]
    holders = [combo for combo, user in seen.items() if user]
    assert holders == [("alice", GADGET, 1, "contacts", "readonly")]


def test_deletion_uses_the_same_key_and_removes_only_that_token():
    for name in TOKEN_NAMES:
        identity = dance.TokenIdentity("alice", GADGET, 1, "contacts", name)
        async_to_sync(dance.store_token)(identity, TokenResponse("t", "s"))
    async_to_sync(dance.delete_token)(
        token_key("alice", "HTTP://GADGETS.example:80/contacts.xml", 1, "contacts", ""),
        reason="test",
    )
    assert list(AccessToken.objects.values_list("token_name", flat=True)) == [
        "readonly"
    ]


def test_storing_again_replaces_the_token():
    identity = dance.TokenIdentity("alice", GADGET, 1, "contacts", "")
    async_to_sync(dance.store_token)(identity, TokenResponse("t1", "s1"))
    async_to_sync(dance.store_token)(identity, TokenResponse("t2", "s2", expires_in=60))
    row = AccessToken.objects.get()
    assert row.get_credentials()[0] == "t2" and row.expires_at is not None


def test_warm_path_makes_at_most_two_queries_and_no_spec_fetch(
    world, client, django_assert_max_num_queries
):
    world.connect(client)
    world.fetch()  # fills the registration cache
    before = len(world.fake.calls)
    with django_assert_max_num_queries(2):
        result = world.fetch()
    assert json.loads(result.body)["user"] == "alice"
    urls = [call.url for call in world.fake.calls[before:]]
    assert len(urls) == 1 and urls[0].startswith(world.provider.resource_url)
