"""Each host gets its own URLs; unknown hosts get nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from gadgets.locked_domain import locked_host

GADGET = "http://gadgets.example/hello.xml"


@pytest.mark.django_db
def test_container_host_serves_health_and_readiness(client: Client) -> None:
    assert client.get("/healthz", HTTP_HOST="localhost:8000").status_code == 200
    ready = client.get("/readyz", HTTP_HOST="localhost:8000")
    assert ready.status_code == 200
    checks = ready.json()["checks"]
    assert checks["database"] == checks["cache"] == "ok"
    assert set(checks.values()) == {"ok"}  # and the broker, where configured


def test_gadget_host_does_not_serve_container_pages(client: Client) -> None:
    host = locked_host(GADGET)

    assert client.get("/healthz", HTTP_HOST=host).status_code == 404
    assert client.get("/admin/", HTTP_HOST=host).status_code == 404


def test_unknown_host_is_refused(client: Client) -> None:
    response = client.get("/healthz", HTTP_HOST="elsewhere.localhost:8000")

    assert response.status_code in {400, 404}


def test_responses_carry_a_request_id(client: Client) -> None:
    response = client.get(
        "/healthz", HTTP_HOST="localhost:8000", HTTP_X_REQUEST_ID="abcdef123456"
    )

    assert response["X-Request-Id"] == "abcdef123456"


def test_a_malformed_incoming_request_id_is_replaced(client: Client) -> None:
    response = client.get(
        "/healthz", HTTP_HOST="localhost:8000", HTTP_X_REQUEST_ID="<script>"
    )

    assert response["X-Request-Id"] != "<script>"
    assert len(response["X-Request-Id"]) == 32
