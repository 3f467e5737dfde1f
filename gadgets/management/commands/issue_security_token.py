"""``manage.py issue_security_token``: a token and iframe URL for scripts.

Prints one line of JSON, for example::

    $ manage.py issue_security_token --owner alice --viewer alice \\
          --gadget https://example.com/g.xml --module-id 3
    {"st": "1a2b3c4d.…",
     "iframe_url": "http://<hash>.gadgets.localhost:8000/gadgets/ifr?…#…st=…",
     "gadget_origin": "http://<hash>.gadgets.localhost:8000"}

(wrapped here; the command prints it on one line).

The spec is fetched (or read from the cache) because the iframe URL
depends on it: its views, its user prefs and where they go.
"""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from asgiref.sync import async_to_sync
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from gadgets import messages, specfetch
from gadgets.errors import GadgetError
from gadgets.iframe_url import IframeInfo, iframe_url, select_view


class Command(BaseCommand):
    help = "Print JSON with a security token and iframe URL for one gadget instance."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--owner", required=True, help="the page owner's id")
        parser.add_argument("--viewer", required=True, help="the viewer's id")
        parser.add_argument("--gadget", required=True, metavar="URL")
        parser.add_argument("--module-id", type=int, default=0, metavar="N")
        parser.add_argument("--ttl", type=int, default=None, metavar="SECONDS")
        parser.add_argument("--view", default="default")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["module_id"] < 0:
            raise CommandError("--module-id must be zero or more.")
        if options["ttl"] is not None and options["ttl"] <= 0:
            raise CommandError("--ttl must be a positive number of seconds.")
        url = options["gadget"]
        try:
            info = _iframe_info(url, options)
        except GadgetError as error:
            raise CommandError(
                f"Cannot issue a token for {url}: {error.message}"
            ) from None
        except DatabaseError as error:
            raise CommandError(
                f"The database is not ready ({error}); run manage.py migrate."
            ) from None
        output = {
            "st": info.security_token,
            "iframe_url": info.url,
            "gadget_origin": info.origin,
        }
        self.stdout.write(json.dumps(output, separators=(",", ":")))


def _iframe_info(url: str, options: dict[str, Any]) -> IframeInfo:
    spec = specfetch.get_spec_sync(url)
    view = select_view(spec, options["view"])
    # A url view's href may name messages; html views ignore the bundle.
    bundle = async_to_sync(messages.message_bundle)(spec, "all", "ALL", view.name)
    return iframe_url(
        spec,
        owner=options["owner"],
        viewer=options["viewer"],
        module_id=options["module_id"],
        view=options["view"],
        ttl_seconds=options["ttl"],
        messages=bundle.messages,
        direction=bundle.direction,
    )
