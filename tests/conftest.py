"""Shared fixtures: a workspace per test, the sample plan, real SMTP and IMAP servers."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from tasks.mail.local_server import local_smtp_server
from tasks.plans.plan import Plan, load_plan
from tasks.settings import Settings
from tests.dovecot import Dovecot, in_ci, running_dovecot
from tests.dovecot import unavailable as dovecot_unavailable
from tests.network import free_port

SAMPLE_PLAN = Path(__file__).resolve().parent.parent / "plans" / "gt-pan5.yaml"

# Property tests (tests/test_fuzz.py): a fixed, repeatable budget in `make test`; a longer
# search locally with HITOS_HYPOTHESIS=long. No deadline: the machine is shared and slow.
hypothesis_settings.register_profile(
    "ci",
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
hypothesis_settings.register_profile(
    "long", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile(os.environ.get("HITOS_HYPOTHESIS", "ci"))


@dataclass
class RecordingHandler:
    """A real SMTP peer that keeps what it receives and can refuse like real servers do."""

    messages: list[tuple[list[str], Message]] = field(default_factory=list)
    temporary_failures: int = 0
    refused: set[str] = field(default_factory=set)
    peers: set[object] = field(default_factory=set)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.lower() in self.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.temporary_failures > 0:
            self.temporary_failures -= 1
            return "451 4.3.0 Try again later"
        self.peers.add(session.peer)
        self.messages.append(
            (
                list(envelope.rcpt_tos),
                message_from_bytes(envelope.original_content or b"", policy=policy.default),
            )
        )
        return "250 Message accepted"

    def to(self, address: str) -> list[Message]:
        return [m for rcpts, m in self.messages if address in rcpts]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules made only of slow tests first, then modules with some, then the rest.

    pytest-xdist hands each worker whole modules (``--dist loadscope``) in this order: the two
    real-server and bench modules, minutes each, start at once on different workers instead of
    last on one while the others idle (10.5 min → under 9 on two cores).
    """
    slow: Counter[str] = Counter()
    every: Counter[str] = Counter()
    for item in items:
        module = item.nodeid.split("::")[0]
        every[module] += 1
        slow[module] += item.get_closest_marker("slow") is not None

    def heaviness(item: pytest.Item) -> int:
        module = item.nodeid.split("::")[0]
        return 0 if slow[module] == every[module] else 1 if slow[module] else 2

    items.sort(key=heaviness)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "ws", smtp_port=free_port(), plan=SAMPLE_PLAN)


@pytest.fixture(scope="session")
def plan() -> Plan:
    return load_plan(SAMPLE_PLAN)


@pytest.fixture
def smtp(settings: Settings) -> Iterator[RecordingHandler]:
    handler = RecordingHandler()
    with local_smtp_server(Path(), Path(), settings.sender, settings.smtp_port, handler=handler):
        yield handler


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    """A real Dovecot IMAP server on loopback, fresh per test; CI must have it, not skip it."""
    reason = dovecot_unavailable()
    if reason:
        if in_ci():
            pytest.fail(f"{reason}: CI runs the IMAP tests on a real server (.ci/run installs it)")
        pytest.skip(reason)
    with running_dovecot() as server:
        yield server


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """Prefect's test server, started once per run (it takes seconds): flows run as deployed."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield
