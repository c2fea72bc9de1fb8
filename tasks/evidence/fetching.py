"""Fetch one evidence link within bounds: time, size, redirects, http and https only, public
addresses only (``tasks.evidence.addresses``); and a batch of links, a few at a time.

httpx with redirects followed by hand, so that every hop is checked like the first: its scheme,
every address its host resolves to, and the loop it may close. Each request goes to the address
that was checked (the URL carries the address, the ``Host`` header and TLS's server name carry
the host), so the name is never resolved a second time. No connection is kept between requests:
two hosts behind one address must not share a TLS connection made for the other.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from itertools import islice, zip_longest

import httpx

from tasks.evidence.addresses import (
    AllowList,
    Remembered,
    Resolver,
    addresses_to_connect,
    system_resolver,
)
from tasks.evidence.problems import Problem, Refused


@dataclass(frozen=True)
class Bounds:
    """How far one check may go."""

    seconds: float
    """For the whole check, every redirect included (a server that trickles a byte at a time
    never resets it)."""
    max_bytes: int
    redirects: int = 5
    """Redirects followed: enough for http → https and a page moved once or twice (browsers
    allow 20)."""


@dataclass(frozen=True)
class Fetched:
    """What one check of a link found."""

    url: str
    reachable: bool
    """The last hop answered 2xx."""
    status: int | None
    """The last HTTP status received (None when no server answered)."""
    problem: Problem | None = None
    content: bytes | None = None
    """The page as fetched (after redirects, content-encoding undone), when reachable and within
    ``max_bytes``."""
    media_type: str = ""
    """Its ``Content-Type`` without parameters (``text/html``, ``application/pdf``)."""
    at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None))
    """When the check ended, in UTC as the ledger keeps times."""


REDIRECTS = {301, 302, 303, 307, 308}
DEFAULT_PORTS = {"http": 80, "https": 443}
USER_AGENT = "Hitos evidence check (open-government action plan follow-up)"

logger = logging.getLogger(__name__)


def fetch(
    url: str,
    bounds: Bounds,
    allowed: AllowList,
    resolver: Resolver = system_resolver,
    verify: ssl.SSLContext | None = None,
) -> Fetched:
    """Fetch ``url`` once, following redirects; what came of it (never raises for the link's
    own faults). ``verify``: the certificates https trusts (by default httpx's, certifi's)."""
    deadline = time.monotonic() + bounds.seconds
    try:
        current = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError):
        return Fetched(url, False, None, Problem.INVALID_URL)
    seen = {str(current.copy_with(fragment=None))}
    status = None
    with httpx.Client(
        trust_env=False,  # no proxy: a proxy would resolve the name itself, past the checks
        follow_redirects=False,
        limits=httpx.Limits(max_keepalive_connections=0),
        verify=verify or trusted(),
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
    ) as client:
        for _ in range(bounds.redirects + 1):
            try:
                response = _send(client, current, deadline, allowed, resolver)
            except Refused as refused:
                return Fetched(url, False, status, refused.problem)
            try:
                status, location = response.status_code, response.headers.get("Location")
                if status not in REDIRECTS or not location:
                    return _read(url, response, bounds, deadline)
            finally:
                response.close()
            try:
                current = current.join(location)
            except (httpx.InvalidURL, TypeError):
                return Fetched(url, False, status, Problem.INVALID_URL)
            hop = str(current.copy_with(fragment=None))
            if hop in seen:
                return Fetched(url, False, status, Problem.REDIRECT_LOOP)
            seen.add(hop)
    return Fetched(url, False, status, Problem.TOO_MANY_REDIRECTS)


@cache
def trusted() -> ssl.SSLContext:
    """httpx's TLS context (certifi's authorities), made once: making it loads the authorities,
    56 ms of CPU here, which a client per link paid for every link (a minute per 1,000 links,
    threads or not)."""
    return httpx.create_ssl_context(trust_env=False)


def _send(
    client: httpx.Client,
    url: httpx.URL,
    deadline: float,
    allowed: AllowList,
    resolver: Resolver,
) -> httpx.Response:
    """One request to one hop, at an address checked for it; ``Refused`` with the problem."""
    if url.scheme not in DEFAULT_PORTS:
        raise Refused(Problem.NOT_HTTP)
    host = url.raw_host.decode("ascii")
    if not host:
        raise Refused(Problem.INVALID_URL)
    port = url.port or DEFAULT_PORTS[url.scheme]
    addresses = addresses_to_connect(host, port, allowed, resolver, deadline - time.monotonic())
    for address in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Refused(Problem.TIMEOUT)
        request = client.build_request(
            "GET",
            url.copy_with(host=str(address)),
            headers={"Host": url.netloc.decode("ascii")},
            extensions={"sni_hostname": host},
            timeout=remaining,
        )
        try:
            return client.send(request, stream=True)
        except httpx.ConnectError:
            continue  # the next address the host has (an IPv6 one this machine cannot reach)
        except httpx.TimeoutException:
            raise Refused(Problem.TIMEOUT) from None
        except httpx.HTTPError:
            raise Refused(Problem.CONNECTION_FAILED) from None
    raise Refused(Problem.CONNECTION_FAILED)


def _read(url: str, response: httpx.Response, bounds: Bounds, deadline: float) -> Fetched:
    """The last hop's answer: its body when it is 2xx and within bounds."""
    status = response.status_code
    if not 200 <= status < 300:
        return Fetched(url, False, status, Problem.HTTP_STATUS)
    media_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > bounds.max_bytes:
        return Fetched(url, True, status, Problem.TOO_LARGE, media_type=media_type)
    body = bytearray()
    try:
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > bounds.max_bytes:
                return Fetched(url, True, status, Problem.TOO_LARGE, media_type=media_type)
            if time.monotonic() > deadline:
                return Fetched(url, False, status, Problem.TIMEOUT)
    except httpx.TimeoutException:
        return Fetched(url, False, status, Problem.TIMEOUT)
    except httpx.HTTPError:
        return Fetched(url, False, status, Problem.CONNECTION_FAILED)
    return Fetched(url, True, status, content=bytes(body), media_type=media_type)


def fetch_all(
    urls: list[str],
    bounds: Bounds,
    allowed: AllowList,
    concurrency: int,
    resolver: Resolver = system_resolver,
) -> Iterator[Fetched]:
    """Each link fetched once, ``concurrency`` at a time, yielded as each one ends.

    Links go out host by host in turn (``by_host_in_turn``), each name looked up once
    (``Remembered``). A new fetch starts only when the caller has taken a finished one, so at
    most ``concurrency`` pages (each within ``max_bytes``) are held while the caller stores them.
    A fetch that fails in a way nobody foresaw is logged and counts as a failed connection: one
    link never stops the others.
    """
    resolver = Remembered(resolver)
    waiting = iter(by_host_in_turn(urls))
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="evidence") as pool:
        running = {
            pool.submit(fetch, url, bounds, allowed, resolver): url
            for url in islice(waiting, concurrency)
        }
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for finished in done:
                url = running.pop(finished)
                try:
                    fetched = finished.result()
                except Exception:
                    logger.exception("checking evidence link %r failed", url)
                    fetched = Fetched(url, False, None, Problem.CONNECTION_FAILED)
                yield fetched
                for following in islice(waiting, 1):
                    running[pool.submit(fetch, following, bounds, allowed, resolver)] = following


def by_host_in_turn(urls: list[str]) -> list[str]:
    """Each link once, one per host in turn: the links checked at the same time are on different
    sites, so one slow site or name lookup holds one fetch, not all of them, and no site gets
    every request at once."""
    hosts: dict[str, list[str]] = {}
    for url in dict.fromkeys(urls):
        try:
            host = httpx.URL(url.strip()).host
        except (httpx.InvalidURL, TypeError):
            host = ""
        hosts.setdefault(host, []).append(url)
    return [url for turn in zip_longest(*hosts.values()) for url in turn if url is not None]
