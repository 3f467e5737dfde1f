"""Moving, minimising and removing gadgets, and who may do it."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from container import home
from container.models import InstalledGadget
from container.tests.conftest import PLAIN_URL, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def three(owner: User, specs: Any) -> list[InstalledGadget]:
    """Three gadgets in column 0, top to bottom: c, b, a."""
    added = [home.add_gadget(owner, PLAIN_URL) for _ in range(3)]
    return list(reversed(added))


def places(owner: User) -> list[list[int]]:
    return home.layout(owner)


def test_move_down_swaps_with_the_next_gadget(
    owner_client: Client, owner: User, three: list[InstalledGadget]
) -> None:
    top, middle, bottom = three

    response = owner_client.post(f"/gadget/{top.pk}/move", {"direction": "down"})

    assert response.status_code == 302
    assert response["Location"] == f"/#gadget-{top.pk}"
    assert places(owner) == [[middle.pk, top.pk, bottom.pk], [], []]


def test_move_up_at_the_top_stays_put(
    owner_client: Client, owner: User, three: list[InstalledGadget]
) -> None:
    top, middle, bottom = three

    owner_client.post(f"/gadget/{top.pk}/move", {"direction": "up"})

    assert places(owner) == [[top.pk, middle.pk, bottom.pk], [], []]


def test_move_right_then_left_changes_column(
    owner_client: Client, owner: User, three: list[InstalledGadget]
) -> None:
    top, middle, bottom = three

    owner_client.post(f"/gadget/{middle.pk}/move", {"direction": "right"})
    assert places(owner) == [[top.pk, bottom.pk], [middle.pk], []]
    owner_client.post(f"/gadget/{middle.pk}/move", {"direction": "right"})
    owner_client.post(f"/gadget/{middle.pk}/move", {"direction": "right"})
    assert places(owner) == [[top.pk, bottom.pk], [], [middle.pk]]
    owner_client.post(f"/gadget/{middle.pk}/move", {"direction": "left"})
    assert places(owner) == [[top.pk, bottom.pk], [middle.pk], []]


def test_drop_at_a_column_and_position_answers_the_layout_as_json(
    owner_client: Client, owner: User, three: list[InstalledGadget]
) -> None:
    top, middle, bottom = three
    owner_client.post(f"/gadget/{top.pk}/move", {"column": "1", "position": "0"})

    response = owner_client.post(
        f"/gadget/{bottom.pk}/move",
        {"column": "1", "position": "0"},
        HTTP_ACCEPT="application/json",
    )

    assert response.status_code == 200
    assert response.json() == {"layout": [[middle.pk], [bottom.pk, top.pk], []]}


def test_positions_are_dense_after_every_move(
    owner_client: Client, owner: User, three: list[InstalledGadget]
) -> None:
    owner_client.post(f"/gadget/{three[0].pk}/move", {"column": "2", "position": "9"})

    rows = InstalledGadget.objects.filter(owner=owner).order_by("column", "position")
    assert [(g.column, g.position) for g in rows] == [(0, 0), (0, 1), (2, 0)]


def test_a_move_without_a_place_is_refused_with_a_sentence(
    owner_client: Client, three: list[InstalledGadget]
) -> None:
    response = owner_client.post(f"/gadget/{three[0].pk}/move", {"column": "x"})

    assert response.status_code == 400
    assert b"Say where to move the gadget" in response.content


def test_an_unknown_direction_is_refused(
    owner_client: Client, three: list[InstalledGadget]
) -> None:
    response = owner_client.post(
        f"/gadget/{three[0].pk}/move",
        {"direction": "sideways"},
        HTTP_ACCEPT="application/json",
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_parameter"


def test_moving_needs_post(owner_client: Client, three: list[InstalledGadget]) -> None:
    response = owner_client.get(f"/gadget/{three[0].pk}/move")

    assert response.status_code == 405


def test_minimise_is_saved_and_restore_undoes_it(
    owner_client: Client, three: list[InstalledGadget]
) -> None:
    gadget = three[0]

    owner_client.post(f"/gadget/{gadget.pk}/minimise", {"minimised": "1"})
    gadget.refresh_from_db()
    assert gadget.is_minimised
    assert b"is-minimised" in owner_client.get("/").content

    response = owner_client.post(
        f"/gadget/{gadget.pk}/minimise",
        {"minimised": "0"},
        HTTP_ACCEPT="application/json",
    )
    gadget.refresh_from_db()
    assert response.json() == {"minimised": False}
    assert not gadget.is_minimised


def test_remove_deletes_the_gadget_and_closes_the_gap(
    owner_client: Client, owner: User, three: list[InstalledGadget]
) -> None:
    top, middle, bottom = three

    response = owner_client.post(f"/gadget/{middle.pk}/remove")

    assert response.status_code == 302
    assert places(owner) == [[top.pk, bottom.pk], [], []]
    bottom.refresh_from_db()
    assert bottom.position == 1


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("move", {"direction": "down"}),
        ("move", {"column": "2", "position": "0"}),
        ("minimise", {"minimised": "1"}),
        ("remove", {}),
    ],
)
def test_an_outsider_gets_404_and_nothing_changes(
    outsider_client: Client,
    three: list[InstalledGadget],
    action: str,
    data: dict[str, str],
) -> None:
    gadget = three[0]
    before = snapshot(gadget)

    response = outsider_client.post(f"/gadget/{gadget.pk}/{action}", data)

    assert response.status_code == 404
    assert InstalledGadget.objects.filter(pk=gadget.pk).exists()
    assert snapshot(gadget) == before


@pytest.mark.parametrize("action", ["move", "minimise", "remove"])
def test_forms_without_a_csrf_token_are_refused(
    owner: User, three: list[InstalledGadget], action: str
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    gadget = three[0]
    before = snapshot(gadget)

    response = client.post(
        f"/gadget/{gadget.pk}/{action}", {"direction": "down", "minimised": "1"}
    )

    assert response.status_code == 403
    assert snapshot(gadget) == before


def test_csrf_token_from_the_page_is_accepted(
    owner: User, three: list[InstalledGadget]
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    token = client.get("/").context["page_data"]["csrfToken"]

    response = client.post(
        f"/gadget/{three[0].pk}/move",
        {"direction": "down"},
        HTTP_X_CSRFTOKEN=token,
    )

    assert response.status_code == 302
