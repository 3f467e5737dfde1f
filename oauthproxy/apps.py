from __future__ import annotations

from django.apps import AppConfig


class OauthproxyConfig(AppConfig):
    name = "oauthproxy"
