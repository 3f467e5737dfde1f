from __future__ import annotations

import pytest

from oauthproxy.models import AccessToken, ConsumerRegistration, token_key

pytestmark = pytest.mark.django_db


def test_admin_pages_never_render_secrets(admin_client):
    row = ConsumerRegistration(
        gadget_url="http://g.example/g.xml", service_name="s", consumer_key="ck"
    )
    row.set_secret("canary-admin-secret")
    row.save()
    token = AccessToken(
        key=token_key("alice", "http://g.example/g.xml", 0, "s", ""),
        viewer="alice",
        gadget_url="http://g.example/g.xml",
        service_name="s",
    )
    token.set_credentials("canary-admin-token", "canary-admin-token-secret", "")
    token.save()
    pages = [
        "/admin/oauthproxy/consumerregistration/",
        f"/admin/oauthproxy/consumerregistration/{row.pk}/change/",
        "/admin/oauthproxy/accesstoken/",
        f"/admin/oauthproxy/accesstoken/{token.pk}/change/",
    ]
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, page
        body = response.content.decode()
        for canary in (
            "canary-admin-secret",
            "canary-admin-token",
            row.secret_encrypted,
        ):
            assert canary not in body, page
    assert "set (sealed under key" in admin_client.get(pages[1]).content.decode()


def test_admin_new_secret_is_write_only(admin_client):
    row = ConsumerRegistration(
        gadget_url="http://g.example/g.xml", service_name="s", consumer_key="ck"
    )
    row.set_secret("old")
    row.save()
    response = admin_client.post(
        f"/admin/oauthproxy/consumerregistration/{row.pk}/change/",
        {
            "gadget_url": "http://g.example/g.xml",
            "service_name": "renamed",
            "consumer_key": "ck",
            "key_type": "HMAC_SYMMETRIC",
            "callback_url": "",
            "enabled": "on",
            "new_secret": "",
        },
    )
    assert response.status_code == 302
    assert ConsumerRegistration.objects.get().get_secret() == "old"


# --- Registrations, tokens and the rest of the models -----------------------


def _row(secret: str = "old") -> ConsumerRegistration:  # noqa: S107
    row = ConsumerRegistration(
        gadget_url="http://g.example/g.xml", service_name="s", consumer_key="ck"
    )
    row.set_secret(secret)
    row.save()
    return row


def _change(admin_client, row, **extra):
    data = {
        "gadget_url": row.gadget_url,
        "service_name": row.service_name,
        "consumer_key": row.consumer_key,
        "key_type": row.key_type,
        "callback_url": "",
        "enabled": "on",
        "new_secret": "",
        **extra,
    }
    return admin_client.post(
        f"/admin/oauthproxy/consumerregistration/{row.pk}/change/", data
    )


def test_admin_rejected_key_is_not_echoed(admin_client):
    from .keyfiles import public_pem

    row = _row()
    pem = public_pem()

    response = _change(admin_client, row, key_type="RSA_PRIVATE", new_secret=pem)

    assert response.status_code == 200
    body = response.content.decode()
    assert "This is a public key or certificate" in body
    assert pem.splitlines()[1] not in body
    assert ConsumerRegistration.objects.get().get_secret() == "old"


def test_admin_new_secret_is_audited_and_fingerprinted(admin_client):
    from oauthproxy.models import AuditEvent

    row = _row()

    response = _change(admin_client, row, new_secret="admin-new-secret")

    row.refresh_from_db()
    assert response.status_code == 302
    assert row.get_secret() == "admin-new-secret"
    event = AuditEvent.objects.get(kind="secret_submitted")
    assert event.details == {"via": "admin"} and event.actor == "admin"
    page = admin_client.get(
        f"/admin/oauthproxy/consumerregistration/{row.pk}/change/"
    ).content.decode()
    assert row.secret_fingerprint in page and "admin-new-secret" not in page


def test_admin_can_generate_a_key_pair(admin_client):
    row = _row()

    _change(admin_client, row, generate_key_pair="on")

    row.refresh_from_db()
    assert row.key_type == "RSA_PRIVATE"
    assert row.certificate_pem.startswith("-----BEGIN CERTIFICATE-----")
    page = admin_client.get(
        f"/admin/oauthproxy/consumerregistration/{row.pk}/change/"
    ).content.decode()
    assert "PRIVATE KEY" not in page


def test_admin_disable_action_stops_use_at_once(admin_client):
    from asgiref.sync import async_to_sync

    from oauthproxy.errors import OAuthError
    from oauthproxy.registrations import find_consumer

    row = _row()
    assert async_to_sync(find_consumer)(row.gadget_url, "s") is not None

    admin_client.post(
        "/admin/oauthproxy/consumerregistration/",
        {"action": "disable_registrations", "_selected_action": [row.pk]},
    )

    assert not ConsumerRegistration.objects.get().enabled
    with pytest.raises(OAuthError) as caught:
        async_to_sync(find_consumer)(row.gadget_url, "s")
    assert caught.value.oauth_code == "BAD_OAUTH_CONFIGURATION"


def test_admin_revoke_action_deletes_tokens_and_audits(admin_client):
    from oauthproxy.models import AuditEvent

    tokens = []
    for module_id in (1, 2, 3):
        token = AccessToken(
            key=token_key("alice", "http://g.example/g.xml", module_id, "s", ""),
            viewer="alice",
            gadget_url="http://g.example/g.xml",
            module_id=module_id,
            service_name="s",
        )
        token.set_credentials("t", "s", "")
        token.save()
        tokens.append(token)

    response = admin_client.post(
        "/admin/oauthproxy/accesstoken/",
        {"action": "revoke_tokens", "_selected_action": [t.pk for t in tokens[:2]]},
    )

    assert response.status_code == 302
    assert list(AccessToken.objects.values_list("pk", flat=True)) == [tokens[2].pk]
    events = AuditEvent.objects.filter(kind="token_deleted")
    assert events.count() == 2
    assert {e.details["reason"] for e in events} == {"revoked in admin"}


def test_every_admin_list_and_search_answers(admin_client):
    from django.contrib import admin as django_admin

    for model, model_admin in django_admin.site._registry.items():
        meta = model._meta
        url = f"/admin/{meta.app_label}/{meta.model_name}/"
        response = admin_client.get(url + "?q=x" if model_admin.search_fields else url)
        assert response.status_code == 200, url


def test_developer_without_staff_rights_is_kept_out_of_admin(client):
    from .conftest import make_developer

    client.force_login(make_developer("dev"))
    row = _row()

    for url in (
        "/admin/oauthproxy/consumerregistration/",
        f"/admin/oauthproxy/consumerregistration/{row.pk}/change/",
        "/admin/oauthproxy/gadgetclaim/",
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/")
