"""Personas, a scripted provider and a contacts gadget for OAuth tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from asgiref.sync import async_to_sync

from gadgets.locked_domain import locked_host
from gadgets.security_token import SecurityToken
from oauthproxy import dance, keys
from oauthproxy.models import ConsumerRegistration
from tests.oauth_provider import FakeProvider

GADGET = "http://gadgets.example/contacts.xml"
OTHER_GADGET = "http://gadgets.example/other.xml"
CONSUMER_KEY = "contacts-gadget"
CONSUMER_SECRET = "consumer-secret-value"


def st(
    viewer: str = "alice",
    owner: str | None = None,
    gadget: str = GADGET,
    module_id: int = 1,
) -> SecurityToken:
    return SecurityToken(
        owner=viewer if owner is None else owner,
        viewer=viewer,
        gadget_url=gadget,
        module_id=module_id,
        container="default",
        issued_at=0,
        expires_at=2**40,
    )


@dataclass
class World:
    provider: FakeProvider
    fake: Any

    def request(self, url: str | None = None, **kwargs: Any) -> dance.OAuthFetch:
        token = kwargs.pop("token", None) or st()
        kwargs.setdefault("service_name", "contacts")
        return dance.OAuthFetch(
            token=token, url=url or self.provider.resource_url, **kwargs
        )

    def fetch(
        self, request: dance.OAuthFetch | None = None, **kwargs: Any
    ) -> dance.OAuthResult:
        return async_to_sync(dance.fetch)(request or self.request(**kwargs))

    def approve(self, result: dance.OAuthResult, user: str = "alice") -> str:
        request_token = parse_qs(urlsplit(result.approval_url).query)["oauth_token"][0]
        return self.provider.approve(request_token, user)

    def callback(
        self,
        client: Any,
        redirect: str,
        cookie: dance.BindingCookie | None,
        host: str | None = None,
    ) -> Any:
        parts = urlsplit(redirect)
        if cookie is not None:
            client.cookies[cookie.name] = cookie.value
        return client.get(f"{parts.path}?{parts.query}", HTTP_HOST=host or parts.netloc)

    def connect(self, client: Any, **kwargs: Any) -> dance.OAuthResult:
        """Run the whole dance for alice; returns the approval answer."""
        first = self.fetch(**kwargs)
        assert first.approval_url, first
        response = self.callback(client, self.approve(first), first.binding_cookie)
        assert response.status_code == 200, response.content
        return first


@pytest.fixture
def world(fake_upstream, db) -> World:
    keys.forget()
    provider = FakeProvider()
    provider.install(fake_upstream)
    provider.add_consumer(CONSUMER_KEY, CONSUMER_SECRET)
    fake_upstream.add(GADGET, provider.spec_xml())
    fake_upstream.add(OTHER_GADGET, provider.spec_xml())
    for gadget in (GADGET, OTHER_GADGET):
        for service in ("contacts", "calendar"):
            row = ConsumerRegistration(
                gadget_url=gadget, service_name=service, consumer_key=CONSUMER_KEY
            )
            row.set_secret(CONSUMER_SECRET)
            row.save()
    yield World(provider, fake_upstream)
    keys.forget()


__all__ = ["GADGET", "World", "locked_host", "st"]
