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


# --- Secrets given by developers and operators ------------------------------


def _variants(secret: str) -> list[str]:
    """The clear text as it could leak: raw, URL-encoded, base64."""
    import base64
    from urllib.parse import quote, quote_plus

    raw = secret.encode()
    return [
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    ]


def _pem_chunks(pem: str) -> list[str]:
    """Distinctive pieces of a PEM body (lines 2 to 6)."""
    return [line for line in pem.strip().splitlines()[1:6] if len(line) > 40]


def _all_tables() -> dict[str, str]:
    return {table: _raw(table) for table in connection.introspection.table_names()}


def test_canaries_given_by_dashboard_api_and_import_never_leak(
    tmp_path, caplog, admin_client, fake_upstream
):
    import json

    from django.core.management import call_command
    from django.test import Client

    from oauthproxy import developer

    from .conftest import DEV_GADGET, dev_spec_xml, make_developer
    from .keyfiles import private_pem

    caplog.set_level(logging.DEBUG)
    dev = make_developer("canary-dev")
    web = Client()
    web.force_login(dev)
    claim = developer.claim_gadget(dev, DEV_GADGET, via="test")
    fake_upstream.add(
        DEV_GADGET,
        dev_spec_xml(claim.verification_token, ("contacts", "calendar", "mail", "")),
    )
    web.post(f"/developer/claims/{claim.pk}/verify")
    _token, raw_api_token = developer.create_api_token(dev)
    api = Client(HTTP_AUTHORIZATION=f"Token {raw_api_token}")
    outputs: list[str] = []

    def keep(response) -> None:
        outputs.append(response.content.decode() + repr(dict(response.headers)))

    dashboard_secret = f"{CANARY}-dashboard"
    api_secret = f"{CANARY}-api"
    rotated_secret = f"{CANARY}-api-rotated"
    refused_secret = f"{CANARY}-refused"
    imported_secret = f"{CANARY}-imported"
    rsa_pem = private_pem()

    keep(
        web.post(
            f"/developer/claims/{claim.pk}/register",
            {
                "service_name": "contacts",
                "consumer_key": "ck",
                "key_type": "HMAC_SYMMETRIC",
                "source": "paste",
                "secret": dashboard_secret,
            },
        )
    )
    keep(
        web.post(
            f"/developer/claims/{claim.pk}/register",
            {
                "service_name": "calendar",
                "consumer_key": "ck",
                "key_type": "RSA_PRIVATE",
                "source": "paste",
                "secret": f"-----BEGIN PRIVATE KEY-----\n{refused_secret}\n"
                "-----END PRIVATE KEY-----",
            },
        )
    )
    keep(
        web.post(
            f"/developer/claims/{claim.pk}/register",
            {
                "service_name": "calendar",
                "consumer_key": "ck",
                "key_type": "RSA_PRIVATE",
                "source": "paste",
                "secret": rsa_pem,
            },
        )
    )
    created = api.post(
        "/api/registrations/",
        json.dumps(
            {
                "gadget_url": DEV_GADGET,
                "service_name": "mail",
                "consumer_key": "ck",
                "key_type": "PLAINTEXT",
                "secret": api_secret,
            }
        ),
        content_type="application/json",
    )
    keep(created)
    mail_id = created.json()["id"]
    keep(
        api.post(
            f"/api/registrations/{mail_id}/rotate-secret/",
            json.dumps({"key_type": "HMAC_SYMMETRIC", "secret": rotated_secret}),
            content_type="application/json",
        )
    )
    keep(
        api.post(
            f"/api/registrations/{mail_id}/rotate-secret/",
            json.dumps({"key_type": "RSA_PRIVATE", "secret": refused_secret}),
            content_type="application/json",
        )
    )
    generated = api.post(
        "/api/registrations/",
        json.dumps(
            {
                "gadget_url": DEV_GADGET,
                "service_name": "",
                "consumer_key": "ck",
                "generate_key_pair": True,
            }
        ),
        content_type="application/json",
    )
    keep(generated)
    config = tmp_path / "oauth.json"
    config.write_text(
        json.dumps(
            {
                "http://gadgets.example/imported.xml": {
                    "contacts": {
                        "consumer_key": "imported",
                        "consumer_secret": imported_secret,
                        "key_type": "HMAC_SYMMETRIC",
                    }
                }
            }
        )
    )
    import io

    command_output = io.StringIO()
    call_command("import_oauth_config", str(config), stdout=command_output)
    outputs.append(command_output.getvalue())

    registrations = list(ConsumerRegistration.objects.all())
    assert len(registrations) == 5
    opened = {(r.gadget_url, r.service_name): r.get_secret() for r in registrations}
    assert dashboard_secret in opened.values() and rotated_secret in opened.values()
    assert imported_secret in opened.values()
    generated_pem = opened[(DEV_GADGET, "")]

    pages = ["/developer/", f"/developer/claims/{claim.pk}/"]
    for row in registrations:
        if row.owner_id:
            base = f"/developer/registrations/{row.pk}/"
            pages += [base, base + "certificate.pem"]
    for page in pages:
        keep(web.get(page))
    for url in (
        "/api/claims/",
        "/api/registrations/",
        "/api/audit/",
        "/api/schema/?format=json",
    ):
        keep(api.get(url))
    for row in registrations:
        if row.owner_id:
            for suffix in ("", "stats/", "certificate/"):
                keep(api.get(f"/api/registrations/{row.pk}/{suffix}"))
    from django.contrib import admin as django_admin

    for model in django_admin.site._registry:
        meta = model._meta
        changelist = f"/admin/{meta.app_label}/{meta.model_name}/"
        keep(admin_client.get(changelist))
        for pk in model._default_manager.values_list("pk", flat=True)[:5]:
            keep(admin_client.get(f"{changelist}{pk}/change/"))

    haystacks = {
        "responses": "\n".join(outputs),
        "logs": caplog.text,
        **_all_tables(),
    }
    needles = [
        *_variants(CANARY),
        *_pem_chunks(rsa_pem),
        *_pem_chunks(generated_pem),
        raw_api_token,
    ]
    for name, text in haystacks.items():
        for needle in needles:
            assert needle not in text, (name, needle[:24])
