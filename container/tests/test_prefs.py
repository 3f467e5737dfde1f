"""User prefs: the settings form built from the spec, and set_pref saves."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django import forms
from django.contrib.auth.models import User
from django.test import Client

from container import home
from container.forms import UserPrefsForm
from container.models import InstalledGadget
from container.tests.conftest import snapshot
from gadgets.spec_model import EnumValue, UserPref

pytestmark = pytest.mark.django_db


def weather_form(gadget: InstalledGadget, data: dict[str, str] | None = None) -> Any:
    spec = home.load_spec(gadget)
    return UserPrefsForm(
        data, user_prefs=spec.user_prefs, values=home.pref_values(gadget, spec)
    )


def valid_data(**changes: str) -> dict[str, str]:
    data = {
        "up_city": "Paris",
        "up_days": "3",
        "up_metric": "on",
        "up_style": "brief",
        "up_places": "a\nb",
    }
    data.update(changes)
    return data


def test_form_fields_follow_the_pref_datatypes(weather: InstalledGadget) -> None:
    fields = weather_form(weather).fields

    assert list(fields) == ["up_city", "up_days", "up_metric", "up_style", "up_places"]
    assert isinstance(fields["up_city"].widget, forms.TextInput)
    assert isinstance(fields["up_days"].widget, forms.TextInput)
    assert isinstance(fields["up_metric"].widget, forms.CheckboxInput)
    assert isinstance(fields["up_style"].widget, forms.Select)
    assert fields["up_style"].choices == [("brief", "Brief"), ("full", "Full")]
    assert isinstance(fields["up_places"].widget, forms.Textarea)


def test_hidden_prefs_are_not_shown(weather: InstalledGadget) -> None:
    assert "up_seen" not in weather_form(weather).fields


def test_current_values_fill_the_form(weather: InstalledGadget) -> None:
    weather.prefs = {"city": "Oslo", "metric": "false", "places": "x|y|z"}
    form = weather_form(weather)

    assert form["up_city"].initial == "Oslo"
    assert form["up_metric"].initial is False
    assert form["up_places"].initial == "x\ny\nz"
    assert form["up_style"].initial == "brief"


def test_required_prefs_must_be_filled(weather: InstalledGadget) -> None:
    form = weather_form(weather, valid_data(up_city=""))

    assert not form.is_valid()
    assert form.errors["up_city"] == ["This field is required."]


def test_numbers_must_be_numbers(weather: InstalledGadget) -> None:
    form = weather_form(weather, valid_data(up_days="many"))

    assert not form.is_valid()
    assert form.errors["up_days"] == ["Enter a number, such as 7 or 2.5."]


def test_enum_values_must_be_offered_ones(weather: InstalledGadget) -> None:
    form = weather_form(weather, valid_data(up_style="loud"))

    assert not form.is_valid()
    assert "up_style" in form.errors


def test_cleaned_values_are_the_strings_gadgets_read(weather: InstalledGadget) -> None:
    data = valid_data(up_places="  one \n\n two\n")
    data.pop("up_metric")
    form = weather_form(weather, data)

    assert form.is_valid(), form.errors
    assert form.pref_values() == {
        "city": "Paris",
        "days": "3",
        "metric": "false",
        "style": "brief",
        "places": "one|two",
    }


def test_unknown_datatypes_get_a_text_field() -> None:
    pref = UserPref(name="where", display_name="Where", datatype="location")
    enum = UserPref(
        name="e", display_name="", datatype="enum", enum_values=(EnumValue("1", "One"),)
    )

    form = UserPrefsForm(user_prefs={"where": pref, "e": enum}, values={})

    assert isinstance(form.fields["up_where"].widget, forms.TextInput)
    assert form.fields["up_e"].label == "e"


def test_settings_page_shows_the_form(
    owner_client: Client, weather: InstalledGadget
) -> None:
    response = owner_client.get(f"/gadget/{weather.pk}/settings")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="up_city"' in html
    assert 'name="up_seen"' not in html
    assert "Settings of Weather for Paris" in html


def test_saving_settings_rerenders_the_gadget_with_the_new_values(
    owner_client: Client, weather: InstalledGadget
) -> None:
    response = owner_client.post(
        f"/gadget/{weather.pk}/settings", valid_data(up_city="Lima", up_style="full")
    )

    weather.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == f"/#gadget-{weather.pk}"
    assert weather.prefs["city"] == "Lima"
    assert weather.prefs["style"] == "full"
    [tile] = owner_client.get("/").context["page"].tiles
    parts = urlsplit(tile.iframe_src)
    params = {**parse_qs(parts.query), **parse_qs(parts.fragment)}
    assert params["up_city"] == ["Lima"]
    assert params["up_style"] == ["full"]
    assert tile.title == "Weather for Lima"


def test_saving_settings_keeps_hidden_prefs(
    owner_client: Client, weather: InstalledGadget
) -> None:
    weather.prefs = {"seen": "5"}
    weather.save()

    owner_client.post(f"/gadget/{weather.pk}/settings", valid_data())

    weather.refresh_from_db()
    assert weather.prefs["seen"] == "5"


def test_invalid_settings_are_shown_again_with_the_errors(
    owner_client: Client, weather: InstalledGadget
) -> None:
    before = snapshot(weather)

    response = owner_client.post(
        f"/gadget/{weather.pk}/settings", valid_data(up_days="x")
    )

    assert response.status_code == 400
    assert b"Enter a number" in response.content
    assert snapshot(weather) == before


def test_an_outsider_cannot_see_or_save_the_settings(
    outsider_client: Client, weather: InstalledGadget
) -> None:
    before = snapshot(weather)

    seen = outsider_client.get(f"/gadget/{weather.pk}/settings")
    saved = outsider_client.post(
        f"/gadget/{weather.pk}/settings", valid_data(up_city="Evil")
    )

    assert (seen.status_code, saved.status_code) == (404, 404)
    assert snapshot(weather) == before


def test_settings_without_a_csrf_token_are_refused(
    owner: User, weather: InstalledGadget
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    before = snapshot(weather)

    response = client.post(f"/gadget/{weather.pk}/settings", valid_data(up_city="X"))

    assert response.status_code == 403
    assert snapshot(weather) == before


# set_pref from the gadget (gadgets.Prefs.set over rpc)


def set_pref(client: Client, gadget: InstalledGadget, body: Any, **extra: Any) -> Any:
    return client.post(
        f"/gadget/{gadget.pk}/prefs",
        json.dumps(body) if not isinstance(body, bytes) else body,
        content_type="application/json",
        **extra,
    )


def test_set_pref_saves_declared_prefs_hidden_ones_included(
    owner_client: Client, weather: InstalledGadget
) -> None:
    response = set_pref(owner_client, weather, {"prefs": {"city": "Rome", "seen": 7}})

    weather.refresh_from_db()
    assert response.status_code == 200
    assert response.json()["prefs"]["city"] == "Rome"
    assert weather.prefs == {"city": "Rome", "seen": "7"}


def test_set_pref_refuses_undeclared_prefs_and_saves_nothing(
    owner_client: Client, weather: InstalledGadget
) -> None:
    response = set_pref(
        owner_client, weather, {"prefs": {"city": "Rome", "admin": "true"}}
    )

    weather.refresh_from_db()
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_parameter",
        "message": "The gadget declares no user pref named 'admin'.",
    }
    assert weather.prefs == {}


@pytest.mark.parametrize(
    "body",
    [b"not json", {"city": "Rome"}, {"prefs": ["city"]}, {"prefs": {"city": {}}}],
)
def test_set_pref_refuses_malformed_bodies(
    owner_client: Client, weather: InstalledGadget, body: Any
) -> None:
    response = set_pref(owner_client, weather, body)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_parameter"
    weather.refresh_from_db()
    assert weather.prefs == {}


def test_set_pref_refuses_long_values(
    owner_client: Client, weather: InstalledGadget
) -> None:
    response = set_pref(owner_client, weather, {"prefs": {"city": "x" * 5000}})

    assert response.status_code == 400


def test_set_pref_by_an_outsider_is_404_and_saves_nothing(
    outsider_client: Client, weather: InstalledGadget
) -> None:
    response = set_pref(outsider_client, weather, {"prefs": {"city": "Evil"}})

    weather.refresh_from_db()
    assert response.status_code == 404
    assert weather.prefs == {}


def test_set_pref_needs_the_csrf_header(owner: User, weather: InstalledGadget) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    token = client.get("/").context["page_data"]["csrfToken"]

    refused = set_pref(client, weather, {"prefs": {"city": "A"}})
    accepted = set_pref(
        client, weather, {"prefs": {"city": "B"}}, HTTP_X_CSRFTOKEN=token
    )

    weather.refresh_from_db()
    assert (refused.status_code, accepted.status_code) == (403, 200)
    assert weather.prefs == {"city": "B"}


def test_set_pref_needs_a_login(client: Client, weather: InstalledGadget) -> None:
    response = set_pref(client, weather, {"prefs": {"city": "A"}})

    assert response.status_code == 302
