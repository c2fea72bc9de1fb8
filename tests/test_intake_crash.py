"""Intake killed in the middle of a batch, then run again: nothing lost, nothing done twice.

The intake runs in a child process (tests/crash_worker.py) that dies by SIGKILL at a chosen
call; the re-run is a second, ordinary process. Mail goes through the embedded SMTP server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from tasks.cycle.requests import open_cycle_record
from tasks.mail.inbox import open_maildir
from tasks.mail.local_server import local_smtp_server
from tasks.mail.outgoing import send_all
from tasks.simulation import first_answers
from tasks.storage.ledger import Email, InboundMessage, Submission, session
from tests.crash_worker import BATCH
from tests.test_mail import requests_for

ROOT = Path(__file__).resolve().parent.parent


def run_intake(settings, *crash: str) -> int:
    """One intake run in its own process; its exit code (-9 when it killed itself)."""
    env = {
        **os.environ,
        "HITOS_HOME": str(settings.home),
        "HITOS_SMTP_PORT": str(settings.smtp_port),
        "HITOS_PLAN": str(settings.plan),
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.crash_worker", *crash], cwd=ROOT, env=env, timeout=300
    )
    return done.returncode


@pytest.fixture
def batch(settings, plan):
    """A cycle whose institutions all answered but one: ten messages waiting in the inbox."""
    inbox, outbox = settings.folder("mail", "inbox"), settings.folder("mail", "outbox")
    with local_smtp_server(inbox, outbox, settings.sender, settings.smtp_port):
        send_all(settings, requests_for(settings, plan))
        cycle = open_cycle_record(settings, plan, "2023-03", date(2023, 3, 1))
        answered = first_answers(settings, plan, cycle.id)
        yield answered


def replies(settings) -> Counter[str]:
    """Replies the institutions received, by Message-ID, with how often each came."""
    with session(settings.database) as db:
        ids = {e.message_id for e in db.query(Email).filter(Email.kind == "reply")}
    outbox = open_maildir(settings.folder("mail", "outbox"))
    return Counter(m["Message-ID"] for m in outbox if m["Message-ID"] in ids)


def ledger(settings) -> tuple[int, dict[int, datetime | None], Counter[str]]:
    with session(settings.database) as db:
        messages = db.query(InboundMessage).count()
        processed = {s.id: s.processed_at for s in db.query(Submission) if s.outcome != "received"}
        emails = Counter(e.status for e in db.query(Email).filter(Email.kind == "reply"))
    return messages, processed, emails


def assert_all_done_once(settings, answered, processed_before_rerun):
    messages, processed, emails = ledger(settings)
    assert messages == len(answered)
    with session(settings.database) as db:
        subs = db.query(Submission).all()
        assert sorted(str(s.institution) for s in subs) == sorted(answered)
        assert all(s.version == 1 for s in subs)
    assert len(processed) == len(answered)
    for sub_id, when in processed_before_rerun.items():
        assert processed[sub_id] == when, "a submission was processed again"
    assert emails == {"sent": len(answered)}
    received = replies(settings)
    assert len(received) == len(answered)
    assert set(received.values()) == {1}, "a reply was sent twice"
    assert not [
        m for m in open_maildir(settings.folder("mail", "inbox")) if "S" not in m.get_flags()
    ]


@pytest.mark.parametrize(
    ("point", "calls"),
    [("stored", 2), ("recorded", 2)],
    ids=["after-storing-6-of-10-messages", "after-recording-6-of-10-outcomes"],
)
def test_killed_while_storing_or_validating_the_rerun_finishes_the_batch_once(
    settings, batch, point, calls
):
    assert run_intake(settings, point, str(calls)) == -signal.SIGKILL
    messages, before, emails = ledger(settings)
    finished = calls * BATCH
    assert (messages, len(before), sum(emails.values())) == (
        (finished, 0, 0) if point == "stored" else (len(batch), finished, 0)
    )

    assert run_intake(settings) == 0

    assert_all_done_once(settings, batch, before)


def test_killed_while_replying_the_rerun_sends_only_the_missing_replies(settings, batch):
    assert run_intake(settings, "delivering", "4") == -signal.SIGKILL
    _, processed, emails = ledger(settings)
    assert len(processed) == len(batch)
    assert emails == {"sent": 3, "sending": 1}

    assert run_intake(settings) == 0
    assert ledger(settings)[2] == {"sent": len(batch) - 1, "sending": 1}

    # Fifteen minutes later the claim left by the killed run is stale and is sent.
    with session(settings.database) as db:
        for email in db.query(Email).filter(Email.status == "sending"):
            email.claimed_at -= timedelta(minutes=16)
    assert run_intake(settings) == 0

    assert_all_done_once(settings, batch, processed)
