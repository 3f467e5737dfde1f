"""Each fault switch, from the page and from the signed JSON API."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client

from sandbox.models import AccessToken, Consumer

from .conftest import HMAC_SECRET, Signer, dance, log_in, with_token

pytestmark = pytest.mark.django_db


def switch(consumer: Consumer, **values: object) -> None:
    Consumer.objects.filter(pk=consumer.pk).update(**values)


def test_answers_503_on_every_endpoint(
    hmac_signer: Signer, hmac_consumer: Consumer
) -> None:
    switch(hmac_consumer, answers_503=True)

    for path in ("/oauth/request_token", "/oauth/access_token", "/api/contacts"):
        answer = hmac_signer.send(path, callback_uri="oob")
        assert answer.status == 503, path
        assert answer.headers["Retry-After"] == "30"


def test_answers_slowly_when_asked(
    hmac_signer: Signer, hmac_consumer: Consumer
) -> None:
    switch(hmac_consumer, delay_seconds=0.4)

    started = time.monotonic()
    answer = hmac_signer.send("/api/echo")

    assert answer.status == 200
    assert time.monotonic() - started >= 0.4


def test_a_rejected_key_hears_consumer_key_rejected(
    hmac_signer: Signer, hmac_consumer: Consumer
) -> None:
    switch(hmac_consumer, rejects_key=True)

    answer = hmac_signer.send("/oauth/request_token", callback_uri="oob")

    assert answer.status == 401
    assert answer.problem == "consumer_key_rejected"


def test_problem_goes_in_the_header_by_default(hmac_signer: Signer) -> None:
    answer = hmac_signer.send("/api/echo", tamper=True)

    assert 'oauth_problem="signature_invalid"' in answer.headers["WWW-Authenticate"]
    assert "oauth_problem=" not in answer.text


def test_problem_goes_in_the_body_when_switched(
    hmac_signer: Signer, hmac_consumer: Consumer
) -> None:
    switch(hmac_consumer, problem_location="body")

    answer = hmac_signer.send("/api/echo", tamper=True)

    assert answer.status == 401
    assert "oauth_problem" not in answer.headers["WWW-Authenticate"]
    assert answer.form["oauth_problem"] == "signature_invalid"


def test_expire_now_expires_every_token_of_the_consumer(
    ada: object, hmac_signer: Signer, hmac_consumer: Consumer, provider: Client
) -> None:
    tokens = dance(hmac_signer, provider)

    provider.post("/faults", {"consumer": hmac_consumer.pk, "expire_tokens": "true"})
    answer = hmac_signer.send("/api/contacts", **with_token(hmac_signer, tokens))

    assert answer.problem == "access_token_expired"


def test_revoke_all_revokes_every_token_of_the_consumer(
    ada: object, hmac_signer: Signer, hmac_consumer: Consumer, provider: Client
) -> None:
    tokens = dance(hmac_signer, provider)

    response = provider.post(
        "/faults", {"consumer": hmac_consumer.pk, "revoke_tokens": "true"}
    )
    answer = hmac_signer.send("/api/contacts", **with_token(hmac_signer, tokens))

    assert b"1 revoked" in response.content
    assert answer.problem == "token_revoked"


def test_the_fault_page_saves_switches_and_never_shows_secrets(
    ada: object, hmac_consumer: Consumer, provider: Client
) -> None:
    log_in(provider)

    response = provider.post(
        "/faults",
        {
            "consumer": hmac_consumer.pk,
            "answers_503": "true",
            "delay_seconds": "2.5",
            "problem_location": "body",
        },
    )

    hmac_consumer.refresh_from_db()
    assert response.status_code == 200
    assert (hmac_consumer.answers_503, hmac_consumer.delay_seconds) == (True, 2.5)
    assert hmac_consumer.problem_location == "body"
    assert not hmac_consumer.rejects_key
    assert HMAC_SECRET.encode() not in response.content


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("delay_seconds", "soon", "delay_seconds must be a number"),
        ("delay_seconds", "600", "between 0 and 60"),
        ("problem_location", "sky", "problem_location must be one of"),
        ("answers_503", "maybe", "answers_503 must be true or false"),
    ],
)
def test_a_bad_switch_value_is_refused_with_a_sentence(
    ada: object,
    hmac_consumer: Consumer,
    provider: Client,
    field: str,
    value: str,
    message: str,
) -> None:
    log_in(provider)

    response = provider.post("/faults", {"consumer": hmac_consumer.pk, field: value})

    assert response.status_code == 400
    assert message in response.content.decode()
    hmac_consumer.refresh_from_db()
    assert not hmac_consumer.answers_503


def test_the_fault_page_needs_a_provider_login(provider: Client) -> None:
    response = provider.get("/faults")

    assert response.status_code == 302


def test_the_json_api_reads_and_changes_the_signers_switches(
    hmac_signer: Signer, hmac_consumer: Consumer
) -> None:
    changed = hmac_signer.send(
        "/api/faults",
        method="POST",
        form={"rejects_key": "true", "delay_seconds": "0", "problem_location": "body"},
    )
    read = hmac_signer.send("/api/faults")

    assert changed.status == 200, changed.text
    assert json.loads(read.text) == {
        "consumer_key": "hmac-consumer",
        "answers_503": False,
        "delay_seconds": 0.0,
        "rejects_key": True,
        "problem_location": "body",
    }


def test_the_json_api_works_while_the_key_is_rejected(
    hmac_signer: Signer, hmac_consumer: Consumer
) -> None:
    switch(hmac_consumer, rejects_key=True, answers_503=True)

    answer = hmac_signer.send(
        "/api/faults", method="POST", form={"rejects_key": "false", "answers_503": "0"}
    )

    hmac_consumer.refresh_from_db()
    assert answer.status == 200
    assert not hmac_consumer.rejects_key and not hmac_consumer.answers_503


def test_the_json_api_expires_and_revokes_tokens(
    ada: object, hmac_signer: Signer, provider: Client
) -> None:
    dance(hmac_signer, provider)

    answer = hmac_signer.send(
        "/api/faults", method="POST", form={"revoke_tokens": "true"}
    )

    assert json.loads(answer.text)["revoked"] == 1
    assert not AccessToken.objects.live().exists()


def test_the_json_api_refuses_unsigned_or_badly_signed_calls(
    hmac_signer: Signer, client: Client
) -> None:
    from .conftest import HOST

    unsigned = client.post("/api/faults", {"answers_503": "true"}, HTTP_HOST=HOST)
    tampered = hmac_signer.send("/api/faults", tamper=True)

    assert unsigned.status_code == 400
    assert tampered.status == 401
    assert not Consumer.objects.get(key="hmac-consumer").answers_503


def test_the_json_api_explains_a_bad_value(hmac_signer: Signer) -> None:
    answer = hmac_signer.send(
        "/api/faults", method="POST", form={"delay_seconds": "-1"}
    )

    assert answer.status == 400
    assert json.loads(answer.text) == {
        "error": "invalid_switch",
        "detail": "delay_seconds must be between 0 and 60 seconds.",
    }


@pytest.mark.parametrize(
    "authorization",
    [
        'OAuth oauth_consumer_key="hmac-consumer", oauth_nonce',
        'OAuth oauth_consumer_key="%zz"',
        "OAuth \x00",
    ],
)
@pytest.mark.parametrize("path", ["/oauth/request_token", "/api/echo", "/api/faults"])
def test_a_request_oauthlib_cannot_parse_gets_a_400_not_a_500(
    hmac_consumer: Consumer, client: Client, authorization: str, path: str
) -> None:
    from .conftest import HOST

    response = client.get(path, HTTP_HOST=HOST, HTTP_AUTHORIZATION=authorization)

    assert response.status_code == 400
    assert "oauth_problem=" in response["WWW-Authenticate"]


def test_a_query_with_broken_percent_encoding_gets_a_400(
    hmac_consumer: Consumer, client: Client
) -> None:
    from .conftest import HOST

    response = client.get(
        "/api/contacts?oauth_consumer_key=%FF%FE&x=%zz", HTTP_HOST=HOST
    )

    assert response.status_code == 400


class _BodyHashClient:
    """oauthlib's Client plus the oauth_body_hash of a JSON body."""

    @staticmethod
    def sign(key: str, secret: str, uri: str, body: bytes) -> dict[str, str]:
        import base64
        import hashlib

        from oauthlib import oauth1

        digest = base64.b64encode(hashlib.sha1(body).digest()).decode()  # noqa: S324

        class WithHash(oauth1.Client):
            def get_oauth_params(self, request: object) -> list[tuple[str, str]]:
                params = super().get_oauth_params(request)  # type: ignore[arg-type]
                return [*params, ("oauth_body_hash", digest)]

        _, headers, _ = WithHash(key, client_secret=secret).sign(
            uri, http_method="POST", headers={"Content-Type": "application/json"}
        )
        return headers


def test_the_json_api_takes_a_json_body_bound_by_its_body_hash(
    hmac_consumer: Consumer, client: Client
) -> None:
    from .conftest import BASE, send_raw

    body = json.dumps({"answers_503": True, "delay_seconds": 1.5})
    headers = _BodyHashClient.sign(
        hmac_consumer.key, HMAC_SECRET, BASE + "/api/faults", body.encode()
    )

    other = _BodyHashClient.sign(
        hmac_consumer.key, HMAC_SECRET, BASE + "/api/faults", body.encode()
    )

    answer = send_raw(client, "POST", BASE + "/api/faults", headers, body)
    forged = send_raw(
        client, "POST", BASE + "/api/faults", other, body.replace("1.5", "60")
    )

    assert answer.status == 200, answer.text
    assert json.loads(answer.text)["delay_seconds"] == 1.5
    assert forged.status == 401
    assert forged.problem == "signature_invalid"


def test_a_json_body_without_a_body_hash_is_refused(
    hmac_signer: Signer, hmac_consumer: Consumer, client: Client
) -> None:
    from oauthlib import oauth1

    from .conftest import BASE, send_raw

    _, headers, _ = oauth1.Client(hmac_consumer.key, client_secret=HMAC_SECRET).sign(
        BASE + "/api/faults",
        http_method="POST",
        headers={"Content-Type": "application/json"},
    )

    answer = send_raw(
        client, "POST", BASE + "/api/faults", headers, '{"rejects_key": true}'
    )

    assert answer.status == 400
    assert answer.problem == "parameter_absent"
    hmac_consumer.refresh_from_db()
    assert not hmac_consumer.rejects_key
