from __future__ import annotations

import logging

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_delete, post_save, pre_save


class OauthproxyConfig(AppConfig):
    name = "oauthproxy"
    verbose_name = "OAuth proxy"

    def ready(self) -> None:
        from gadgets.makerequest import register_authz_handler

        from . import inprocess, lifecycle, proxy, registrations
        from .models import ConsumerRegistration

        register_authz_handler("signed", proxy.handle)
        register_authz_handler("oauth", proxy.handle)

        post_save.connect(registrations.forget, sender=ConsumerRegistration)
        post_delete.connect(registrations.forget, sender=ConsumerRegistration)
        pre_save.connect(lifecycle.remember_enabled, sender=ConsumerRegistration)
        post_save.connect(lifecycle.retire_when_disabled, sender=ConsumerRegistration)
        if settings.LIFECYCLE_IN_PROCESS and not settings.REDIS_URL:
            inprocess.start()
        # oauthlib logs signature base strings, tokens included, at DEBUG;
        # a LOG_LEVEL=DEBUG deployment must not write them out.
        logging.getLogger("oauthlib").setLevel(logging.WARNING)
