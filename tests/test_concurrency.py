"""Every step run twice at the same moment on one PostgreSQL ledger: done once, no error.

Each test starts the real functions of a step in two threads behind a barrier (separate
sessions, separate connections: what two workers do), then counts rows and emails.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select

from flows.open_cycle import build_requests
from tasks.cycle.requests import open_cycle_record
from tasks.intake.process import claim_received, process
from tasks.intake.store import store, store_all
from tasks.mail.inbox import open_maildir, sources
from tasks.mail.local_server import local_smtp_server
from tasks.mail.outgoing import send_all
from tasks.publication.notices import report_email
from tasks.publication.publishing import consolidate
from tasks.settings import Settings
from tasks.simulation import first_answers
from tasks.storage import claims
from tasks.storage.ledger import (
    Cycle,
    Email,
    FindingRow,
    InboundMessage,
    MilestoneValue,
    Report,
    Request,
    Submission,
    session,
)
from tests.test_ledger_backends import postgres_url  # noqa: F401  (fixture)

T = TypeVar("T")
CYCLE = "2023-03"


def at_once(fn: Callable[[], T], runs: int = 2) -> list[T]:
    """``fn`` in ``runs`` threads released together; their results (an error fails the test)."""
    start = threading.Barrier(runs)
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        start.wait()
        try:
            results.append(fn())
        except BaseException as error:  # handed to the test below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def count(settings: Settings, model: Any) -> int:
    with session(settings.database) as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def pg(settings, postgres_url) -> Settings:
    return settings.model_copy(update={"database_url": postgres_url})


@pytest.fixture
def mail_servers(pg) -> Iterator[Settings]:
    """The embedded SMTP server writing the directorate's inbox and the institutions' outbox."""
    inbox, outbox = pg.folder("mail", "inbox"), pg.folder("mail", "outbox")
    with local_smtp_server(inbox, outbox, pg.sender, pg.smtp_port):
        yield pg


def outbox(settings: Settings) -> Counter[str]:
    """Emails the institutions and the director received, by Message-ID."""
    return Counter(m["Message-ID"] for m in open_maildir(settings.folder("mail", "outbox")))


@pytest.fixture
def answered(mail_servers, plan) -> Settings:
    """An open cycle whose institutions all answered but one: messages waiting in the inbox."""
    settings = mail_servers
    cycle = open_cycle_record(settings, plan, CYCLE, date(2023, 3, 1))
    send_all(settings, build_requests(settings, plan, cycle, plan.reporting_institutions()))
    first_answers(settings, plan, CYCLE)
    return settings


def test_two_open_cycles_at_once_make_one_cycle_one_request_and_one_email_each(mail_servers, plan):
    settings = mail_servers

    def open_cycle() -> dict[str, str]:
        cycle = open_cycle_record(settings, plan, CYCLE, date(2023, 3, 1))
        return send_all(
            settings, build_requests(settings, plan, cycle, plan.reporting_institutions())
        )

    first, second = at_once(open_cycle)

    institutions = len(plan.reporting_institutions())
    assert count(settings, Cycle) == 1
    assert count(settings, Request) == institutions
    for key in first:
        assert sorted([first[key], second[key]]) == ["sent", "skipped"]
    assert count(settings, Email) == institutions
    assert set(outbox(settings).values()) == {1}
    assert len(outbox(settings)) == institutions


def test_two_intakes_storing_one_inbox_at_once_store_each_message_and_file_once(answered):
    settings = answered
    messages = [m for batch in sources(settings, 100) for m in batch]

    first, second = at_once(lambda: store(settings, messages))

    assert sorted(first + second) == sorted(set(first + second))  # no file given to both
    assert count(settings, InboundMessage) == len(messages)
    assert count(settings, Submission) == len(messages)


def test_two_validators_at_once_never_take_the_same_file(answered, plan):
    settings = answered
    stored = store_all(settings)
    alone = count(settings, Submission)

    first, second = at_once(lambda: process(settings, plan))

    taken = [o.submission_id for o in first + second]
    assert sorted(taken) == sorted(stored)  # every file validated, none twice
    with session(settings.database) as db:
        assert db.scalar(select(func.count()).where(Submission.outcome == "received")) == 0
        findings = db.execute(
            select(FindingRow.submission_id, FindingRow.milestone, FindingRow.rule)
        ).all()
        values = db.execute(select(MilestoneValue.submission_id, MilestoneValue.milestone)).all()
    assert findings and values
    assert len(findings) == len(set(findings))
    assert len(values) == len(set(values))
    assert count(settings, Submission) == alone


def _claim_and_die(settings: Settings, ready: Any) -> None:
    """A validator that takes every received file and is killed before recording any."""
    with claims.hold(settings.database) as claim:
        claim_received(settings, claim, None)
        ready.set()
        os.kill(os.getpid(), signal.SIGKILL)


def test_files_claimed_by_a_killed_validator_are_taken_by_the_next_run_at_once(answered, plan):
    settings = answered
    stored = store_all(settings)
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    dying = context.Process(target=_claim_and_die, args=(settings, ready))
    dying.start()
    dying.join(60)
    assert ready.is_set() and dying.exitcode == -signal.SIGKILL
    with session(settings.database) as db:
        assert "" not in set(db.scalars(select(Submission.claim)))  # all were taken

    outcomes = process(settings, plan)

    assert sorted(o.submission_id for o in outcomes) == sorted(stored)


def test_files_held_by_a_stuck_validator_are_taken_after_the_claim_timeout(answered, plan):
    settings = answered
    stored = store_all(settings)
    patient = settings.model_copy(update={"claim_timeout_minutes": 60})
    impatient = settings.model_copy(update={"claim_timeout_minutes": 0})
    with claims.hold(settings.database) as stuck:  # alive, but never records
        assert claim_received(settings, stuck, None) == sorted(stored)

        assert process(patient, plan) == []
        outcomes = process(impatient, plan)

    assert sorted(o.submission_id for o in outcomes) == sorted(stored)


def test_two_consolidations_at_once_make_one_version_and_one_director_email(answered, plan):
    settings = answered
    store_all(settings)
    process(settings, plan)

    def consolidate_and_tell() -> dict[str, str]:
        publication = consolidate(settings, plan, CYCLE)
        return send_all(settings, [report_email(settings, plan, publication)])

    first, second = at_once(consolidate_and_tell)

    assert sorted([*first.values(), *second.values()]) == ["sent", "skipped"]
    with session(settings.database) as db:
        assert db.scalars(select(Report.version)).all() == [1]
        director = db.scalars(select(Email).where(Email.kind == "report")).all()
    assert [e.key for e in director] == [f"gt-pan5/{CYCLE}/-/report/1"]
    assert outbox(settings)[director[0].message_id] == 1
