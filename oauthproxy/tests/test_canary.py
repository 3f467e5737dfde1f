"""No secret value reaches a log line, a response, a trace or a raw column."""

from __future__ import annotations

import logging
import secrets

import pytest
from django.db import connection

from oauthproxy.models import (
    AccessToken,
    ConsumerRegistration,
    OAuthTrace,
    PendingDance,
)

pytestmark = pytest.mark.django_db

CANARY = "CANARY" + secrets.token_hex(6)


def _canary_tokens(provider) -> list[str]:
    issued: list[str] = []

    def generate() -> str:
        issued.append(f"{CANARY}{len(issued):04d}x" + secrets.token_hex(8))
        return issued[-1]

    for endpoint in (
        provider.request_endpoint,
        provider.access_endpoint,
        provider.authorization_endpoint,
    ):
        endpoint.token_generator = generate
    return issued


def _raw(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608
        return repr(cursor.fetchall())


def test_canary_secrets_never_leak(world, client, caplog):
    caplog.set_level(logging.DEBUG)
    secret = f"{CANARY}-consumer-secret"
    world.provider.add_consumer("contacts-gadget", secret)
    ConsumerRegistration.objects.all().delete()
    for service in ("contacts", "calendar"):
        row = ConsumerRegistration(
            gadget_url="http://gadgets.example/contacts.xml",
            service_name=service,
            consumer_key="contacts-gadget",
        )
        row.set_secret(secret)
        row.save()
    issued = _canary_tokens(world.provider)
    world.provider.session_extension = True
    outputs = []

    first = world.fetch()
    # The approval URL must carry the request token (not its secret): OAuth
    # sends the person to the provider with it.
    outputs.append(repr(first.__dict__ | {"binding_cookie": None, "approval_url": ""}))
    page = world.callback(client, world.approve(first), first.binding_cookie)
    outputs.append(page.content.decode() + repr(dict(page.headers)))
    outputs.append(repr(world.fetch().__dict__))
    world.provider.expire_access_tokens()
    outputs.append(repr(world.fetch().__dict__))
    world.provider.fail_with = 500
    outputs.append(repr(world.fetch().__dict__))
    world.provider.fail_with = None
    world.provider.revoke_access_tokens()
    outputs.append(repr(world.fetch().__dict__ | {"approval_url": ""}))
    world.provider.timeout = True
    outputs.append(repr(world.fetch(token_name="x").__dict__))

    traces = repr(list(OAuthTrace.objects.values()))
    assert OAuthTrace.objects.exists()
    haystacks = {"logs": caplog.text, "responses": "\n".join(outputs), "traces": traces}
    for table in (AccessToken, PendingDance, ConsumerRegistration):
        haystacks[table._meta.db_table] = _raw(table._meta.db_table)
    for name, text in haystacks.items():
        assert CANARY not in text, name
    # The canaries were really in play: tokens, secrets and verifiers.
    assert len(issued) >= 6
