"""``manage.py demo --no-serve``: everything seeded, nothing duplicated."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from container.models import InstalledGadget
from oauthproxy.models import ConsumerRegistration
from sandbox.models import Consumer, Contact, ProviderUser

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _debug(settings: Any) -> None:
    # The demo refuses to run without DEBUG; pytest-django turns it off.
    settings.DEBUG = True


def demo() -> str:
    out = StringIO()
    call_command("demo", "--no-serve", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "gadgets": InstalledGadget.objects.count(),
        "registrations": ConsumerRegistration.objects.count(),
        "provider_users": ProviderUser.objects.count(),
        "contacts": Contact.objects.count(),
        "consumers": Consumer.objects.count(),
    }


def test_running_the_demo_twice_duplicates_nothing() -> None:
    first = demo()
    after_first = counts()

    second = demo()

    assert after_first == {
        "users": 2,
        "gadgets": 4,
        "registrations": 2,
        "provider_users": 2,
        "contacts": 5,
        "consumers": 2,
    }
    assert counts() == after_first
    assert "(added)" in first and "(added)" not in second
    assert "sandbox provider user ada / ada-sandbox-password" in second


def test_the_sample_gadgets_are_on_alice_s_page_contacts_first() -> None:
    demo()

    alice = User.objects.get(username="alice")
    urls = list(
        InstalledGadget.objects.filter(owner=alice, column=0)
        .order_by("position")
        .values_list("spec_url", flat=True)
    )
    assert [u.rsplit("/", 1)[1] for u in urls] == [
        "contacts.xml",
        "signed-fetch.xml",
        "feed-reader.xml",
        "prefs-views.xml",
    ]
    assert not InstalledGadget.objects.filter(owner__username="bob").exists()


def test_both_ends_hold_the_same_hmac_consumer_and_no_secret_is_printed() -> None:
    out = demo()

    for registration in ConsumerRegistration.objects.all():
        consumer = Consumer.objects.get(key=registration.consumer_key)
        assert registration.key_type == "HMAC_SYMMETRIC"
        assert registration.get_secret() == consumer.secret
        assert consumer.secret not in out
    contacts = ConsumerRegistration.objects.get(service_name="contacts")
    assert contacts.gadget_url.endswith("/static/gadgets/contacts.xml")
