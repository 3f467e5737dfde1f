"""``manage.py issue_security_token``: one line of JSON, clear failures."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from gadgets.locked_domain import gadget_origin
from gadgets.security_token import decode_token
from gadgets.tests.render_helpers import SPEC_URL, spec_xml

pytestmark = pytest.mark.django_db


def issue(*args: str) -> dict[str, str]:
    out = StringIO()
    call_command("issue_security_token", *args, stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def test_prints_token_iframe_url_and_origin(fake_upstream) -> None:
    fake_upstream.add(SPEC_URL, spec_xml())
    output = issue(
        "--owner", "alice", "--viewer", "bob", "--gadget", SPEC_URL,
        "--module-id", "4", "--ttl", "120",
    )  # fmt: skip
    assert set(output) == {"st", "iframe_url", "gadget_origin"}
    token = decode_token(output["st"])
    assert (token.owner, token.viewer, token.gadget_url, token.module_id) == (
        "alice",
        "bob",
        SPEC_URL,
        4,
    )
    assert token.expires_at - token.issued_at == 120
    assert output["gadget_origin"] == gadget_origin(SPEC_URL)
    assert output["iframe_url"].startswith(output["gadget_origin"] + "/gadgets/ifr?")
    fragment = parse_qs(urlsplit(output["iframe_url"]).fragment)
    assert fragment["st"] == [output["st"]]


def test_view_is_honoured(fake_upstream) -> None:
    fake_upstream.add(SPEC_URL, spec_xml('<Content view="canvas">c</Content>'))
    output = issue(
        "--owner", "a", "--viewer", "a", "--gadget", SPEC_URL, "--view", "canvas"
    )  # fmt: skip
    assert "view=canvas" in output["iframe_url"]


def test_unfetchable_spec_fails_naming_the_problem(fake_upstream) -> None:
    with pytest.raises(CommandError) as caught:
        issue("--owner", "a", "--viewer", "a", "--gadget", SPEC_URL)
    assert SPEC_URL in str(caught.value)


def test_missing_view_fails_clearly(fake_upstream) -> None:
    fake_upstream.add(SPEC_URL, spec_xml('<Content view="canvas">c</Content>'))
    with pytest.raises(CommandError, match="profile"):
        issue(
            "--owner", "a", "--viewer", "a", "--gadget", SPEC_URL, "--view", "profile"
        )


@pytest.mark.parametrize(
    "extra", [["--module-id", "-1"], ["--ttl", "0"]], ids=["module-id", "ttl"]
)
def test_bad_numbers_are_refused(extra: list[str]) -> None:
    with pytest.raises(CommandError):
        issue("--owner", "a", "--viewer", "a", "--gadget", SPEC_URL, *extra)


def test_failure_exits_non_zero_without_a_traceback() -> None:
    manage = Path(settings.BASE_DIR) / "manage.py"
    result = subprocess.run(
        [
            sys.executable, str(manage), "issue_security_token",
            "--owner", "a", "--viewer", "a", "--gadget", "ftp://example.com/g.xml",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "ftp://example.com/g.xml" in result.stderr
    assert result.stdout == ""
