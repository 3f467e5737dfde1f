"""The guard's building blocks: URL syntax, address classes, resolution."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

from gadgets import outbound
from gadgets.errors import DestinationBlocked, InvalidUrl, UpstreamError
from gadgets.outbound import check_destination, check_url, is_blocked_address

BLOCKED = [
    "0.0.0.0",  # noqa: S104 (an address under test, never a bind)
    "0.255.255.255",
    "10.1.2.3",
    "100.64.0.1",
    "100.127.255.255",
    "127.0.0.1",
    "127.8.9.10",
    "169.254.169.254",
    "172.16.0.1",
    "172.31.0.1",
    "192.0.0.8",
    "192.0.2.10",
    "192.88.99.1",
    "192.168.1.1",
    "198.18.5.5",
    "198.19.255.255",
    "198.51.100.7",
    "203.0.113.9",
    "224.0.0.251",
    "233.252.0.1",
    "239.1.1.1",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "::7f00:1",  # IPv4-compatible 127.0.0.1
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "64:ff9b::7f00:1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b:1::808:808",
    "100::1",
    "2001::1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "2001:db8::1",
    "2001:10::1",
    "2002:7f00:1::",
    "2002:808:808::",
    "3fff::1",
    "5f00::1",
    "fc00::1",
    "fd00:ec2::254",
    "fe80::1",
    "fe80::1%eth0",
    "fec0::1",
    "ff02::1",
    "ff0e::1",
]

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "100.63.255.255",
    "100.128.0.0",
    "172.15.255.255",
    "172.32.0.0",
    "192.167.255.255",
    "198.20.0.1",
    "223.255.255.254",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",  # NAT64 for a public IPv4 address
]


@pytest.mark.parametrize("address", BLOCKED)
def test_non_public_address_is_blocked(address: str) -> None:
    assert is_blocked_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_address_is_not_blocked(address: str) -> None:
    assert not is_blocked_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("", "empty"),
        ("example.com/path", "Only http and https"),
        ("//example.com/", "Only http and https"),
        ("ftp://example.com/", "not ftp"),
        ("http:///path", "no host"),
        ("http:example.com", "no host"),
        ("http://user:pw@example.com/", "user name"),
        ("http://@example.com/", "user name"),
        ("http://example.com:0/", "out of range"),
        ("http://example.com:65536/", "out of range"),
        ("http://example.com:-1/", "out of range"),
        ("http://example.com:http/", "parsed"),
        ("http://exa mple.com/", "forbidden character"),
        ("http://example.com/\x00", "forbidden character"),
        ("http://example.com/\x7f", "forbidden character"),
        ("http://example.com/\u200b", "forbidden character"),
        ("http://example.com/\u2028", "forbidden character"),
        ("http://example.com\\.evil/", "forbidden character"),
        ("http://ex%61mple.com/", "not allowed"),
        ("http://[fe80::1%25eth0]/", "zone"),
        ("http://[::1/", "parsed"),
        ("http://" + "a" * 40000 + ".com/", "longer than"),
    ],
)
def test_malformed_url_is_refused_with_the_problem_named(
    url: str, problem: str
) -> None:
    with pytest.raises(InvalidUrl) as caught:
        check_url(url)

    assert problem in caught.value.message


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com",
        "HTTPS://Example.COM:8443/a/b?c=d#frag",
        "http://[2606:4700:4700::1111]:8080/",
        "http://münchen.example/straße?q=ä",
        "http://under_score.example./",
        "http://example.com/path?email=a@b.example",
    ],
)
def test_well_formed_url_passes_the_syntax_check(url: str) -> None:
    check_url(url)


async def test_localhost_names_resolve_to_loopback_without_the_system_resolver(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the system resolver was asked")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)

    for host in ("localhost", "localhost.", "provider.localhost", "a.b.localhost"):
        assert [str(a) for a in await outbound.resolve(host, 80)] == ["127.0.0.1"]


async def test_address_literals_resolve_to_themselves() -> None:
    assert await outbound.resolve("::1", 80) == [ipaddress.ip_address("::1")]
    assert await outbound.resolve("10.0.0.1", 80) == [ipaddress.ip_address("10.0.0.1")]


async def test_numeric_spellings_resolve_to_loopback() -> None:
    for host in ("127.1", "2130706433", "0x7f000001"):
        assert await outbound.resolve(host, 80) == [ipaddress.ip_address("127.0.0.1")]


async def test_unresolvable_name_is_an_upstream_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)

    with pytest.raises(UpstreamError, match="could not be resolved"):
        await outbound.resolve("nowhere.example", 80)


async def test_allowlist_matches_host_and_effective_port(settings: Any) -> None:
    settings.OUTBOUND_ALLOWLIST = ["localhost:80", "[::1]:8443", " 127.0.0.1:8123 "]

    assert await check_destination("http://LOCALHOST/")
    assert await check_destination("http://[::1]:8443/")
    assert await check_destination("http://127.0.0.1:8123/x")
    for url in ("https://localhost/", "http://localhost:8080/", "http://[::1]/"):
        with pytest.raises(DestinationBlocked):
            await check_destination(url)


async def test_allowlist_change_takes_effect_at_once(settings: Any) -> None:
    settings.OUTBOUND_ALLOWLIST = ["localhost:8000"]
    await check_destination("http://localhost:8000/")

    settings.OUTBOUND_ALLOWLIST = []

    with pytest.raises(DestinationBlocked):
        await check_destination("http://localhost:8000/")
