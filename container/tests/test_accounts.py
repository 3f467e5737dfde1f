"""Sign up, log in and out, and password reset by e-mail."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-pass-phrase-42"


def test_sign_up_creates_the_account_and_logs_in(client: Client) -> None:
    response = client.post(
        "/accounts/signup/",
        {"username": "grace", "password1": PASSWORD, "password2": PASSWORD},
    )

    assert response.status_code == 302
    assert response["Location"] == "/add/"
    assert User.objects.filter(username="grace").exists()
    assert client.get("/").context["user"].username == "grace"


def test_sign_up_with_mismatched_passwords_is_refused(client: Client) -> None:
    response = client.post(
        "/accounts/signup/",
        {"username": "grace", "password1": PASSWORD, "password2": "other-pass-99"},
    )

    assert response.status_code == 200
    assert b"password fields didn" in response.content
    assert not User.objects.filter(username="grace").exists()


def test_log_in_and_out(client: Client, owner: User) -> None:
    page = client.get("/accounts/login/")
    logged_in = client.post(
        "/accounts/login/", {"username": "owner", "password": "owner-pass-123"}
    )
    logged_out = client.post("/accounts/logout/")

    assert page.status_code == 200
    assert logged_in.status_code == 302
    assert logged_in["Location"] == "/"
    assert logged_out.status_code == 302
    assert b"Sign up" in client.get("/").content


def test_wrong_password_is_refused(client: Client, owner: User) -> None:
    response = client.post("/accounts/login/", {"username": "owner", "password": "no"})

    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_login_form_needs_a_csrf_token(owner: User) -> None:
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        "/accounts/login/", {"username": "owner", "password": "owner-pass-123"}
    )

    assert response.status_code == 403


def test_password_reset_sends_a_link_that_sets_a_new_password(
    client: Client, owner: User
) -> None:
    client.post("/accounts/password_reset/", {"email": "owner@example.com"})

    [message] = mail.outbox
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", message.body)
    assert link
    form = client.get(link.group(1), follow=True)
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": PASSWORD, "new_password2": PASSWORD},
    )
    assert done.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)


def test_session_cookie_is_http_only(client: Client, owner: User) -> None:
    response = client.post(
        "/accounts/login/", {"username": "owner", "password": "owner-pass-123"}
    )

    cookie = response.cookies["sessionid"]
    assert cookie["httponly"]
    assert not cookie["domain"]
