"""Personas and gadget specs for the container's tests.

The owner has gadgets; the outsider is another person who must never see,
move, edit or remove them. Specs are served by ``fake_upstream``, so no
test touches the network.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from container import home
from container.models import InstalledGadget

WEATHER_URL = "http://gadgets.example/weather.xml"
PLAIN_URL = "http://gadgets.example/plain.xml"
REQUIRED_URL = "http://gadgets.example/required.xml"

WEATHER_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Module>
  <ModulePrefs title="Weather for __UP_city__" height="150"
               description="Today's weather." author="Ada"
               screenshot="shots/weather.png"
               title_url="http://gadgets.example/weather">
    <Require feature="setprefs"/>
  </ModulePrefs>
  <UserPref name="city" display_name="City" default_value="Paris" required="true"/>
  <UserPref name="days" display_name="Days" default_value="3" datatype="number"/>
  <UserPref name="metric" display_name="Metric units" default_value="true"
            datatype="bool"/>
  <UserPref name="style" display_name="Style" default_value="brief" datatype="enum">
    <EnumValue value="brief" display_value="Brief"/>
    <EnumValue value="full" display_value="Full"/>
  </UserPref>
  <UserPref name="places" display_name="Places" default_value="a|b" datatype="list"/>
  <UserPref name="seen" default_value="0" datatype="hidden"/>
  <Content type="html" view="home" preferred_height="180">Weather</Content>
  <Content type="html" view="canvas">Big weather</Content>
</Module>
"""

PLAIN_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Module>
  <ModulePrefs title="Plain"/>
  <Content type="html">Hello</Content>
</Module>
"""

REQUIRED_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Module>
  <ModulePrefs title="Needs a key"/>
  <UserPref name="key" display_name="API key" required="true"/>
  <Content type="html">Key: __UP_key__</Content>
</Module>
"""


@pytest.fixture
def specs(fake_upstream: Any) -> Any:
    fake_upstream.add(WEATHER_URL, WEATHER_XML)
    fake_upstream.add(PLAIN_URL, PLAIN_XML)
    fake_upstream.add(REQUIRED_URL, REQUIRED_XML)
    return fake_upstream


@pytest.fixture
def owner(db: None) -> User:
    return User.objects.create_user("owner", "owner@example.com", "owner-pass-123")


@pytest.fixture
def outsider(db: None) -> User:
    return User.objects.create_user("outsider", "out@example.com", "outsider-pass-1")


@pytest.fixture
def owner_client(owner: User) -> Client:
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def outsider_client(outsider: User) -> Client:
    client = Client()
    client.force_login(outsider)
    return client


@pytest.fixture
def weather(owner: User, specs: Any) -> InstalledGadget:
    return home.add_gadget(owner, WEATHER_URL)


@pytest.fixture
def plain(owner: User, specs: Any) -> InstalledGadget:
    return home.add_gadget(owner, PLAIN_URL)


def snapshot(gadget: InstalledGadget) -> dict[str, Any]:
    """Every field a person could change, to assert nothing changed."""
    gadget.refresh_from_db()
    return {
        "column": gadget.column,
        "position": gadget.position,
        "prefs": dict(gadget.prefs),
        "is_minimised": gadget.is_minimised,
    }
