"""Security tokens (sealed, expiring, rotatable) and locked gadget hosts."""

from __future__ import annotations

import base64

import pytest
from cryptography.fernet import Fernet

from gadgets import keyring
from gadgets.errors import InvalidSecurityToken, InvalidUrl
from gadgets.locked_domain import (
    canonical_gadget_url,
    gadget_origin,
    is_gadget_host,
    locked_host,
    locked_label,
)
from gadgets.security_token import decode_token, encode_token

GADGET = "https://gadgets.example.com/weather.xml"
OTHER_GADGET = "https://gadgets.example.com/news.xml"
NOW = 1_800_000_000
UNIFORM = InvalidSecurityToken.default_message


def issue(**overrides: object) -> str:
    fields: dict[str, object] = {
        "owner": "owner",
        "viewer": "viewer",
        "gadget_url": GADGET,
        "module_id": 3,
        "ttl_seconds": 3600,
        "now": NOW,
    }
    fields.update(overrides)
    return encode_token(**fields)


def refused(token: str, now: float = NOW) -> str:
    with pytest.raises(InvalidSecurityToken) as caught:
        decode_token(token, now=now)
    return caught.value.message


def flip(text: str, index: int) -> str:
    replacement = "A" if text[index] != "A" else "B"
    return text[:index] + replacement + text[index + 1 :]


def test_token_round_trip_keeps_every_field() -> None:
    token = decode_token(issue(), now=NOW + 10)
    assert token.owner == "owner"
    assert token.viewer == "viewer"
    assert token.gadget_url == GADGET
    assert token.module_id == 3
    assert token.container == "default"
    assert token.issued_at == NOW
    assert token.expires_at == NOW + 3600
    assert token.app_id == GADGET
    assert not token.is_anonymous


def test_token_carries_the_canonical_gadget_url() -> None:
    token = decode_token(
        issue(gadget_url="HTTPS://Gadgets.Example.COM:443/weather.xml"), now=NOW
    )
    assert token.gadget_url == GADGET


def test_anonymous_token_has_empty_viewer() -> None:
    assert decode_token(issue(owner="", viewer=""), now=NOW).is_anonymous


def test_token_is_opaque() -> None:
    text = issue(owner="alice-the-owner")
    assert "alice" not in text
    body = text.split(".", 1)[1]
    assert b"alice" not in base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


@pytest.mark.parametrize("index", [12, 20, 40, -1])
def test_tampered_byte_is_refused(index: int) -> None:
    assert refused(flip(issue(), index)) == UNIFORM


def test_truncated_token_is_refused() -> None:
    token = issue()
    assert refused(token[:-5]) == UNIFORM
    assert refused(token[:12]) == UNIFORM


@pytest.mark.parametrize(
    "garbage", ["", ".", "abc", "a.b.c", "x" * 5000, "1234abcd.!!!"]
)
def test_malformed_token_is_refused(garbage: str) -> None:
    assert refused(garbage) == UNIFORM


def test_unknown_key_id_is_refused() -> None:
    body = issue().split(".", 1)[1]
    assert refused("00000000." + body) == UNIFORM


def test_token_moved_under_another_ring_key_id_is_refused(settings) -> None:
    second = Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = [*settings.ENCRYPTION_KEYS, second]
    body = issue().split(".", 1)[1]
    other_id = keyring.ring()[1].key_id
    assert refused(f"{other_id}.{body}") == UNIFORM


def test_token_within_clock_skew_after_expiry_is_accepted() -> None:
    decode_token(issue(), now=NOW + 3600 + 170)


def test_expired_token_beyond_skew_is_refused() -> None:
    assert refused(issue(), now=NOW + 3600 + 181) == UNIFORM


def test_token_issued_in_the_future_is_refused() -> None:
    assert refused(issue(), now=NOW - 181) == UNIFORM


def test_token_is_bound_to_its_gadget() -> None:
    weather = decode_token(issue(), now=NOW)
    news = decode_token(issue(gadget_url=OTHER_GADGET), now=NOW)
    assert weather.gadget_url != news.gadget_url
    # A gadget's host derives from the URL inside the token, so a token
    # swapped to another gadget's host names the wrong gadget for it.
    assert not is_gadget_host(weather.gadget_url, locked_host(OTHER_GADGET))


def test_old_key_still_opens_tokens_after_rotation(settings) -> None:
    token = issue()
    newest = Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = [newest, *settings.ENCRYPTION_KEYS]
    assert decode_token(token, now=NOW).owner == "owner"
    assert issue().split(".")[0] == keyring.current().key_id != token.split(".")[0]


def test_dropped_key_no_longer_opens_tokens(settings) -> None:
    token = issue()
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    assert refused(token) == UNIFORM


def test_every_refusal_gives_the_same_message(settings) -> None:
    token = issue()
    messages = {
        refused(flip(token, 30)),
        refused(token[:20]),
        refused(token, now=NOW + 10_000),
        refused(token, now=NOW - 10_000),
        refused("ffffffff." + token.split(".")[1]),
    }
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    messages.add(refused(token))
    assert messages == {UNIFORM}


def test_each_token_uses_a_fresh_nonce() -> None:
    assert issue() != issue()


# -- locked hosts ------------------------------------------------------------


def test_canonical_url_lowercases_scheme_and_host_and_drops_default_port() -> None:
    assert (
        canonical_gadget_url("HTTP://Example.COM:80/g.xml#top")
        == "http://example.com/g.xml"
    )
    assert (
        canonical_gadget_url("https://example.com:443/g.xml")
        == "https://example.com/g.xml"
    )
    assert canonical_gadget_url("https://example.com:8443/g.xml?a=1") == (
        "https://example.com:8443/g.xml?a=1"
    )
    assert canonical_gadget_url(" http://example.com ") == "http://example.com/"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/g.xml",
        "javascript:alert(1)",
        "/g.xml",
        "http://u:p@example.com/g.xml",
        "http://example.com:99999/g.xml",
    ],
)
def test_non_http_or_credentialled_gadget_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidUrl):
        canonical_gadget_url(url)


def test_locked_host_is_one_dns_label_under_the_gadget_domain(settings) -> None:
    host = locked_host(GADGET)
    label, _, domain = host.partition(".")
    assert domain == settings.GADGET_DOMAIN
    assert len(label) == 32
    assert label == label.lower() and label.isalnum()
    assert label == locked_label(GADGET)


def test_locked_host_is_the_same_for_every_spelling_of_a_url() -> None:
    assert locked_host("HTTPS://GADGETS.example.com:443/weather.xml#x") == locked_host(
        GADGET
    )


def test_different_gadgets_get_different_hosts() -> None:
    assert locked_host(GADGET) != locked_host(OTHER_GADGET)


def test_gadget_origin_uses_the_container_scheme(settings) -> None:
    assert (
        gadget_origin(GADGET) == f"{settings.CONTAINER_SCHEME}://{locked_host(GADGET)}"
    )


def test_host_check_ignores_case_but_not_port() -> None:
    host = locked_host(GADGET)
    assert is_gadget_host(GADGET, host.upper())
    assert not is_gadget_host(GADGET, host.rsplit(":", 1)[0] + ":9999")
