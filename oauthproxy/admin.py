"""Django admin for the OAuth proxy: secrets are write-only here.

Encrypted columns never reach a form or a list; the admin shows whether a
secret is set, the key it is sealed under and, for RSA keys, the public
fingerprint. A new secret can be typed in, and is never shown back.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from . import crypto, keys
from .models import (
    RSA_PRIVATE,
    AccessToken,
    AuditEvent,
    ConsumerRegistration,
    OAuthTrace,
    PendingDance,
    PendingRevocation,
)


def secret_status(value: str) -> str:
    if not value:
        return "not set"
    return f"set (sealed under key {crypto.key_id_of(value) or '?'})"


class ConsumerRegistrationForm(forms.ModelForm):
    new_secret = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off"}),
        help_text="Shared secret, or the RSA private key in PEM. Leave empty "
        "to keep the stored one. It is encrypted and never shown again.",
    )
    callback_url = forms.URLField(
        required=False, max_length=2000, assume_scheme="https"
    )
    probe_url = forms.URLField(
        required=False,
        max_length=2000,
        assume_scheme="https",
        help_text="A cheap protected resource; idle tokens get a signed GET "
        "here, and one the provider refuses is deleted.",
    )
    revocation_url = forms.URLField(
        required=False,
        max_length=2000,
        assume_scheme="https",
        help_text="Where the provider takes a signed POST that revokes a "
        "token; used when a person disconnects or this is disabled.",
    )

    class Meta:
        model = ConsumerRegistration
        fields = [
            "gadget_url",
            "service_name",
            "consumer_key",
            "key_type",
            "callback_url",
            "owner",
            "verified",
            "enabled",
            "probe_url",
            "revocation_url",
        ]


@admin.register(ConsumerRegistration)
class ConsumerRegistrationAdmin(admin.ModelAdmin):
    form = ConsumerRegistrationForm
    list_display = ["gadget_url", "service_name", "key_type", "secret", "enabled"]
    list_filter = ["key_type", "enabled", "verified"]
    search_fields = ["gadget_url", "service_name", "consumer_key"]
    readonly_fields = ["secret", "created_at", "updated_at"]

    @admin.display(description="secret")
    def secret(self, obj: ConsumerRegistration) -> str:
        status = secret_status(obj.secret_encrypted)
        if obj.key_type == RSA_PRIVATE and obj.secret_encrypted:
            try:
                fingerprint = keys.public_fingerprint(obj.get_secret())
                status += f", public key SHA-256 {fingerprint[:32]}"
            except (crypto.SecretUnavailable, ValueError):
                status += ", unreadable"
        return status

    def save_model(
        self, request: HttpRequest, obj: ConsumerRegistration, form: Any, change: bool
    ) -> None:
        new_secret = form.cleaned_data.get("new_secret")
        if new_secret:
            obj.set_secret(new_secret)
        elif change and {"gadget_url", "service_name"} & set(form.changed_data):
            # The ciphertext is bound to (gadget URL, service): re-seal it.
            obj.set_secret(ConsumerRegistration.objects.get(pk=obj.pk).get_secret())
        super().save_model(request, obj, form, change)
        if new_secret:
            AuditEvent.objects.create(
                kind="secret_submitted",
                actor=str(request.user),
                gadget_url=obj.gadget_url,
                service_name=obj.service_name,
                target=str(obj.pk),
                details={"via": "admin"},
            )


@admin.register(AccessToken)
class AccessTokenAdmin(admin.ModelAdmin):
    list_display = ["viewer", "gadget_url", "module_id", "service_name", "token_name"]
    list_filter = ["revoked"]
    search_fields = ["viewer", "gadget_url", "service_name"]
    exclude = ["token_encrypted", "secret_encrypted", "session_handle_encrypted"]
    readonly_fields = [
        "key",
        "created_at",
        "last_used_at",
        "expires_at",
        "refresh_claimed_until",
        "probed_at",
    ]


@admin.register(PendingDance)
class PendingDanceAdmin(admin.ModelAdmin):
    list_display = ["viewer", "gadget_url", "service_name", "expires_at", "used_at"]
    exclude = [
        "state",
        "request_token_encrypted",
        "request_token_secret_encrypted",
        "binding_digest",
    ]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["kind", "actor", "gadget_url", "service_name", "created_at"]
    list_filter = ["kind"]


@admin.register(OAuthTrace)
class OAuthTraceAdmin(admin.ModelAdmin):
    list_display = ["oauth_error", "gadget_url", "service_name", "created_at"]


@admin.register(PendingRevocation)
class PendingRevocationAdmin(admin.ModelAdmin):
    list_display = ["viewer", "registration", "attempts", "next_attempt_at"]
    exclude = ["ref", "token_encrypted", "secret_encrypted"]
    readonly_fields = ["attempts", "last_error", "created_at"]
