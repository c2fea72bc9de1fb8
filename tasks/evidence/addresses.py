"""Where an evidence link may lead: public internet addresses only, unless the operator allows a
host.

A liaison types the link, so fetching it must not become a way into the directorate's own
network (a link to ``http://169.254.169.254/`` or to an intranet server answers from inside).
Every address a name resolves to is checked, and the fetch then connects to one of the
addresses checked, never resolving the name again: a name that answers a public address to the
check and a private one to the connection (DNS rebinding) gets nowhere.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

from tasks.evidence.problems import Problem, Refused
from tasks.settings import hosts_and_ports

IPAddress = IPv4Address | IPv6Address

Resolver = Callable[[str, int], list[IPAddress]]
"""A host name and port → the addresses to connect to, in order (raises ``OSError`` when the
name does not resolve). The system's resolver by default; tests pass one they can point at
loopback."""

NAT64 = ip_network("64:ff9b::/96")
"""IPv6 addresses that carry an IPv4 address in their last 32 bits (RFC 6052): Python counts
them global whatever they carry."""


def public(address: IPAddress) -> bool:
    """Whether an address is on the public internet: not private, loopback, link-local, shared
    (100.64/10), documentation, multicast or reserved, nor an IPv6 address that carries one of
    those (IPv4-mapped, 6to4, NAT64)."""
    if isinstance(address, IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is None and address in NAT64:
            inner = IPv4Address(int(address) & 0xFFFF_FFFF)
        if inner is not None and not public(inner):
            return False
        if address.ipv4_mapped is not None:
            return True
    return address.is_global and not address.is_multicast


SPECIAL_USE = ("example", "invalid", "test", "local", "internal")
"""Names that never resolve on the public Internet (RFC 2606, RFC 6761, RFC 6762, and
ICANN's ``.internal``): not asked of the system's resolver, which here took seconds to give up
on each of the demo's ``.example`` links."""


def never_public(host: str) -> bool:
    """A special-use name (``mineduc.example``): no public address, whatever a resolver says."""
    return host.lower().rstrip(".").rsplit(".", 1)[-1] in SPECIAL_USE


def system_resolver(host: str, port: int) -> list[IPAddress]:
    """The addresses the machine's resolver gives for ``host``, each once, in its order (none
    for a special-use name, which is not asked)."""
    if never_public(host):
        return []
    found: list[IPAddress] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = ip_address(str(sockaddr[0]).split("%")[0])  # an IPv6 scope (fe80::1%eth0)
        if address not in found:
            found.append(address)
    return found


class Remembered:
    """A resolver that asks for each name once while a batch of links is checked: one
    ministry's twenty links cost one lookup, and a name that does not resolve fails the others
    at once. Links checked at the same time wait for the one lookup under way. Answers last as
    long as the batch (the object), never from one run to the next; a link still connects to
    the addresses checked for it.
    """

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.answers: dict[tuple[str, int], Future[list[IPAddress]]] = {}
        self.lock = threading.Lock()

    def __call__(self, host: str, port: int) -> list[IPAddress]:
        with self.lock:
            answer = self.answers.get((host, port))
            asking = answer is None
            if answer is None:
                answer = self.answers[host, port] = Future()
        if asking:
            try:
                answer.set_result(self.resolver(host, port))
            except Exception as exc:  # the links waiting for it fail with it, never hang
                answer.set_exception(exc)
        return list(answer.result())


@dataclass(frozen=True)
class AllowList:
    """Hosts (``host:port``) whose links may lead to any address: ``HITOS_EVIDENCE_ALLOW_HOSTS``,
    for an intranet the directorate trusts, and for the tests' server on loopback."""

    hosts: frozenset[tuple[str, int]] = frozenset()

    @classmethod
    def parse(cls, setting: str) -> AllowList:
        """The setting's hosts (``tasks.settings.hosts_and_ports``, which checks it)."""
        return cls(frozenset(hosts_and_ports(setting)))

    def allows(self, host: str, port: int) -> bool:
        return (host.lower(), port) in self.hosts


def addresses_to_connect(
    host: str, port: int, allowed: AllowList, resolver: Resolver, seconds: float
) -> list[IPAddress]:
    """The addresses a link to ``host:port`` may connect to, all checked, the name resolved
    within ``seconds``; ``Refused`` when there are none.

    Every address the name resolves to must be public: one private answer among public ones
    refuses the name, since a connection could land on it. An allowed host skips the check.
    """
    try:
        addresses = [ip_address(host)]
    except ValueError:
        addresses = resolved_within(seconds, resolver, host, port)
    if not addresses:
        raise Refused(Problem.NO_SUCH_HOST)
    if not allowed.allows(host, port) and not all(public(a) for a in addresses):
        raise Refused(Problem.PRIVATE_ADDRESS)
    return addresses


def resolved_within(seconds: float, resolver: Resolver, host: str, port: int) -> list[IPAddress]:
    """``resolver``'s answer, or ``Refused`` (``timeout``) once ``seconds`` pass.

    A lookup that fails is ``no-such-host``. The system's resolver has no timeout of its own to
    pass: with a DNS server that does not answer, glibc waits 5 s per attempt and server
    (``resolv.conf``), longer than a whole check may take. The lookup runs in a thread of its
    own, left to end by itself when the check gives up on it.
    """
    answer: list[list[IPAddress]] = []
    failed: list[BaseException] = []

    def lookup() -> None:
        try:
            answer.append(resolver(host, port))
        except Exception as exc:  # OSError, UnicodeError (a label over 63 characters)…
            failed.append(exc)

    thread = threading.Thread(target=lookup, name=f"resolve-{host}", daemon=True)
    thread.start()
    thread.join(max(seconds, 0))
    if answer:
        return answer[0]
    if failed:
        raise Refused(Problem.NO_SUCH_HOST)
    raise Refused(Problem.TIMEOUT)
