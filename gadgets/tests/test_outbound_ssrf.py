"""SSRF corpus: every inward destination is refused before any connection.

Each probe is tried four ways: directly in the URL, by a name that
resolves to it, by a name that rebinds to it after a first harmless
answer, and through a redirect from an allow-listed server. A canary
listener stands in for every inward target: the low-level connector is
replaced so that any connection attempt to a non-allow-listed port lands
on the canary, where it is counted. Every probe must end in
``DestinationBlocked`` or ``InvalidUrl`` with zero canary connections.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpcore
import pytest

from gadgets import outbound
from gadgets.errors import DestinationBlocked, InvalidUrl, UpstreamError
from gadgets.outbound import OutboundRequest, fetch
from tests.localserver import (
    LocalServer,
    Reply,
    canary_server,
    http_server,
    redirect_server,
)

REFUSED = (DestinationBlocked, InvalidUrl)
PUBLIC = ipaddress.ip_address("93.184.215.14")

# (how the URL spells the host, the address it stands for)
PROBES = [
    ("127.0.0.1", "127.0.0.1"),
    ("127.1", "127.0.0.1"),
    ("2130706433", "127.0.0.1"),
    ("0x7f000001", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"),
    ("127.255.255.254", "127.255.255.254"),
    ("0", "0.0.0.0"),  # noqa: S104 (a destination here, never a bind)
    ("0.0.0.0", "0.0.0.0"),  # noqa: S104
    ("127\u30020\u30020\u30021", "127.0.0.1"),  # ideographic full stops
    ("127\uff0e0\uff0e0\uff0e1", "127.0.0.1"),  # fullwidth full stops
    ("\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54", "127.0.0.1"),
    ("localhost%00.example", "127.0.0.1"),
    ("[::ffff:127.0.0.1%25lo]", "::ffff:127.0.0.1"),
    ("localhost", "127.0.0.1"),
    ("LOCALHOST.", "127.0.0.1"),
    ("provider.localhost", "127.0.0.1"),
    ("[::1]", "::1"),
    ("[::]", "::"),
    ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"),
    ("[::ffff:7f00:1]", "::ffff:7f00:1"),
    ("[0:0:0:0:0:ffff:127.0.0.1]", "::ffff:127.0.0.1"),
    ("[::127.0.0.1]", "::7f00:1"),
    ("[::ffff:a9fe:a9fe]", "::ffff:169.254.169.254"),
    ("10.0.0.1", "10.0.0.1"),
    ("10.255.255.254", "10.255.255.254"),
    ("172.16.0.1", "172.16.0.1"),
    ("172.31.255.254", "172.31.255.254"),
    ("192.168.0.1", "192.168.0.1"),
    ("192.168.255.254", "192.168.255.254"),
    ("169.254.169.254", "169.254.169.254"),
    ("169.254.0.1", "169.254.0.1"),
    ("[fd00:ec2::254]", "fd00:ec2::254"),
    ("[fe80::1]", "fe80::1"),
    ("[fc00::1]", "fc00::1"),
    ("[fec0::1]", "fec0::1"),
    ("100.64.0.1", "100.64.0.1"),
    ("100.127.255.254", "100.127.255.254"),
    ("[64:ff9b::7f00:1]", "64:ff9b::7f00:1"),
    ("[64:ff9b::a00:1]", "64:ff9b::a00:1"),
    ("[64:ff9b:1::8.8.8.8]", "64:ff9b:1::808:808"),
    ("[2002:7f00:1::]", "2002:7f00:1::"),
    ("[2002:808:808::1]", "2002:808:808::1"),
    ("[2001:0:4136:e378:8000:63bf:3fff:fdd2]", "2001:0:4136:e378:8000:63bf:3fff:fdd2"),
    ("224.0.0.1", "224.0.0.1"),
    ("239.255.255.250", "239.255.255.250"),
    ("[ff02::1]", "ff02::1"),
    ("[ff0e::1]", "ff0e::1"),
    ("255.255.255.255", "255.255.255.255"),
    ("240.0.0.1", "240.0.0.1"),
    ("0.1.2.3", "0.1.2.3"),
    ("192.0.0.1", "192.0.0.1"),
    ("192.0.2.1", "192.0.2.1"),
    ("198.51.100.1", "198.51.100.1"),
    ("203.0.113.1", "203.0.113.1"),
    ("198.18.0.1", "198.18.0.1"),
    ("192.88.99.1", "192.88.99.1"),
    ("[2001:db8::1]", "2001:db8::1"),
    ("[3fff::1]", "3fff::1"),
    ("[100::1]", "100::1"),
]
ADDRESSES = sorted({address for _, address in PROBES})


@dataclass
class Canary:
    """The canary listener plus every address the client tried to reach."""

    server: LocalServer
    attempts: list[Any] = field(default_factory=list)
    passthrough_ports: set[int] = field(default_factory=set)
    public_server: LocalServer | None = None

    @property
    def port(self) -> int:
        return self.server.port

    def url(self, host: str) -> str:
        return f"http://{host}:{self.port}/secret?token=abc"


@pytest.fixture
def canary(monkeypatch: pytest.MonkeyPatch) -> Iterator[Canary]:
    """Route every connection attempt to the canary, unless explicitly let through.

    Allow-listed helper servers are listed in ``passthrough_ports``; the
    stand-in for a public address (``PUBLIC``) reaches ``public_server``.
    """
    with canary_server() as server:
        state = Canary(server)

        async def connect(
            address: Any, port: int, timeout: float | None
        ) -> httpcore.AsyncNetworkStream:
            state.attempts.append(address)
            backend = outbound._anyio_backend
            if address == PUBLIC and state.public_server is not None:
                return await backend.connect_tcp("127.0.0.1", state.public_server.port)
            if address == PUBLIC:
                raise httpcore.ConnectError("unreachable in tests")
            if port in state.passthrough_ports:
                return await backend.connect_tcp("127.0.0.1", port)
            return await backend.connect_tcp("127.0.0.1", server.port)

        monkeypatch.setattr(outbound, "_connect_ip", connect)
        yield state


@pytest.fixture(autouse=True)
async def _close_pool() -> AsyncIterator[None]:
    yield
    await outbound.close_pool()


def fake_resolver(
    monkeypatch: pytest.MonkeyPatch, *answers: list[str]
) -> list[tuple[str, int]]:
    """Make ``resolve`` give ``answers`` in turn (the last one repeats)."""
    calls: list[tuple[str, int]] = []

    async def resolve(host: str, port: int) -> list[Any]:
        calls.append((host, port))
        answer = answers[min(len(calls), len(answers)) - 1]
        return [ipaddress.ip_address(address) for address in answer]

    monkeypatch.setattr(outbound, "resolve", resolve)
    return calls


async def assert_refused(url: str, canary: Canary) -> None:
    started = time.monotonic()
    with pytest.raises(REFUSED):
        await fetch(OutboundRequest(url))
    assert time.monotonic() - started < 1
    assert canary.server.connections == 0


@pytest.mark.parametrize(("spelling", "address"), PROBES)
async def test_inward_address_in_url_is_refused(
    canary: Canary, spelling: str, address: str
) -> None:
    await assert_refused(canary.url(spelling), canary)
    assert canary.attempts == []


@pytest.mark.parametrize("address", ADDRESSES)
async def test_name_resolving_inward_is_refused(
    canary: Canary, monkeypatch: pytest.MonkeyPatch, address: str
) -> None:
    calls = fake_resolver(monkeypatch, [address])

    await assert_refused(canary.url("inward.example"), canary)

    assert calls == [("inward.example", canary.port)]
    assert canary.attempts == []


@pytest.mark.parametrize("address", ADDRESSES)
async def test_name_rebinding_inward_is_refused_on_the_next_request(
    canary: Canary, monkeypatch: pytest.MonkeyPatch, address: str
) -> None:
    calls = fake_resolver(monkeypatch, [str(PUBLIC)], [address])
    with http_server(lambda request: Reply(body=b"public")) as public:
        canary.public_server = public
        first = await fetch(OutboundRequest(canary.url("rebind.example")))

        await assert_refused(canary.url("rebind.example"), canary)

    assert first.body == b"public"
    assert len(calls) == 2
    assert canary.attempts == [PUBLIC]


@pytest.mark.parametrize(("spelling", "address"), PROBES)
async def test_redirect_to_inward_address_is_refused(
    canary: Canary, settings: Any, spelling: str, address: str
) -> None:
    with redirect_server(canary.url(spelling)) as redirector:
        settings.OUTBOUND_ALLOWLIST = [redirector.netloc]
        canary.passthrough_ports.add(redirector.port)

        await assert_refused(redirector.url("/go"), canary)

        assert redirector.connections == 1
    assert canary.attempts == [ipaddress.ip_address("127.0.0.1")]


async def test_name_with_one_public_and_one_private_answer_is_refused(
    canary: Canary, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_resolver(monkeypatch, [str(PUBLIC), "10.0.0.7"])

    await assert_refused(canary.url("mixed.example"), canary)

    assert canary.attempts == []


async def test_one_resolution_per_hop_connects_only_to_the_checked_address(
    canary: Canary, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = fake_resolver(monkeypatch, [str(PUBLIC)], ["127.0.0.1"])

    with pytest.raises(UpstreamError):
        await fetch(OutboundRequest(canary.url("rebind.example")))

    assert len(calls) == 1
    assert canary.attempts == [PUBLIC]
    assert canary.server.connections == 0


async def test_allowlisted_server_redirecting_to_other_loopback_port_is_refused(
    settings: Any,
) -> None:
    with canary_server() as target:
        with redirect_server(target.url("/admin")) as redirector:
            settings.OUTBOUND_ALLOWLIST = [redirector.netloc]

            with pytest.raises(DestinationBlocked):
                await fetch(OutboundRequest(redirector.url("/")))

            assert redirector.connections == 1
        assert target.connections == 0


async def test_allowlist_is_exact_host_and_port(settings: Any) -> None:
    with canary_server() as target:
        settings.OUTBOUND_ALLOWLIST = [f"localhost:{target.port}"]

        for url in (target.url("/"), target.url("/", host="[::1]")):
            with pytest.raises(DestinationBlocked):
                await fetch(OutboundRequest(url))

        assert target.connections == 0


async def test_userinfo_pointing_at_loopback_is_refused(
    canary: Canary, settings: Any
) -> None:
    settings.OUTBOUND_ALLOWLIST = ["allowed:80"]

    with pytest.raises(InvalidUrl, match="user name"):
        await fetch(OutboundRequest(f"http://allowed@127.0.0.1:{canary.port}/"))

    assert canary.server.connections == 0


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/_x",
        "ftp://127.0.0.1/",
        "javascript:alert(1)",
        "dict://127.0.0.1:11211/",
        " http://127.0.0.1/",
        "\thttp://127.0.0.1/",
        "\nhttp://127.0.0.1/",
        "http://127.0.0.1/\r\nX-Injected: 1",
        "http://evil.example\\@127.0.0.1/",
    ],
)
async def test_url_forms_that_could_smuggle_a_destination_are_refused(
    canary: Canary, url: str
) -> None:
    with pytest.raises(InvalidUrl):
        await fetch(OutboundRequest(url))

    assert canary.server.connections == 0


async def test_refusal_is_logged_with_host_but_not_query(
    canary: Canary, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="gadgets.security"),
        pytest.raises(DestinationBlocked),
    ):
        await fetch(OutboundRequest(canary.url("169.254.169.254")))

    [record] = [r for r in caplog.records if r.name == "gadgets.security"]
    assert "169.254.169.254" in record.getMessage()
    assert "token" not in record.getMessage()
