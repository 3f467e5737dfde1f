"""Message bundles: merge order, direction, views and external bundles."""

from __future__ import annotations

from typing import Any

import pytest

from gadgets.errors import SpecError, SpecFetchError, UpstreamTimeout
from gadgets.messages import MessageBundle, message_bundle
from gadgets.outbound import OutboundRequest, OutboundResponse
from gadgets.spec import parse_spec
from gadgets.spec_model import Spec
from gadgets.tests.specs import RICH_AR_BUNDLE_URL, RICH_SPEC_URL, load

URL = "http://example.com/g.xml"
BUNDLE_URL = "http://example.com/msgs/de.xml"


def spec_with_locales(locales: str) -> Spec:
    return parse_spec(
        f"<Module><ModulePrefs>{locales}</ModulePrefs><Content/></Module>", URL
    )


LAYERED = spec_with_locales(
    '<Locale><msg name="a">all/ALL</msg><msg name="b">all/ALL</msg>'
    '<msg name="c">all/ALL</msg><msg name="d">all/ALL</msg></Locale>'
    '<Locale country="at"><msg name="b">all/AT</msg><msg name="c">all/AT</msg>'
    '<msg name="d">all/AT</msg></Locale>'
    '<Locale lang="de"><msg name="c">de/ALL</msg><msg name="d">de/ALL</msg></Locale>'
    '<Locale lang="de" country="AT"><msg name="d">de/AT</msg></Locale>'
    '<Locale lang="fr"><msg name="a">fr/ALL</msg></Locale>'
)


async def test_bundles_merge_from_general_to_specific() -> None:
    bundle = await message_bundle(LAYERED, "de", "AT", None)
    assert bundle.messages == {
        "a": "all/ALL",
        "b": "all/AT",
        "c": "de/ALL",
        "d": "de/AT",
    }


@pytest.mark.parametrize(
    ("lang", "country", "expected_d"),
    [
        ("", "", "all/ALL"),
        ("DE", "at", "de/AT"),
        ("de", "CH", "de/ALL"),
        ("it", "AT", "all/AT"),
        ("fr", "", "all/ALL"),
    ],
)
async def test_missing_locales_contribute_nothing(
    lang: str, country: str, expected_d: str
) -> None:
    bundle = await message_bundle(LAYERED, lang, country, None)
    assert bundle.messages["d"] == expected_d


async def test_view_specific_locale_is_preferred_over_the_global_one() -> None:
    spec = parse_spec(load("rich.xml"), RICH_SPEC_URL)
    canvas = await message_bundle(spec, "fr", "", "canvas")
    home = await message_bundle(spec, "fr", "", "home")
    assert canvas.messages["title"] == "Contacts (grand)"
    assert home.messages["title"] == "Contacts"


async def test_direction_comes_from_the_most_specific_non_empty_bundle() -> None:
    spec = spec_with_locales(
        '<Locale><msg name="a">x</msg></Locale>'
        '<Locale lang="he" language_direction="rtl"><msg name="a">y</msg></Locale>'
        '<Locale lang="he" country="IL"/>'
    )
    assert (await message_bundle(spec, "he", "IL", None)).direction == "rtl"
    assert (await message_bundle(spec, "en", "", None)).direction == "ltr"


async def test_direction_of_an_empty_only_locale_is_still_used() -> None:
    spec = spec_with_locales('<Locale lang="ar" language_direction="rtl"/>')
    assert await message_bundle(spec, "ar", "", None) == MessageBundle({}, "rtl")


async def test_no_locales_give_an_empty_ltr_bundle() -> None:
    spec = spec_with_locales("")
    assert await message_bundle(spec, "de", "DE", None) == MessageBundle({}, "ltr")


async def test_external_bundle_is_fetched_parsed_and_cached(fake_upstream: Any) -> None:
    spec = parse_spec(load("rich.xml"), RICH_SPEC_URL)
    fake_upstream.add(RICH_AR_BUNDLE_URL, load("messages/ar.xml"))
    bundle = await message_bundle(spec, "ar", "", None)
    assert bundle.direction == "rtl"
    assert bundle.messages["hello"] == "مرحبا <b>__UP_name__</b>"
    assert bundle.messages["mode"] == "wide"  # from the inline all/ALL locale
    request = fake_upstream.calls[0]
    assert request.deadline_seconds == 5
    assert request.max_response_bytes == 512 * 1024

    await message_bundle(spec, "ar", "", None)
    assert len(fake_upstream.calls) == 1
    await message_bundle(spec, "ar", "", None, nocache=True)
    assert len(fake_upstream.calls) == 2


def external_spec() -> Spec:
    return spec_with_locales('<Locale lang="de" messages="msgs/de.xml"/>')


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"<messagebundle><msg>x</msg>", 200, "Message bundle at " + BUNDLE_URL),
        (
            b"<messagebundle><msg>x</msg></messagebundle>",
            200,
            f"Message bundle at {BUNDLE_URL}: bundle msg #1: the name attribute",
        ),
        (b"gone", 404, f"The message bundle at {BUNDLE_URL} answered 404."),
        (
            b'<!DOCTYPE m [<!ENTITY e "x">]><m/>',
            200,
            "the DOCTYPE declares entities",
        ),
    ],
)
async def test_bad_external_bundle_is_a_spec_error_naming_its_url(
    fake_upstream: Any,
    body: bytes,
    status: int,
    message: str,
) -> None:
    fake_upstream.add(BUNDLE_URL, body, status=status)
    with pytest.raises(SpecError) as caught:
        await message_bundle(external_spec(), "de", "", None)
    assert message in caught.value.message
    assert BUNDLE_URL in caught.value.message


async def test_unreachable_bundle_is_a_fetch_error(fake_upstream: Any) -> None:
    def time_out(request: OutboundRequest) -> OutboundResponse:
        raise UpstreamTimeout()

    fake_upstream.add_handler(BUNDLE_URL, time_out)
    with pytest.raises(SpecFetchError) as caught:
        await message_bundle(external_spec(), "de", "", None)
    assert caught.value.message == (
        f"The message bundle at {BUNDLE_URL} could not be fetched: "
        "The remote server did not answer in time."
    )


async def test_bundle_of_another_language_is_not_fetched(fake_upstream: Any) -> None:
    await message_bundle(external_spec(), "fr", "", None)
    assert fake_upstream.calls == []
