"""The ledger on both supported databases: SQLite in the workspace and a real PostgreSQL.

PostgreSQL is the server this machine runs on 127.0.0.1:5432; each test gets a database of its
own. In CI (``CI=true``) a missing server fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from tasks.mail.outgoing import send_all
from tasks.settings import Settings
from tasks.storage.ledger import Email, Submission, engine, session
from tests.test_cycle import run_cycle
from tests.test_mail import requests_for

SERVER = os.environ.get("HITOS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    name = f"hitos_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(SERVER, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {SERVER}: {exc}")
        pytest.skip(f"PostgreSQL is not reachable at {SERVER}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        url = SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        yield f"{url}/{name}"
        engine(f"{url}/{name}").dispose()
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request, settings) -> Settings:
    """The test's settings on one ledger backend."""
    if request.param == "sqlite":
        return settings
    url = request.getfixturevalue("postgres_url")
    return settings.model_copy(update={"database_url": url})


def test_two_runs_at_the_same_time_send_each_request_once(ledger, plan, smtp):
    mails = requests_for(ledger, plan)
    start = threading.Barrier(2)
    results: list[dict[str, str]] = []

    def run() -> None:
        start.wait()
        results.append(send_all(ledger, mails))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    for mail in mails:
        assert sorted(r[mail.key] for r in results) == ["sent", "skipped"]
    assert len(smtp.messages) == len(mails)
    with session(ledger.database) as db:
        assert {e.status for e in db.query(Email)} == {"sent"}


def test_whole_cycle_runs_on_postgresql(settings, postgres_url, plan):
    on_postgres = settings.model_copy(update={"database_url": postgres_url})

    *_, publication = run_cycle(on_postgres, plan)

    with session(postgres_url) as db:
        outcomes = {(s.institution, s.outcome) for s in db.query(Submission)}
    assert ("MINEDUC", "rejected") in outcomes
    assert len(publication.report.submissions) == len(plan.reporting_institutions()) - 1
