"""Forms of the developer dashboard.

Secret fields use ``WriteOnlyTextarea``: a form shown again after an error
never carries the submitted secret back to the browser, so a rejected key
does not end up in the page, the browser's history or a screenshot.
"""

from __future__ import annotations

from typing import Any

from django import forms

from .developer import SecretInput
from .models import KEY_TYPES, RSA_PRIVATE

PASTE = "paste"
GENERATE = "generate"


class WriteOnlyTextarea(forms.Textarea):
    """A textarea that never renders the value it was given."""

    def format_value(self, value: Any) -> None:
        return None


class ClaimForm(forms.Form):
    gadget_url = forms.CharField(
        label="Gadget spec URL",
        max_length=2000,
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/gadget.xml"}),
    )


def _secret_field() -> forms.CharField:
    return forms.CharField(
        label="Secret or PEM private key",
        required=False,
        strip=False,
        widget=WriteOnlyTextarea(
            attrs={"rows": 6, "autocomplete": "off", "spellcheck": "false"}
        ),
        help_text="Stored encrypted and never shown again, not even to you.",
    )


class SecretForm(forms.Form):
    """Paste a secret or key, or ask for a generated key pair."""

    key_type = forms.ChoiceField(label="Key type", choices=KEY_TYPES)
    source = forms.ChoiceField(
        label="Secret",
        choices=[
            (PASTE, "Paste a shared secret or RSA private key"),
            (GENERATE, "Generate an RSA key pair (download only the certificate)"),
        ],
        initial=PASTE,
        widget=forms.RadioSelect,
    )
    secret = _secret_field()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("source") == PASTE and not cleaned.get("secret", "").strip():
            self.add_error("secret", "Paste the secret, or choose to generate a key.")
        return cleaned

    def secret_input(self) -> SecretInput:
        data = self.cleaned_data
        if data["source"] == GENERATE:
            return SecretInput(key_type=RSA_PRIVATE, generate=True)
        return SecretInput(key_type=data["key_type"], value=data["secret"])


class RegistrationForm(SecretForm):
    field_order = ["service_name", "consumer_key", "callback_url"]

    service_name = forms.ChoiceField(label="OAuth service (from the spec)")
    consumer_key = forms.CharField(label="Consumer key", max_length=500)
    callback_url = forms.CharField(
        label="Callback URL (optional)",
        required=False,
        max_length=2000,
        help_text="Leave empty to use the container's own callback; oob for "
        "providers that cannot redirect.",
    )

    def __init__(self, *args: Any, services: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["service_name"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(name, name or "(default)") for name in services]


class EditRegistrationForm(forms.Form):
    consumer_key = forms.CharField(label="Consumer key", max_length=500)
    callback_url = forms.CharField(
        label="Callback URL (optional)", required=False, max_length=2000
    )


class ApiTokenForm(forms.Form):
    name = forms.CharField(label="Token name", max_length=100, required=False)
