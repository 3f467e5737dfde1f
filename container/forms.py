"""Forms of the container: sign-up, add a gadget, and a gadget's settings.

The settings form is generated from the spec's ``<UserPref>`` elements, as
iGoogle did: ``string`` and ``number`` become text inputs, ``bool`` a
checkbox, ``enum`` a select of its ``<EnumValue>`` choices and ``list`` a
text area with one value per line (stored joined by ``|``, the list
separator gadgets read with ``gadgets.Prefs.getArray``). ``hidden`` prefs
belong to the gadget itself and are never shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.contrib.auth.forms import UserCreationForm

from gadgets.spec_model import UserPref

FIELD_PREFIX = "up_"
LIST_SEPARATOR = "|"
MAX_PREF_CHARS = 2000


class SignupForm(UserCreationForm):
    email = forms.EmailField(
        required=False, help_text="Optional; used only to reset your password."
    )

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")


class AddGadgetForm(forms.Form):
    url = forms.CharField(
        label="Gadget spec URL",
        max_length=2048,
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/gadget.xml"}),
    )


def visible_prefs(user_prefs: Mapping[str, UserPref]) -> list[UserPref]:
    """The prefs a person may edit: every one except ``hidden``."""
    return [pref for pref in user_prefs.values() if pref.datatype != "hidden"]


class UserPrefsForm(forms.Form):
    """Fields named ``up_<pref name>``, one per visible user pref."""

    def __init__(
        self,
        *args: Any,
        user_prefs: Mapping[str, UserPref],
        values: Mapping[str, str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.user_prefs = dict(user_prefs)
        for pref in visible_prefs(user_prefs):
            current = str(values.get(pref.name, pref.default_value))
            self.fields[FIELD_PREFIX + pref.name] = pref_field(pref, current)

    def pref_values(self) -> dict[str, str]:
        """The cleaned values by pref name, as gadgets read them (strings)."""
        return {
            name[len(FIELD_PREFIX) :]: value
            for name, value in self.cleaned_data.items()
        }


def pref_field(pref: UserPref, current: str) -> forms.Field:
    label = pref.display_name or pref.name
    if pref.datatype == "bool":
        return BoolPrefField(label=label, initial=current.lower() == "true")
    if pref.datatype == "enum":
        choices = [(item.value, item.display_value) for item in pref.enum_values]
        return forms.ChoiceField(label=label, choices=choices, initial=current)
    if pref.datatype == "list":
        return ListPrefField(label=label, required=pref.required, initial=current)
    if pref.datatype == "number":
        return NumberPrefField(label=label, required=pref.required, initial=current)
    return forms.CharField(
        label=label, required=pref.required, initial=current, max_length=MAX_PREF_CHARS
    )


class BoolPrefField(forms.BooleanField):
    """A checkbox whose value is the string gadgets expect: true or false."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)

    def clean(self, value: Any) -> str:
        return "true" if super().clean(value) else "false"


class NumberPrefField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=64, **kwargs)

    def clean(self, value: Any) -> str:
        text = str(super().clean(value)).strip()
        if text:
            try:
                float(text)
            except ValueError:
                raise forms.ValidationError(
                    "Enter a number, such as 7 or 2.5.", code="invalid"
                ) from None
        return text


class ListPrefField(forms.CharField):
    """One value per line in the form; ``a|b|c`` in storage and in the URL."""

    widget = forms.Textarea(attrs={"rows": 3})

    def __init__(self, **kwargs: Any) -> None:
        kwargs["initial"] = "\n".join(split_list(kwargs.get("initial", "")))
        super().__init__(max_length=MAX_PREF_CHARS, **kwargs)

    def clean(self, value: Any) -> str:
        text = str(super().clean(value))
        items = [line.strip() for line in text.splitlines() if line.strip()]
        if any(LIST_SEPARATOR in item for item in items):
            raise forms.ValidationError(
                "A list item may not contain the | character.", code="invalid"
            )
        return LIST_SEPARATOR.join(items)


def split_list(stored: str) -> list[str]:
    return [item for item in stored.split(LIST_SEPARATOR) if item]
