"""Signing in to the sandbox provider, apart from the container's accounts.

The provider's people are ``ProviderUser`` rows. Signing in stores the
row's id under a key of the provider's own in the session of the provider's
host; the session cookie is host-only, so the container (another host)
never sees it, and a container login means nothing here.
"""

from __future__ import annotations

from django.contrib.auth.hashers import make_password
from django.http import HttpRequest

from .models import ProviderUser

SESSION_KEY = "sandbox_provider_user_id"


def authenticate(username: str, password: str) -> ProviderUser | None:
    user = ProviderUser.objects.filter(username=username).first()
    if user is None:
        # Hash anyway, so an unknown name takes as long as a wrong password.
        make_password(password)
        return None
    return user if user.check_password(password) else None


def current_user(request: HttpRequest) -> ProviderUser | None:
    user_id = request.session.get(SESSION_KEY)
    if not isinstance(user_id, int):
        return None
    return ProviderUser.objects.filter(pk=user_id).first()


def log_in(request: HttpRequest, user: ProviderUser) -> None:
    # A new session key at sign-in: a key planted before it is worth nothing.
    request.session.cycle_key()
    request.session[SESSION_KEY] = user.pk


def log_out(request: HttpRequest) -> None:
    request.session.flush()
