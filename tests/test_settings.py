"""Settings refuse unsafe production configurations at start-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent


def _start(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SECRET_KEY", "ENCRYPTION_KEYS", "DJANGO_DEBUG"}
    }
    full_env.update(VAR_DIR=str(tmp_path), DATABASE_URL="", **env)
    code = "import django; django.setup(); print('started')"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**full_env, "DJANGO_SETTINGS_MODULE": "container.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_the_development_secret_key(tmp_path: Path) -> None:
    result = _start(tmp_path, DJANGO_DEBUG="false")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_refuses_the_development_encryption_key(tmp_path: Path) -> None:
    result = _start(tmp_path, DJANGO_DEBUG="false", DJANGO_SECRET_KEY="x" * 50)

    assert result.returncode != 0
    assert "ENCRYPTION_KEYS must be set" in result.stderr


def test_production_starts_with_real_keys(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    result = _start(
        tmp_path, DJANGO_DEBUG="false", DJANGO_SECRET_KEY="x" * 50, ENCRYPTION_KEYS=key
    )

    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DJANGO_DEBUG", "maybe", "DJANGO_DEBUG must be true or false"),
        ("CONTAINER_ORIGIN", "ftp://x", "CONTAINER_ORIGIN must look like"),
        ("GADGET_DOMAIN", "localhost:8000", "GADGET_DOMAIN must differ"),
        ("OUTBOUND_ALLOWLIST", "no-port", "OUTBOUND_ALLOWLIST entries must be"),
        ("GADGETS_SPEC_TTL_SECONDS", "soon", "must be a whole number"),
    ],
)
def test_bad_settings_name_the_variable(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    result = _start(tmp_path, **{name: value})

    assert result.returncode != 0
    assert message in result.stderr


def test_a_malformed_encryption_key_is_refused_with_its_position(
    tmp_path: Path,
) -> None:
    good = Fernet.generate_key().decode()
    code_env = {"ENCRYPTION_KEYS": f"{good},not-a-key"}
    full = _start(tmp_path, **code_env)
    assert full.returncode == 0  # keys are checked on first use, not import

    from django.core.exceptions import ImproperlyConfigured
    from django.test import override_settings

    from gadgets import keyring

    with (
        override_settings(ENCRYPTION_KEYS=[good, "not-a-key"]),
        pytest.raises(ImproperlyConfigured, match="entry 2"),
    ):
        keyring.ring()


def _pool_of(tmp_path: Path, **env: str) -> str:
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.DATABASES['default'].get('OPTIONS', {}).get('pool'))"
    )
    full_env = {**os.environ, "VAR_DIR": str(tmp_path), **env}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**full_env, "DJANGO_SETTINGS_MODULE": "container.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_production_postgres_pools_connections(tmp_path: Path) -> None:
    production = {
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "x" * 60,
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": "postgres://app@db.example:5432/container",
    }
    assert "'max_size': 20" in _pool_of(tmp_path, **production)
    sized = _pool_of(tmp_path, **production, DATABASE_POOL_MAX_SIZE="5")
    assert "'max_size': 5" in sized
    assert _pool_of(tmp_path, **production, DATABASE_POOL_MAX_SIZE="0") == "None"
    sqlite = {**production, "DATABASE_URL": ""}
    assert _pool_of(tmp_path, **sqlite) == "None"


@pytest.mark.parametrize("value", ["", "off"])
def test_an_empty_sandbox_host_turns_the_sandbox_off(
    tmp_path: Path, value: str
) -> None:
    code = "from django.conf import settings; print(repr(settings.SANDBOX_HOST))"
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={
            **os.environ,
            "VAR_DIR": str(tmp_path),
            "DATABASE_URL": "",
            "SANDBOX_HOST": value,
            "DJANGO_SETTINGS_MODULE": "container.settings",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.stdout.strip().endswith("''"), result.stderr
