"""The real app on real sockets, for browser tests and benchmarks.

Browser tests need what the Django test client cannot give: a container
origin, per-gadget origins under ``GADGET_DOMAIN`` and a "gadget host" that
serves specs and data over HTTP, all on loopback. A session looks like::

    gadget host  http://127.0.0.1:41001/showcase.xml   (this module, a thread)
    the app      http://localhost:41002                (uvicorn, a subprocess)
    gadget       http://<base32>.gadgets.localhost:41002/gadgets/ifr?...

The app runs as a subprocess, not in a thread of the test process, so it
has its own database connection, event loop and settings (pytest-django's
database blocker and Playwright's sync API never meet it). Chromium resolves
every ``*.localhost`` name to loopback by itself, so no hosts file is
touched. ``OUTBOUND_ALLOWLIST`` opens exactly the gadget host's
``127.0.0.1:port`` to the outbound guard.

Spec files under ``tests/gadgets/`` may write ``http://gadget-host.invalid``
for "this gadget host"; it is replaced with the real base URL when served.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
GADGETS_DIR = Path(__file__).resolve().parent / "gadgets"
PYTHON = ROOT / ".venv" / "bin" / "python"
UVICORN = ROOT / ".venv" / "bin" / "uvicorn"
HOST_PLACEHOLDER = "http://gadget-host.invalid"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(
    port: int, path: str, host: str, timeout_seconds: float = 5.0
) -> tuple[int, bytes]:
    """GET ``path`` from 127.0.0.1:port with the given Host header."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_seconds)
    try:
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# --------------------------------------------------------------------------
# The gadget host: specs and JSON data on 127.0.0.1


@dataclass
class Route:
    body: bytes
    content_type: str
    status: int = 200


class GadgetHost:
    """A small HTTP server standing in for a gadget developer's web server.

    Serves ``tests/gadgets/<name>.xml`` and ``tests/gadgets/data/<name>.json``
    and any route added with ``add``; counts requests per path so tests can
    tell a cached answer from a fresh fetch.
    """

    def __init__(self, directory: Path = GADGETS_DIR) -> None:
        self.directory = directory
        self.routes: dict[str, Route] = {}
        self.hits: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever)
        self._thread.daemon = True

    def start(self) -> GadgetHost:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}"

    def add(
        self, path: str, body: str | bytes, content_type: str = "text/plain"
    ) -> str:
        """Serve ``body`` at ``path``; returns the absolute URL."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes["/" + path.lstrip("/")] = Route(data, content_type)
        return self.url(path)

    def add_json(self, path: str, value: Any) -> str:
        return self.add(path, json.dumps(value), "application/json")

    def lookup(self, path: str) -> Route | None:
        with self._lock:
            self.hits[path] = self.hits.get(path, 0) + 1
        if path in self.routes:
            return self.routes[path]
        return self._file_route(path)

    def _file_route(self, path: str) -> Route | None:
        name = path.lstrip("/")
        if ".." in name or not name.endswith((".xml", ".json")):
            return None
        file = self.directory / name
        if not file.is_file():
            return None
        text = file.read_text(encoding="utf-8").replace(HOST_PLACEHOLDER, self.base)
        kind = "application/xml" if name.endswith(".xml") else "application/json"
        return Route(text.encode("utf-8"), f"{kind}; charset=utf-8")


def _handler_for(host: GadgetHost) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            route = host.lookup(urlsplit(self.path).path)
            if route is None:
                route = Route(b"not found", "text/plain", status=404)
            self.send_response(route.status)
            self.send_header("Content-Type", route.content_type)
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            self.wfile.write(route.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler


# --------------------------------------------------------------------------
# The app under uvicorn


@dataclass
class LiveApp:
    """A running app: where to reach it and what it was started with."""

    port: int
    var_dir: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.var_dir / "server.log"

    @property
    def container_host(self) -> str:
        return f"localhost:{self.port}"

    @property
    def container_origin(self) -> str:
        return f"http://{self.container_host}"

    @property
    def sandbox_origin(self) -> str:
        return f"http://provider.localhost:{self.port}"

    @property
    def gadget_domain(self) -> str:
        return f"gadgets.localhost:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.container_origin}/{path.lstrip('/')}"

    def gadget_host(self, spec_url: str) -> str:
        """The locked host (with port) the app gives this gadget."""
        from gadgets.locked_domain import locked_label

        return f"{locked_label(spec_url)}.{self.gadget_domain}"

    def gadget_origin(self, spec_url: str) -> str:
        return f"http://{self.gadget_host(spec_url)}"

    def manage(self, *args: str) -> str:
        """Run ``manage.py`` against this app's settings; returns stdout."""
        done = subprocess.run(
            [str(PYTHON), str(ROOT / "manage.py"), *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
            )
        return done.stdout

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(
            self.log_path.read_text(errors="replace").splitlines()[-lines:]
        )


def app_env(
    port: int, var_dir: Path, allowlist: list[str], extra: dict[str, str] | None = None
) -> dict[str, str]:
    """Environment for the app: its own origins, database and var dir."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST", "DJANGO_", "DATABASE_URL", "REDIS_URL"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="container.settings",
        CONTAINER_ORIGIN=f"http://localhost:{port}",
        GADGET_DOMAIN=f"gadgets.localhost:{port}",
        SANDBOX_HOST=f"provider.localhost:{port}",
        VAR_DIR=str(var_dir),
        DATABASE_URL=f"sqlite:///{var_dir / 'live.sqlite3'}",
        OUTBOUND_ALLOWLIST=",".join(allowlist),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra or {})
    return env


@contextlib.contextmanager
def run_app(
    var_dir: Path,
    allowlist: list[str],
    extra_env: dict[str, str] | None = None,
    uvicorn_args: list[str] | None = None,
    allow_self: bool = False,
    allow_sandbox: bool = False,
) -> Iterator[LiveApp]:
    """Migrate a fresh database, start uvicorn, wait for /healthz, stop.

    ``allow_self`` adds the app's own container host to the allow-list, so
    it can fetch the specs it serves itself (``static/gadgets/*.xml``);
    ``allow_sandbox`` adds the sandbox provider's host, so the OAuth proxy
    can reach it over real HTTP.
    """
    var_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    if allow_self:
        allowlist = [*allowlist, f"localhost:{port}"]
    if allow_sandbox:
        allowlist = [*allowlist, f"provider.localhost:{port}"]
    app = LiveApp(port, var_dir, app_env(port, var_dir, allowlist, extra_env))
    app.manage("migrate", "--noinput", "-v", "0")
    with app.log_path.open("wb") as log:
        app.process = subprocess.Popen(
            [
                str(UVICORN),
                "container.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--lifespan",
                "off",
                *(uvicorn_args or []),
            ],
            cwd=ROOT,
            env=app.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_healthy(app)
            yield app
        finally:
            _stop(app.process)


def _wait_until_healthy(app: LiveApp, timeout_seconds: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_seconds
    assert app.process is not None
    while time.monotonic() < deadline:
        if app.process.poll() is not None:
            raise RuntimeError(f"the app exited at start-up:\n{app.log_tail()}")
        with contextlib.suppress(OSError):
            status, _ = http_get(app.port, "/healthz", app.container_host, 1.0)
            if status == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the app did not answer /healthz in time:\n{app.log_tail()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


# --------------------------------------------------------------------------
# pytest fixtures (import them into a conftest.py to use them)


@pytest.fixture(scope="session")
def gadget_host() -> Iterator[GadgetHost]:
    """The local "gadget developer's server" (allow-listed for the app)."""
    host = GadgetHost().start()
    yield host
    host.stop()


@pytest.fixture(scope="session")
def live_app(
    gadget_host: GadgetHost, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveApp]:
    """The real app under uvicorn, one per test session."""
    var_dir = tmp_path_factory.mktemp("live-app")
    allowlist = [f"127.0.0.1:{gadget_host.port}"]
    with run_app(var_dir, allowlist, allow_self=True) as app:
        yield app


def chromium_path() -> str:
    return (
        os.environ.get("CHROMIUM_PATH")
        or shutil.which("chromium")
        or ("/usr/bin/chromium")
    )


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Headless Chromium from the system package (never downloaded)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@dataclass
class BrowserPage:
    """A fresh page plus what the browser reported while the test ran."""

    page: Any
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def browser_page(chromium: Any) -> Iterator[BrowserPage]:
    context = chromium.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    seen = BrowserPage(page)
    page.on("console", lambda message: seen.console.append(message.text))
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    yield seen
    context.close()


def main() -> None:
    """Serve the showcase gadget in the preview page until interrupted."""
    import tempfile
    from urllib.parse import quote

    host = GadgetHost().start()
    with (
        tempfile.TemporaryDirectory() as tmp,
        run_app(Path(tmp), [f"127.0.0.1:{host.port}"]) as app,
    ):
        spec = quote(host.url("showcase.xml"), safe="")
        print(app.url(f"preview?url={spec}&nocache=1"), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while app.process is not None and app.process.poll() is None:
                time.sleep(1)
    host.stop()


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
