"""Measure the gadget server on this machine and write docs/benchmarks.md.

One run starts everything it measures, on loopback:

* an upstream: a small asyncio HTTP/1.1 keep-alive server in this file
  (run as its own process) answering ``/json`` with a small JSON body at
  once and ``/slow`` after one second, and serving the bench gadget spec;
* the app under uvicorn in production mode (``DJANGO_DEBUG=false``, fresh
  ``DJANGO_SECRET_KEY`` and ``ENCRYPTION_KEYS``, ``LOG_LEVEL=WARNING``,
  no access log), with ``OUTBOUND_ALLOWLIST`` opening the upstream;

then issues a security token with ``manage.py issue_security_token``, warms
the caches and drives each target with wrk (Debian's ``wrk`` package):

  a. the upstream directly (what a gadget would get with no server at all);
  b. ``/healthz``, a trivial view of the same deployment (the floor set by
     uvicorn, Django and the middleware);
  c. a warm ``/gadgets/ifr`` render on the gadget's locked host;
  d. makeRequest, unsigned GET, answered from the cache, then with
     ``nocache=1`` (a real upstream call each time);
  e. 500 connections through makeRequest (``nocache=1``) to an upstream
     that answers after 1 s: the ideal is 500 requests/s, and anything far
     below means slow upstreams pin workers.

Rerun with ``.venv/bin/python bench/run_bench.py`` (``make bench``); the
whole run takes about two minutes. ``--no-write`` prints without writing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import platform
import re
import secrets
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.live import LiveApp, free_port, http_get, run_app  # noqa: E402

WRK = "/usr/bin/wrk"
SPEC_FILE = ROOT / "tests" / "gadgets" / "bench.xml"
OUTPUT = ROOT / "docs" / "benchmarks.md"
SLOW_SECONDS = 1.0
JSON_BODY = json.dumps({"ok": True, "items": [1, 2, 3], "name": "bench"}).encode()


# --------------------------------------------------------------------------
# The upstream (runs in its own process: `run_bench.py --serve-upstream PORT`)


class Upstream:
    """Answers GET /json, /slow (after 1 s), /bench.xml and /stats."""

    def __init__(self) -> None:
        self.requests = 0
        self.spec = SPEC_FILE.read_bytes()

    async def serve(self, port: int) -> None:
        server = await asyncio.start_server(
            self.connection, "127.0.0.1", port, backlog=4096
        )
        async with server:
            await server.serve_forever()

    async def connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            while await self.one_exchange(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def one_exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        target = lines[0].split(" ")[1] if " " in lines[0] else "/"
        headers = dict(line.lower().split(":", 1) for line in lines[1:] if ":" in line)
        length = int(headers.get("content-length", "0").strip() or 0)
        if length:
            await reader.readexactly(length)
        status, content_type, body = await self.answer(urlsplit(target).path)
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        return headers.get("connection", "").strip() != "close"

    async def answer(self, path: str) -> tuple[str, str, bytes]:
        self.requests += 1
        if path == "/slow":
            await asyncio.sleep(SLOW_SECONDS)
        if path in ("/json", "/slow"):
            return "200 OK", "application/json", JSON_BODY
        if path == "/bench.xml":
            return "200 OK", "application/xml", self.spec
        if path == "/stats":
            return "200 OK", "application/json", str(self.requests).encode()
        return "404 Not Found", "text/plain", b"not found"


def serve_upstream(port: int) -> None:
    asyncio.run(Upstream().serve(port))


# --------------------------------------------------------------------------
# wrk


@dataclass(frozen=True)
class Result:
    name: str
    command: str
    requests_per_second: float
    median_ms: float
    p99_ms: float
    requests: int
    errors: str
    upstream_calls: int = 0


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def to_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(name: str, command: str, output: str) -> Result:
    """Requests/s, median and p99 latency and errors from wrk's report."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    median = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    total = re.search(r"(\d+) requests in", output)
    if not (rps and median and p99 and total):
        raise RuntimeError(f"could not read wrk's report:\n{output}")
    problems = re.findall(r"(Socket errors: .*|Non-2xx or 3xx responses: \d+)", output)
    return Result(
        name,
        command,
        float(rps.group(1)),
        to_ms(median.group(1)),
        to_ms(p99.group(1)),
        int(total.group(1)),
        "; ".join(problems) or "none",
    )


def run_wrk(
    name: str,
    url: str,
    *,
    host: str | None,
    connections: int,
    threads: int,
    duration_seconds: int,
    timeout_seconds: int = 5,
) -> Result:
    command = [WRK, f"-t{threads}", f"-c{connections}", f"-d{duration_seconds}s"]
    command += [f"--timeout={timeout_seconds}s", "--latency"]
    if host:
        command += ["-H", f"Host: {host}"]
    command.append(url)
    print(f"  {name}: {redact(shlex.join(command))}", flush=True)
    done = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=600
    )
    result = parse_wrk(name, shlex.join(command), done.stdout)
    print(
        f"    {result.requests:,} answers, {result.requests_per_second:,.0f} "
        f"req/s, median "
        f"{result.median_ms:.2f} ms, p99 {result.p99_ms:.2f} ms, "
        f"errors: {result.errors}",
        flush=True,
    )
    return result


# --------------------------------------------------------------------------
# The run


@dataclass(frozen=True)
class Targets:
    """Paths (on 127.0.0.1:<app port>) and Host headers to measure."""

    container_host: str
    gadget_host: str
    ifr_path: str
    make_request_path: str
    make_request_nocache_path: str
    slow_path: str
    oauth_path: str


def production_env() -> dict[str, str]:
    from cryptography.fernet import Fernet

    return {
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "LOG_LEVEL": "WARNING",
        # The per-viewer limit still counts every request (its cost is
        # measured) but is set far above what one bench viewer sends.
        "GADGETS_MAKEREQUEST_RATE": "100000000/min",
    }


def start_upstream(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve-upstream", str(port)]
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if http_get(port, "/stats", f"127.0.0.1:{port}", 1.0)[0] == 200:
                return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("the upstream did not start")


@contextlib.contextmanager
def minimal_proxy(up_port: int, workers: int) -> Iterator[int]:
    """Run bench/minimal_proxy.py under uvicorn, with as many workers as the
    app; yields its port."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    command = [str(ROOT / ".venv" / "bin" / "uvicorn"), "minimal_proxy:application"]
    command += ["--app-dir", str(ROOT / "bench"), "--host", "127.0.0.1"]
    command += ["--port", str(port), "--lifespan", "off", "--no-access-log"]
    command += ["--workers", str(workers)]
    process = subprocess.Popen([*command, "--log-level", "warning"], env=env)
    probe = f"/proxy?url={quote(f'http://127.0.0.1:{up_port}/json', safe='')}"
    try:
        _wait_for(lambda: http_get(port, probe, f"127.0.0.1:{port}", 1.0)[0] == 200)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for(ready: Callable[[], bool], timeout_seconds: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if ready():
                return
        time.sleep(0.1)
    raise RuntimeError("a bench process did not start in time")


def issue_token(app: LiveApp, spec_url: str) -> dict[str, str]:
    out = app.manage(
        "issue_security_token",
        "--owner",
        "bench-owner",
        "--viewer",
        "bench-owner",
        "--gadget",
        spec_url,
        "--ttl",
        "3600",
    )
    # Log lines share stdout with the answer (one JSON object on its line).
    answer = [line for line in out.splitlines() if line.startswith("{")][-1]
    issued: dict[str, str] = json.loads(answer)
    return issued


def make_request_path(
    url: str, st: str, *, nocache: bool, authz: str = "none", service: str = ""
) -> str:
    path = f"/gadgets/makeRequest?url={quote(url, safe='')}&httpMethod=GET"
    path += f"&authz={authz}&contentType=JSON&st={quote(st, safe='')}"
    if service:
        path += f"&OAUTH_SERVICE_NAME={service}"
    return path + ("&nocache=1" if nocache else "")


OAUTH_SERVICE = "bench"
# Stored as the bench viewer's access token before the run (bench only).
SEED_ACCESS_CODE = """
from asgiref.sync import async_to_sync
from gadgets.locked_domain import canonical_gadget_url
from oauthproxy import client, dance
identity = dance.TokenIdentity(
    "bench-owner", canonical_gadget_url({spec_url!r}), 0, {service!r}, ""
)
tokens = client.TokenResponse(token="bench-access", secret="bench-access-secret")
async_to_sync(dance.store_token)(identity, tokens)
"""


def prepare_oauth(app: LiveApp, spec_url: str) -> None:
    """Register an HMAC consumer for the bench gadget and store a token.

    The same steps an operator and a finished dance would take:
    ``import_oauth_config`` and ``dance.store_token``.
    """
    config = {
        spec_url: {
            OAUTH_SERVICE: {
                "consumer_key": "bench-consumer-key",
                "consumer_secret": "bench-consumer-secret",
                "key_type": "HMAC_SYMMETRIC",
            }
        }
    }
    path = app.var_dir / "oauth.json"
    path.write_text(json.dumps(config))
    app.manage("import_oauth_config", str(path))
    code = SEED_ACCESS_CODE.format(spec_url=spec_url, service=OAUTH_SERVICE)
    app.manage("shell", "-c", code)


def targets_for(app: LiveApp, upstream: str, issued: dict[str, str]) -> Targets:
    iframe = urlsplit(issued["iframe_url"])
    st = issued["st"]
    return Targets(
        container_host=app.container_host,
        gadget_host=urlsplit(issued["gadget_origin"]).netloc,
        ifr_path=f"{iframe.path}?{iframe.query}",
        make_request_path=make_request_path(f"{upstream}/json", st, nocache=False),
        make_request_nocache_path=make_request_path(
            f"{upstream}/json", st, nocache=True
        ),
        slow_path=make_request_path(f"{upstream}/slow", st, nocache=True),
        oauth_path=make_request_path(
            f"{upstream}/json", st, nocache=True, authz="oauth", service=OAUTH_SERVICE
        ),
    )


def check(app: LiveApp, path: str, host: str, expect: bytes) -> None:
    """One request, answered 200 with ``expect`` in the body, or stop."""
    status, body = http_get(app.port, path, host, timeout_seconds=10)
    if status != 200 or expect not in body:
        raise RuntimeError(
            f"GET {path[:80]}... on {host} answered {status}: {body[:300]!r}\n"
            f"{app.log_tail()}"
        )


def warm(app: LiveApp, targets: Targets) -> None:
    for _ in range(20):
        check(app, "/healthz", targets.container_host, b"ok")
        check(app, targets.ifr_path, targets.gadget_host, b"bench")
        check(app, targets.make_request_path, targets.gadget_host, b'"rc"')
        check(app, targets.make_request_nocache_path, targets.gadget_host, b'"rc"')
        check(app, targets.oauth_path, targets.gadget_host, b'\\"ok\\": true')


def upstream_requests(port: int) -> int:
    return int(http_get(port, "/stats", f"127.0.0.1:{port}")[1])


def plan(
    args: argparse.Namespace, app: LiveApp, up_port: int, minimal_port: int
) -> list[Run]:
    """What to measure, in order: name, URL, Host header, connections."""
    upstream = f"http://127.0.0.1:{up_port}"
    minimal = f"http://127.0.0.1:{minimal_port}/proxy?url="
    issued = issue_token(app, f"{upstream}/bench.xml")
    prepare_oauth(app, f"{upstream}/bench.xml")
    targets = targets_for(app, upstream, issued)
    warm(app, targets)
    base = f"http://127.0.0.1:{app.port}"
    gadget, many = targets.gadget_host, args.slow_connections
    return [
        Run("a. upstream directly", f"{upstream}/json", None, args.connections),
        Run("b. /healthz", f"{base}/healthz", targets.container_host, args.connections),
        Run(
            "c. /gadgets/ifr (warm)", base + targets.ifr_path, gadget, args.connections
        ),
        Run(
            "d1. makeRequest (cached)",
            base + targets.make_request_path,
            gadget,
            args.connections,
        ),
        Run(
            "d2. makeRequest nocache=1",
            base + targets.make_request_nocache_path,
            gadget,
            args.connections,
        ),
        Run(
            "g. OAuth makeRequest (token stored)",
            base + targets.oauth_path,
            gadget,
            args.connections,
        ),
        Run(
            "f. minimal signing proxy",
            minimal + quote(f"{upstream}/json", safe=""),
            None,
            args.connections,
        ),
        Run(
            "e0. slow upstream directly",
            f"{upstream}/slow",
            None,
            many,
            duration=args.slow_duration,
        ),
        Run(
            "fs. minimal signing proxy to slow upstream",
            minimal + quote(f"{upstream}/slow", safe=""),
            None,
            many,
            duration=args.slow_duration,
        ),
        # Last: a saturated app would slow down whatever ran after it. While
        # 500 connections wait on the slow upstream, a few clients ask the
        # same app for the fast one: they must keep being answered.
        Run(
            "e. makeRequest to slow upstream",
            base + targets.slow_path,
            gadget,
            many,
            duration=args.slow_duration,
            alongside=Run(
                "ef. fast makeRequest during e",
                base + targets.make_request_nocache_path,
                gadget,
                2,  # a probe, not a second load: two clients in a loop
                duration=args.slow_duration,
            ),
        ),
    ]


@dataclass(frozen=True)
class Run:
    name: str
    url: str
    host: str | None
    connections: int
    duration: int | None = None  # seconds; the run's --duration if None
    alongside: Run | None = None  # measured at the same time, on its own


def measure(
    args: argparse.Namespace, app: LiveApp, up_port: int, minimal_port: int
) -> list[Result]:
    results = []
    for run in plan(args, app, up_port, minimal_port):
        before = upstream_requests(up_port)
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = [pool.submit(wrk_for, args, r) for r in (run, run.alongside) if r]
            result, *companions = [future.result() for future in futures]
        # Less one: the /stats request that read the count.
        calls = upstream_requests(up_port) - before - 1
        calls -= sum(companion.requests for companion in companions)
        results.append(dataclasses.replace(result, upstream_calls=calls))
        results.extend(companions)
    return results


def wrk_for(args: argparse.Namespace, run: Run) -> Result:
    return run_wrk(
        run.name,
        run.url,
        host=run.host,
        connections=run.connections,
        # One thread for a companion run: the machine is shared.
        threads=args.threads if run.alongside or run.connections > 10 else 1,
        duration_seconds=run.duration or args.duration,
        timeout_seconds=10,
    )


# --------------------------------------------------------------------------
# The report


def machine() -> dict[str, str]:
    meminfo = Path("/proc/meminfo").read_text()
    kib = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))  # type: ignore[union-attr]
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"model name\s*:\s*(.*)", cpuinfo)
    wrk = subprocess.run([WRK, "-v"], capture_output=True, text=True)
    return {
        "CPUs (nproc)": str(os.cpu_count()),
        "CPU model": model.group(1).strip() if model else platform.machine(),
        "memory": f"{kib / 1024 / 1024:.1f} GiB",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "wrk": (wrk.stdout + wrk.stderr).split("\n")[0].strip(),
    }


def by_name(results: list[Result]) -> dict[str, Result]:
    return {result.name.split(".")[0]: result for result in results}


def ratios(results: list[Result]) -> list[tuple[str, float]]:
    r = by_name(results)
    # A target that answered nothing has no rate; max() keeps the ratio 0.
    rps = {key: max(value.requests_per_second, 1e-9) for key, value in r.items()}
    return [
        ("makeRequest cached vs trivial view (req/s)", rps["d1"] / rps["b"]),
        ("makeRequest nocache vs trivial view (req/s)", rps["d2"] / rps["b"]),
        ("makeRequest cached vs upstream directly (req/s)", rps["d1"] / rps["a"]),
        ("makeRequest nocache vs upstream directly (req/s)", rps["d2"] / rps["a"]),
        ("makeRequest nocache vs minimal signing proxy (req/s)", rps["d2"] / rps["f"]),
        ("OAuth makeRequest vs minimal signing proxy (req/s)", rps["g"] / rps["f"]),
        (
            "OAuth makeRequest vs plain makeRequest nocache (req/s)",
            rps["g"] / rps["d2"],
        ),
        ("OAuth makeRequest vs upstream directly (req/s)", rps["g"] / rps["a"]),
        ("warm ifr render vs trivial view (req/s)", rps["c"] / rps["b"]),
        ("slow upstream through makeRequest vs ideal 500/s", rps["e"] / 500),
        (
            "slow upstream through makeRequest vs directly (same window)",
            rps["e"] / rps["e0"],
        ),
        (
            "slow upstream: makeRequest vs minimal signing proxy",
            rps["e"] / rps["fs"],
        ),
        (
            "fast makeRequest during the slow run vs alone (req/s)",
            rps["ef"] / rps["d2"],
        ),
        (
            "makeRequest nocache median vs trivial median (latency)",
            r["d2"].median_ms / max(r["b"].median_ms, 1e-9),
        ),
    ]


def report(args: argparse.Namespace, results: list[Result]) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmarks",
        "",
        "Generated by `bench/run_bench.py`; do not edit by hand, rerun it:",
        "",
        "```sh",
        ".venv/bin/python bench/run_bench.py   # or: make bench",
        "```",
        "",
        f"Measured {now}, in one run, on this machine:",
        "",
        *[f"- {key}: {value}" for key, value in machine().items()],
        "",
        "Everything ran on that one machine over loopback: the upstream (an "
        "asyncio HTTP/1.1 keep-alive server in the script, its own process), "
        f"the app (uvicorn, `--workers {args.workers}`, `DJANGO_DEBUG=false`, SQLite, "
        "local-memory cache, `LOG_LEVEL=WARNING`, no access log) and wrk. "
        "They share the CPUs, so the absolute numbers are low-end; the ratios "
        "are the point. On this virtual machine the app's figures varied by up "
        "to a factor of two between runs a few minutes apart; compare ratios "
        "within one run.",
        "",
        "## Results",
        "",
        "| target | requests/s | median | p99 | requests | upstream calls | errors |",
        "|---|---:|---:|---:|---:|---:|---|",
        *[result_row(r, args.duration) for r in results],
        "",
        "## Ratios",
        "",
        "| comparison | ratio |",
        "|---|---:|",
        *[f"| {label} | {value:.3f} |" for label, value in ratios(results)],
        "",
        *EXPLANATION,
        "",
        *BOTTLENECKS,
        "",
        "## Exact commands",
        "",
        "Ports are picked free at each run. The app was started as "
        "`.venv/bin/uvicorn container.asgi:application --host 127.0.0.1 "
        "--port <port> --lifespan off --no-access-log --log-level warning "
        f"--workers {args.workers}` "
        "after `manage.py migrate`, and the token came from "
        "`manage.py issue_security_token --owner bench-owner --viewer "
        "bench-owner --gadget http://127.0.0.1:<upstream>/bench.xml --ttl 3600`.",
        "",
        "```sh",
        *[redact(r.command) for r in results],
        "```",
        "",
        f"Settings of this run: {args.threads} wrk threads, "
        f"{args.connections} connections ({args.slow_connections} for the slow "
        f"upstream), {args.duration} s per target ({args.slow_duration} s for "
        "the slow ones), after 20 warm-up requests per target.",
        "",
    ]
    return "\n".join(lines)


def result_row(r: Result, duration_seconds: int) -> str:
    if r.requests == 0:
        latency = "none answered | -"
    else:
        latency = f"{r.median_ms:.2f} ms | {r.p99_ms:.2f} ms"
    return (
        f"| {r.name} | {r.requests_per_second:,.0f} | {latency} | {r.requests:,} "
        f"| {r.upstream_calls:,} | {r.errors} |"
    )


def redact(command: str) -> str:
    # Tokens are short-lived, but none belongs in the repository.
    return re.sub(r"st=[^&' ]+", "st=<security token>", command)


EXPLANATION = [
    "## What each target means",
    "",
    "- **a. upstream directly**: wrk against the upstream, no app in between: "
    "the best a gadget could get.",
    "- **b. /healthz**: the cheapest view of the same deployment (uvicorn, "
    "Django, every middleware) on the container host. Container pages keep "
    "Django's thread per request and the session middleware's thread hop "
    "(see `container/asgi.py`), which gadget hosts skip, so the gadget-host "
    "targets below can outrun it.",
    "- **c. /gadgets/ifr (warm)**: a full render of the bench gadget on its "
    "locked host, spec and features from the cache; no outbound request.",
    "- **d1. makeRequest (cached)**: an unsigned GET through the proxy, with "
    "a security token, answered from the cache (makeRequest caches unsigned "
    "GETs, as Shindig does).",
    "- **d2. makeRequest nocache=1**: the same request, but each one calls the "
    "upstream through the guarded client (allow-list, address checks, "
    "deadline, size cap).",
    "- **g. OAuth makeRequest (token stored)**: `authz=oauth` with the "
    "viewer's access token already stored (registered with "
    "`import_oauth_config`, stored with `dance.store_token`): each request "
    "opens the security token, checks the locked host, finds the consumer "
    "registration (cached) and the access token (one indexed query), "
    "decrypts both, signs with HMAC-SHA1 and calls the upstream through the "
    "guarded client. Compare with f, which does only the signing and the "
    "call.",
    "- **e0 / e. slow upstream**: 500 connections against an upstream that "
    "answers after 1 s, directly (e0) and through makeRequest with "
    "`nocache=1` (e). The ideal is 500 requests/s (concurrency / latency); "
    "a server that spent one worker per outbound call would manage only its "
    "worker count per second. wrk counts only answers that arrive inside its "
    "window, so with 1 s answers a 30 s window tops out near 483/s: e0 shows "
    "that ceiling, and e/e0 is the fair ratio.",
    "- **ef. fast makeRequest during e**: 2 more connections asking the same "
    "app for the fast upstream (`nocache=1`) while e's 500 wait on the slow "
    "one, measured at the same time: a slow provider must not starve "
    "everyone else. Compare with d2 (the same request on an idle app).",
    "- **f / fs. minimal signing proxy**: `bench/minimal_proxy.py`, what a "
    "team would write without this product (Django with no middleware, "
    "oauthlib HMAC-SHA1 signing, one pooled httpx client; no token, no "
    "locked host, no outbound guard, no cache), at 50 connections against "
    "the fast upstream (f, compare with d2) and at 500 against the slow one "
    "(fs, compare with e). The design's goal is to do all of this "
    "product's checking and still be at least as fast.",
]


BOTTLENECKS = [
    "## Where the time went, and what was done (2026-12-03 and 12-04)",
    "",
    "Found with a sampling profiler and with requests driven through the ASGI "
    "handler in-process; each fix was measured against the previous code in "
    "the same session before it was kept.",
    "",
    "- **httpcore's connection pool is quadratic.** "
    "`AsyncConnectionPool._assign_requests_to_connections` scans every "
    "connection for every queued request on each change: 500 concurrent "
    "fetches of the 1 s upstream through `gadgets.outbound.fetch` alone took "
    "12 to 15 s and timed some out, and target e answered nothing at all. "
    "`gadgets.outbound.OriginPool` (idle connections in a deque per origin, a "
    "semaphore for the limit) does the same 500 in about 1.5 s. The minimal "
    "proxy (f, fs) uses httpx, hence that same pool, as a team without this "
    "product would.",
    "- **Thread hops in the middleware.** Under ASGI Django runs every "
    "`MiddlewareMixin` hook through `sync_to_async`; the wrappers in "
    "`container.middleware` run the hooks that do no I/O inline and skip "
    "session, CSRF, auth and messages on gadget hosts, so a gadget request "
    "makes no middleware thread hop.",
    "- **A thread per request.** Django's ASGI handler gives each request its "
    "own executor thread (and a second one to tear it down) for the request "
    "signals and ORM calls. With 500 requests in flight that is about 1,000 "
    "threads; `container.asgi.ContainerASGIHandler` lets gadget-host requests "
    "share the process's one thread for synchronous work instead. In an A/B "
    "run on this machine that raised plain makeRequest from 318 to 448 "
    "requests/s and target e from 144 to 278 (one worker, asyncio loop).",
    "- **Event loop and HTTP parser.** uvloop and httptools (which uvicorn "
    "uses by itself when installed) took e further, to 388 with one worker.",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--serve-upstream", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--duration", type=int, default=10, help="seconds per target")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--slow-connections", type=int, default=500)
    parser.add_argument(
        "--slow-duration", type=int, default=30, help="seconds for the slow targets"
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="uvicorn workers, for the app and the minimal proxy alike "
        "(default: one per core, as docs/operations.md advises)",
    )
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    if args.serve_upstream:
        serve_upstream(args.serve_upstream)
        return
    results = run(args)
    text = report(args, results)
    if args.no_write:
        print(text)
    else:
        OUTPUT.write_text(text)
        print(f"wrote {OUTPUT.relative_to(ROOT)}")


def run(args: argparse.Namespace) -> list[Result]:
    up_port = free_port()
    upstream = start_upstream(up_port)
    try:
        with (
            tempfile.TemporaryDirectory() as var_dir,
            run_app(
                Path(var_dir),
                allowlist=[f"127.0.0.1:{up_port}"],
                extra_env=production_env(),
                uvicorn_args=[
                    "--no-access-log",
                    *("--log-level", "warning"),
                    *("--workers", str(args.workers)),
                ],
            ) as app,
        ):
            print(f"app on port {app.port}, upstream on port {up_port}", flush=True)
            with minimal_proxy(up_port, args.workers) as minimal_port:
                return measure(args, app, up_port, minimal_port)
    finally:
        upstream.terminate()
        upstream.wait(timeout=10)


if __name__ == "__main__":
    main()
