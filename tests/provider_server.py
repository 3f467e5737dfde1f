"""The scripted OAuth provider behind a real socket, for worker tests.

A Celery worker is another process: ``fake_upstream`` cannot reach into
it, so tests that involve one serve ``FakeProvider`` over HTTP on
127.0.0.1 (``tests.localserver``) and open that one port to the outbound
guard in both processes. The server also serves the gadget spec naming
the provider's endpoints, and a revocation endpoint that records calls::

    with ProviderServer() as server:
        server.provider.add_consumer("contacts-gadget", "consumer-secret")
        ... OUTBOUND_ALLOWLIST=server.netloc ...
        server.refreshes        # refresh exchanges the provider answered
        server.revocations      # requests to /oauth/revoke

The provider's state is plain dicts, so requests are served one at a time.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

from gadgets.outbound import OutboundRequest
from tests.localserver import LocalServer, Recorded, Reply, http_server
from tests.oauth_provider import FakeProvider, _QueryBlindRoutes, _Token


class ProviderServer:
    def __init__(self) -> None:
        self.routes: dict[str, Any] = {}
        self.server: LocalServer = http_server(self._answer)
        self.provider = FakeProvider(base=f"http://{self.server.netloc}")
        self.provider.install(self)
        self.refreshes = 0
        self.refresh_delay_seconds = 0.0
        self.revocations: list[Recorded] = []
        self.revocation_signed: list[bool] = []  # each one's signature checked
        self.revocation_statuses: list[int] = []  # answered in turn, then 200
        self._lock = threading.Lock()

    # FakeProvider.install talks to its upstream through these two.
    def add_handler(self, url: str, handler: Any) -> None:
        self.routes[url] = handler

    @property
    def netloc(self) -> str:
        return self.server.netloc

    @property
    def gadget_url(self) -> str:
        return f"http://{self.netloc}/gadget.xml"

    @property
    def revocation_url(self) -> str:
        return f"http://{self.netloc}/oauth/revoke"

    def start(self) -> ProviderServer:
        self.routes = _QueryBlindRoutes(self.routes)
        self.server.start()
        return self

    def close(self) -> None:
        self.server.close()

    def __enter__(self) -> ProviderServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def issue_token(
        self, consumer_key: str, user: str = "alice", *, expired: bool = False
    ) -> tuple[str, str, str]:
        """An access token with a session handle, as if approved earlier."""
        token, secret = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        handle = secrets.token_urlsafe(12)
        self.provider.access_tokens[token] = _Token(
            secret, consumer_key, user=user, session_handle=handle, expired=expired
        )
        return token, secret, handle

    def _answer(self, recorded: Recorded) -> Reply:
        path = recorded.target.split("?", 1)[0]
        if path == "/gadget.xml":
            return Reply(body=self.provider.spec_xml().encode())
        if path == "/oauth/revoke":
            return self._revoke(recorded)
        is_refresh = "oauth_session_handle" in recorded.headers.get("authorization", "")
        if is_refresh and self.refresh_delay_seconds:
            time.sleep(self.refresh_delay_seconds)
        with self._lock:
            self.refreshes += is_refresh
            return self._provider_answer(recorded)

    def _provider_answer(self, recorded: Recorded) -> Reply:
        request = OutboundRequest(
            url=f"http://{self.netloc}{recorded.target}",
            method=recorded.method,
            headers=dict(recorded.headers),
            body=recorded.body or None,
        )
        handler = self.routes.get(request.url)
        if handler is None:
            return Reply(status=404, body=b"no such route")
        response = handler(request)
        return Reply(
            status=response.status, headers=response.headers, body=response.body
        )

    def _revoke(self, recorded: Recorded) -> Reply:
        with self._lock:
            self.revocations.append(recorded)
            self.revocation_signed.append(self._signed_with_a_token(recorded))
            status = (
                self.revocation_statuses.pop(0) if self.revocation_statuses else 200
            )
        return Reply(status=status, body=b"revoked" if status == 200 else b"down")

    def _signed_with_a_token(self, recorded: Recorded) -> bool:
        """Whether oauthlib's resource endpoint accepts the request's
        signature, made with the consumer secret and an access token."""
        self.provider.validator.problem = ""
        self.provider.validator.refreshing = True  # expired tokens count
        endpoint = self.provider.resource_endpoint
        valid, _ = endpoint.validate_protected_resource_request(
            f"http://{self.netloc}{recorded.target}",
            recorded.method,
            recorded.body.decode(),
            dict(recorded.headers),
        )
        return bool(valid)
