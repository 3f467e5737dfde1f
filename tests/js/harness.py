"""Static pages on two loopback origins, for testing the feature JS in Chromium.

The feature JavaScript is tested the way a browser meets it: a "container"
page on one origin hosting a "gadget" iframe on another, each loading the
script the endpoint would serve. A session looks like::

    container  http://127.0.0.1:41001/parent.html   loads container.js
    gadget     http://127.0.0.1:41002/gadget.html?parent=...#rpctoken=...
               loads every gadget feature; POST /gadgets/makeRequest is a
               stub answering what the test queued, recording each form

No Django process is involved: the pages embed ``features.javascript`` and
``features.feature_config`` computed in the test process.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from gadgets import features

CRUFT = features.UNPARSEABLE_CRUFT
GADGET_FEATURES = [
    "views",
    "dynamic-height",
    "settitle",
    "setprefs",
    "minimessage",
    "tabs",
    "oauthpopup",
    "opensocial-0.8",
]


@dataclass
class Posted:
    form: dict[str, str]
    headers: dict[str, str]


@dataclass
class Origin:
    """One loopback origin serving fixed pages and a makeRequest stub."""

    pages: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    posted: list[Posted] = field(default_factory=list)
    answer: Callable[[dict[str, str]], str] = lambda form: CRUFT + "{}"
    server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, path: str, body: str, content_type: str = "text/html") -> None:
        self.pages[path] = (content_type + "; charset=utf-8", body.encode())

    def start(self) -> Origin:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def _handler(origin: Origin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            content_type, body = origin.pages.get(path, ("text/plain", b"missing"))
            self._send(200 if path in origin.pages else 404, content_type, body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
            headers = {k.lower(): v for k, v in self.headers.items()}
            origin.posted.append(Posted(form, headers))
            self._send(200, "application/json", origin.answer(form).encode())

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def _script(value: Any) -> str:
    return json.dumps(value).replace("</", "<\\/")


def gadget_page(
    gadget_origin: str,
    *,
    defaults: dict[str, str] | None = None,
    messages: dict[str, str] | None = None,
    preloaded: list[dict[str, Any]] | None = None,
    parent_origins: list[str] | None = None,
    auth_preloads: list[dict[str, Any]] | None = None,
    body: str = "",
) -> str:
    """A gadget page shaped like the renderer's output."""
    names = features.resolve_names(GADGET_FEATURES)
    config = features.feature_config(
        names, gadget_origin=gadget_origin, container="default"
    )
    config["core.util"] = {name: {} for name in GADGET_FEATURES}
    if parent_origins is not None:
        config["rpc"] = {"parentOrigins": parent_origins}
    if auth_preloads:
        config["core.io"] = {**config.get("core.io", {}), "authPreloads": auth_preloads}  # type: ignore[dict-item]
    return f"""<!DOCTYPE html><html><head>
<style>html,body{{height:100%;width:100%;overflow:auto;margin:0}}</style>
<script src="/js/gadget.js"></script>
<script>gadgets.config.init({_script(config)});
gadgets.Prefs.setMessages_({_script(messages or {})});
gadgets.Prefs.setDefaultPrefs_({_script(defaults or {})});
gadgets.io.preloaded_ = {_script(preloaded or [])};
window.loaded = [];
gadgets.util.registerOnLoadHandler(function () {{ window.loaded.push('x'); }});
</script></head><body>{body}
<script>gadgets.util.runOnLoadHandlers();</script></body></html>"""


PARENT_PAGE = """<!DOCTYPE html><html><head>
<script src="/js/container.js"></script>
<script>
window.calls = [];
function record(name) {
  return function () {
    window.calls.push([name].concat(Array.prototype.slice.call(arguments)));
  };
}
gadgets.container.setHandlers({
  resizeIframe: record('resize'),
  setTitle: record('title'),
  setPref: record('pref'),
  navigateTo: record('navigate')
});
gadgets.rpc.register('echo', function (text) { return 'echo:' + text; });
function addGadget(id, src, origin, token) {
  var frame = document.createElement('iframe');
  frame.id = frame.name = id;
  gadgets.container.setupReceiver(id, origin, token);
  frame.onload = function () { frame.dataset.loaded = '1'; };
  frame.src = src;
  document.body.appendChild(frame);
}
// Like the home page: the iframe loads before the container's end exists.
function addGadgetLate(id, src, origin, token) {
  var frame = document.createElement('iframe');
  frame.id = frame.name = id;
  frame.onload = function () {
    frame.dataset.loaded = '1';
    window.setTimeout(function () {
      gadgets.container.setupReceiver(id, origin, token);
    }, 200);
  };
  frame.src = src;
  document.body.appendChild(frame);
}
</script></head><body></body></html>"""


def serve_javascript(origin: Origin) -> None:
    names = features.resolve_names(GADGET_FEATURES)
    origin.add("/js/gadget.js", features.javascript(names), "application/javascript")
    container = features.resolve_names(["container"])
    origin.add(
        "/js/container.js", features.javascript(container), "application/javascript"
    )
