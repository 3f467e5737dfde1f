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


# --- Developers (dashboard, API, admin) -------------------------------------

DEV_GADGET = "http://gadgets.example/dev.xml"
PROVIDER = "http://provider.example"


def dev_spec_xml(
    token: str = "", services: tuple[str, ...] = ("contacts", "calendar")
) -> str:
    """A spec with OAuth services and, if given, the verification link."""
    link = (
        f'<Link rel="gadget-container-verification" href="{token}"/>' if token else ""
    )
    entries = "".join(
        f"""<Service name="{name}">
<Request url="{PROVIDER}/request" method="POST"/>
<Access url="{PROVIDER}/access" method="POST"/>
<Authorization url="{PROVIDER}/authorize"/></Service>"""
        for name in services
    )
    return f"""<?xml version="1.0"?><Module><ModulePrefs title="Dev">{link}
<OAuth>{entries}</OAuth></ModulePrefs><Content type="html">x</Content></Module>"""


def make_developer(username: str) -> Any:
    from django.contrib.auth.models import Group, User

    from oauthproxy.developer import DEVELOPER_GROUP

    user = User.objects.create_user(username, password="pw-" + username)
    group, _ = Group.objects.get_or_create(name=DEVELOPER_GROUP)
    user.groups.add(group)
    return user


@pytest.fixture
def dev(db) -> Any:
    """The developer persona who controls DEV_GADGET."""
    return make_developer("dev")


@pytest.fixture
def rival(db) -> Any:
    """Another developer, who must never see or touch dev's objects."""
    return make_developer("rival")


@pytest.fixture
def verified_claim(dev, fake_upstream) -> Any:
    from oauthproxy import developer

    claim = developer.claim_gadget(dev, DEV_GADGET, via="test")
    fake_upstream.add(DEV_GADGET, dev_spec_xml(claim.verification_token))
    return developer.verify_claim(dev, claim, via="test")
