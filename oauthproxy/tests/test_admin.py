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
