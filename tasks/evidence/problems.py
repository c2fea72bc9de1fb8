"""Why an evidence link was not reachable, or reachable without an archived copy."""

from __future__ import annotations

from enum import StrEnum


class Problem(StrEnum):
    """Stable codes, the ledger's and the CLI's, each with its words for people under
    ``evidence.problems`` in the catalogues."""

    INVALID_URL = "invalid-url"
    NOT_HTTP = "not-http"
    """Not http:// or https:// (a redirect to ``ftp:`` or ``file:`` too)."""
    NO_SUCH_HOST = "no-such-host"
    PRIVATE_ADDRESS = "private-address"
    """The host resolves to a private, loopback or link-local address and is not allowed."""
    CONNECTION_FAILED = "connection-failed"
    TIMEOUT = "timeout"
    HTTP_STATUS = "http-status"
    """The server answered, with a status other than 2xx."""
    REDIRECT_LOOP = "redirect-loop"
    TOO_MANY_REDIRECTS = "too-many-redirects"
    TOO_LARGE = "too-large"
    """Reachable, but larger than the bound: no archived copy."""


class Refused(Exception):
    """A link that may not be fetched any further, and why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.value)
        self.problem = problem
