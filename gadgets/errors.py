"""One hierarchy of errors for the gadget server.

Each error has an HTTP status, a stable code and a sentence a person can act
on. Views raise them; the gadget-facing views render them in Shindig's
shapes (an HTML-escaped message for ``/gadgets/ifr``, the makeRequest
envelope for the proxy), and nothing below a view ever builds a response.
"""

from __future__ import annotations


class GadgetError(Exception):
    """Base class: ``status`` for HTTP, ``code`` stable for programs."""

    status = 400
    code = "bad_request"
    default_message = "The request could not be handled."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class InvalidUrl(GadgetError):
    code = "invalid_url"
    default_message = "The URL is not an absolute http or https URL."


class DestinationBlocked(GadgetError):
    status = 403
    code = "destination_blocked"
    default_message = (
        "The destination is not reachable from this server "
        "(private, loopback or otherwise reserved address)."
    )


class UpstreamTimeout(GadgetError):
    status = 504
    code = "upstream_timeout"
    default_message = "The remote server did not answer in time."


class UpstreamError(GadgetError):
    status = 502
    code = "upstream_error"
    default_message = "The remote server could not be reached."


class ResponseTooLarge(GadgetError):
    status = 502
    code = "response_too_large"
    default_message = "The remote server's answer was larger than allowed."


class TooManyRedirects(GadgetError):
    status = 502
    code = "too_many_redirects"
    default_message = "The remote server redirected too many times."


class SpecError(GadgetError):
    """The gadget spec could not be fetched or is not a valid spec."""

    status = 400
    code = "bad_gadget_spec"
    default_message = "The gadget spec is not valid."


class SpecFetchError(SpecError):
    status = 502
    code = "spec_fetch_failed"
    default_message = "The gadget spec could not be fetched."


class UnsupportedFeature(SpecError):
    code = "unsupported_feature"


class ViewNotFound(GadgetError):
    status = 404
    code = "view_not_found"
    default_message = "Unable to locate an appropriate view in this gadget."


class InvalidSecurityToken(GadgetError):
    """One uniform error for tampered, expired and foreign tokens."""

    status = 401
    code = "invalid_security_token"
    default_message = "The security token is missing, invalid or expired."


class WrongHost(GadgetError):
    status = 403
    code = "wrong_host"
    default_message = "This gadget may not be served from this host."


class ReservedParameter(GadgetError):
    code = "reserved_parameter"
    default_message = (
        "Parameters whose names start with oauth, xoauth or opensocial are "
        "reserved for the container."
    )


class InvalidParameter(GadgetError):
    """A makeRequest parameter is missing or malformed (Shindig's name)."""

    code = "invalid_parameter"
    default_message = "A request parameter is missing or malformed."


class RequestTooLarge(GadgetError):
    status = 413
    code = "request_too_large"
    default_message = "The request body is larger than this server accepts."


class MalformedFeed(GadgetError):
    """The upstream answered, but not with an RSS or Atom feed."""

    status = 502
    code = "malformed_feed"
    default_message = "The remote server's answer is not an RSS or Atom feed."


class AuthzNotSupported(GadgetError):
    """No handler is installed for the requested ``authz`` kind."""

    status = 501
    code = "authz_not_supported"
    default_message = "Signed and OAuth requests are not enabled on this server yet."


class RateLimited(GadgetError):
    """Too many makeRequests from one viewer of one gadget in a window."""

    status = 429
    code = "rate_limited"
    default_message = (
        "This gadget made too many requests for this person; try again shortly."
    )
    retry_after_seconds = 1
