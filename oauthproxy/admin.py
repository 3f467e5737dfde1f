"""Django admin for the OAuth proxy: secrets are write-only here.

Encrypted columns never reach a form, a list or a search; the admin shows
whether a secret is set, the key it is sealed under and its fingerprint.
A new secret (or a generated key pair) can be given, is validated like in
the dashboard, and is never shown back, not even when the form is
redisplayed with an error. Tokens, dances, traces and audit events are
read-only records; an action deletes selected access tokens (the person
is asked to approve again) and another disables registrations at once.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from gadgets.errors import GadgetError

from . import crypto, developer
from .forms import WriteOnlyTextarea
from .models import (
    RSA_PRIVATE,
    AccessToken,
    ApiToken,
    AuditEvent,
    ConsumerRegistration,
    ContainerKey,
    GadgetClaim,
    OAuthTrace,
    PendingDance,
    PendingRevocation,
)
from .token_deletion import delete_tokens


def secret_status(value: str) -> str:
    if not value:
        return "not set"
    return f"set (sealed under key {crypto.key_id_of(value) or '?'})"


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the proxy; operators look and may delete."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: Any | None = None
    ) -> bool:
        return False


class ConsumerRegistrationForm(forms.ModelForm):
    new_secret = forms.CharField(
        required=False,
        strip=False,
        widget=WriteOnlyTextarea(attrs={"rows": 4, "autocomplete": "off"}),
        help_text="Shared secret, or the RSA private key in PEM. Leave empty "
        "to keep the stored one. It is encrypted and never shown again.",
    )
    generate_key_pair = forms.BooleanField(
        required=False,
        help_text="Replace the secret with a new 2048-bit RSA key pair; the "
        "certificate appears below.",
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

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        value = cleaned.get("new_secret") or ""
        if value and cleaned.get("generate_key_pair"):
            raise forms.ValidationError(
                "Give a new secret or generate a key pair, not both."
            )
        try:
            if value and cleaned.get("key_type") == RSA_PRIVATE:
                developer.load_private_key(value)
            elif value:
                developer.check_shared_secret(value)
        except GadgetError as exc:
            self.add_error("new_secret", exc.message)
        return cleaned

    def secret_input(self) -> developer.SecretInput | None:
        data = self.cleaned_data
        if data.get("generate_key_pair"):
            return developer.SecretInput(RSA_PRIVATE, generate=True)
        if data.get("new_secret"):
            return developer.SecretInput(data["key_type"], data["new_secret"])
        return None


@admin.register(ConsumerRegistration)
class ConsumerRegistrationAdmin(admin.ModelAdmin):
    form = ConsumerRegistrationForm
    list_display = [
        "gadget_url",
        "service_name",
        "consumer_key",
        "key_type",
        "secret",
        "owner",
        "verified",
        "enabled",
        "updated_at",
    ]
    list_filter = ["key_type", "enabled", "verified"]
    search_fields = ["gadget_url", "service_name", "consumer_key", "owner__username"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
    readonly_fields = ["secret", "certificate_pem", "created_at", "updated_at"]
    actions = ["disable_registrations", "enable_registrations"]

    @admin.display(description="secret")
    def secret(self, obj: ConsumerRegistration) -> str:
        status = secret_status(obj.secret_encrypted)
        if obj.secret_encrypted and obj.secret_fingerprint:
            status += f", fingerprint {obj.secret_fingerprint}"
        return status

    def save_model(
        self, request: HttpRequest, obj: ConsumerRegistration, form: Any, change: bool
    ) -> None:
        given = form.secret_input()
        kind = ""
        if given is not None:
            kind = developer.apply_secret(obj, given)
        elif change and {"gadget_url", "service_name"} & set(form.changed_data):
            # The ciphertext is bound to (gadget URL, service): re-seal it.
            obj.set_secret(ConsumerRegistration.objects.get(pk=obj.pk).get_secret())
        super().save_model(request, obj, form, change)
        if kind:
            developer.audit(request.user, kind, obj, via="admin")

    @admin.action(description="Disable selected registrations (effective at once)")
    def disable_registrations(
        self, request: HttpRequest, queryset: QuerySet[ConsumerRegistration]
    ) -> None:
        count = developer.operator_set_enabled(request.user, queryset, False)
        self.message_user(request, f"Disabled {count} registrations.")

    @admin.action(description="Enable selected registrations")
    def enable_registrations(
        self, request: HttpRequest, queryset: QuerySet[ConsumerRegistration]
    ) -> None:
        count = developer.operator_set_enabled(request.user, queryset, True)
        self.message_user(request, f"Enabled {count} registrations.")


@admin.register(GadgetClaim)
class GadgetClaimAdmin(admin.ModelAdmin):
    list_display = ["gadget_url", "owner", "verified_at", "created_at"]
    list_filter = [("verified_at", admin.EmptyFieldListFilter)]
    search_fields = ["gadget_url", "owner__username"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
    readonly_fields = ["verification_token", "created_at"]


@admin.register(AccessToken)
class AccessTokenAdmin(ReadOnlyAdmin):
    list_display = [
        "viewer",
        "gadget_url",
        "module_id",
        "service_name",
        "token_name",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked",
    ]
    list_filter = ["revoked", "service_name"]
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
    actions = ["revoke_tokens"]

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Deleting goes through revoke_tokens, which audits each token.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request: HttpRequest, obj: AccessToken) -> None:
        delete_tokens([obj], actor=request.user.get_username(), reason="admin")

    @admin.action(description="Revoke (delete) selected access tokens")
    def revoke_tokens(
        self, request: HttpRequest, queryset: QuerySet[AccessToken]
    ) -> None:
        count = delete_tokens(
            queryset, actor=request.user.get_username(), reason="revoked in admin"
        )
        self.message_user(
            request,
            f"Deleted {count} access tokens; those people will be asked to "
            "approve again.",
            messages.SUCCESS,
        )


@admin.register(PendingDance)
class PendingDanceAdmin(ReadOnlyAdmin):
    list_display = ["viewer", "gadget_url", "service_name", "expires_at", "used_at"]
    list_filter = [("used_at", admin.EmptyFieldListFilter)]
    search_fields = ["viewer", "gadget_url", "service_name"]
    exclude = [
        "state",
        "key",
        "request_token_encrypted",
        "request_token_secret_encrypted",
        "binding_digest",
    ]


@admin.register(ContainerKey)
class ContainerKeyAdmin(ReadOnlyAdmin):
    list_display = ["name", "sealed", "created_at"]
    search_fields = ["name"]
    exclude = ["private_key_encrypted"]

    @admin.display(description="private key")
    def sealed(self, obj: ContainerKey) -> str:
        return secret_status(obj.private_key_encrypted)


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Developers' API tokens: only the prefix is known; delete revokes."""

    list_display = ["prefix", "name", "user", "created_at", "last_used_at"]
    search_fields = ["name", "prefix", "user__username"]
    list_select_related = ["user"]
    exclude = ["digest"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["kind", "actor", "gadget_url", "service_name", "created_at"]
    list_filter = ["kind"]
    search_fields = ["actor", "gadget_url", "service_name", "target"]
    date_hierarchy = "created_at"


@admin.register(OAuthTrace)
class OAuthTraceAdmin(ReadOnlyAdmin):
    list_display = [
        "oauth_error",
        "gadget_url",
        "service_name",
        "viewer",
        "created_at",
    ]
    list_filter = ["oauth_error"]
    search_fields = ["gadget_url", "service_name", "viewer", "summary"]
    date_hierarchy = "created_at"


@admin.register(PendingRevocation)
class PendingRevocationAdmin(ReadOnlyAdmin):
    list_display = ["viewer", "registration", "attempts", "next_attempt_at"]
    search_fields = ["viewer"]
    exclude = ["ref", "token_encrypted", "secret_encrypted"]
