"""The sandbox provider in Django admin: people, consumers and tokens.

Secrets are write-only here as everywhere: a consumer's secret is typed
into an empty field (left empty, the old one stays) and no token, token
secret, session handle or password hash is ever shown.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from .models import AccessToken, Consumer, Contact, ProviderUser


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 1


@admin.register(ProviderUser)
class ProviderUserAdmin(admin.ModelAdmin):
    list_display = ["username", "display_name", "created_at"]
    search_fields = ["username", "display_name"]
    fields = ["username", "display_name"]
    inlines = [ContactInline]


class ConsumerForm(forms.ModelForm):
    secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only: leave empty to keep the current secret.",
    )

    class Meta:
        model = Consumer
        exclude: list[str] = []

    def clean_secret(self) -> str:
        typed = str(self.cleaned_data.get("secret") or "")
        return typed or (self.instance.secret if self.instance.pk else "")


@admin.register(Consumer)
class ConsumerAdmin(admin.ModelAdmin):
    form = ConsumerForm
    list_display = [
        "display_name",
        "key",
        "signature_method",
        "access_token_lifetime_seconds",
        "answers_503",
        "delay_seconds",
        "rejects_key",
        "problem_location",
    ]
    search_fields = ["key", "display_name"]


@admin.register(AccessToken)
class AccessTokenAdmin(admin.ModelAdmin):
    list_display = [
        "consumer",
        "user",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["consumer"]
    fields = [
        "consumer",
        "user",
        "expires_at",
        "authorization_expires_at",
        "revoked_at",
        "created_at",
        "last_used_at",
    ]
    readonly_fields = ["consumer", "user", "created_at", "last_used_at"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[AccessToken]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        self.message_user(request, f"Revoked {count} token(s).")
