"""OAuth errors in Shindig's vocabulary, with sentences people can act on.

``OAuthError.oauth_code`` is what gadgets see in ``oauthError`` (Shindig's
codes, or the provider's own ``oauth_problem``); the message becomes
``oauthErrorText``: which service, which step, what the provider said and
what to do. Neither ever carries a token, a secret or a request dump.
"""

from __future__ import annotations

from gadgets.errors import GadgetError

BAD_OAUTH_CONFIGURATION = "BAD_OAUTH_CONFIGURATION"
BAD_OAUTH_TOKEN_URL = "BAD_OAUTH_TOKEN_URL"  # noqa: S105 - an error code
MISSING_OAUTH_PARAMETER = "MISSING_OAUTH_PARAMETER"
MISSING_SERVER_RESPONSE = "MISSING_SERVER_RESPONSE"
UNSUPPORTED_HTTP_METHOD = "UNSUPPORTED_HTTP_METHOD"
UNKNOWN_PROBLEM = "UNKNOWN_PROBLEM"
UNAUTHENTICATED = "UNAUTHENTICATED"
NOT_OWNER = "NOT_OWNER"
INVALID_URL = "INVALID_URL"
INVALID_PARAMETER = "INVALID_PARAMETER"
INVALID_REQUEST = "INVALID_REQUEST"
UNKNOWN_PARAMETER_LOCATION = "UNKNOWN_PARAMETER_LOCATION"


class OAuthError(GadgetError):
    """An OAuth failure reported inside the makeRequest envelope (rc 403)."""

    status = 403
    code = "oauth_error"
    default_message = "The OAuth request could not be completed."

    def __init__(self, oauth_code: str, message: str) -> None:
        super().__init__(message)
        self.oauth_code = oauth_code
