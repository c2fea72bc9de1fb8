"""Sign-in that strangers cannot turn against the director (#22): growing delays per account and
client, a looser limit per account that one address cannot reach, one per client across accounts;
an operator clears a throttle; every sign-in, failure, refusal and sign-out in the audit log.

Time is passed in (``now``), so a simulated hour of an attacker trying as fast as allowed takes
no hour and no test depends on the machine's speed.
"""

from __future__ import annotations

import contextlib
import threading
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from console.app import create_app
from console.site import SESSION_COOKIE
from hitos_cli import app as cli
from tasks.people.accounts import (
    FIRST_DELAY,
    MAX_DELAY,
    PER_ACCOUNT,
    PER_CLIENT,
    PER_PAIR,
    Throttled,
    add_user,
    sign_in,
    wait_before,
)
from tasks.settings import Settings
from tasks.storage.ledger import SignInEvent, session, utcnow
from tests.test_console import csrf_of

PASSWORD = "una clave larga de prueba"
DIRECTOR, REVIEWER = "directora@gae.example", "revisora@gae.example"
OFFICE = "198.51.100.7"
START = datetime(2024, 5, 6, 9, 0)


def fail(settings: Settings, email: str, client: str, at: datetime) -> None:
    """One wrong password the throttle let through at ``at``, as ``sign_in`` logs it (checking
    a password costs argon2's second on this machine: the simulated attacks log the failure
    itself, which is all the counters read)."""
    assert wait_before(settings, email, client, at) == timedelta(0), (email, client, at)
    with session(settings.database) as db:
        db.add(SignInEvent(at=at, email=email, client=client, outcome="wrong"))


def checked_failure(settings: Settings, email: str, client: str, at: datetime) -> None:
    """One wrong password through ``sign_in`` itself: checked, not refused."""
    with pytest.raises(PermissionError) as raised:
        sign_in(settings, email, "adivinanza", client, now=at)
    assert not isinstance(raised.value, Throttled)


def attack(settings: Settings, email: str, client: str, start: datetime, length: timedelta) -> int:
    """Wrong passwords from one address, each as soon as the throttle allows, for ``length``;
    how many were checked."""
    at, checked = start, 0
    while True:
        at += wait_before(settings, email, client, at)
        if at >= start + length:
            return checked
        fail(settings, email, client, at)
        at, checked = at + timedelta(milliseconds=1), checked + 1


def failed_just_now(settings: Settings, email: str, client: str, count: int = 10) -> None:
    """``count`` failures logged a second ago (as if checked one after the other): the wait
    after them is minutes long, whatever the machine's speed."""
    with session(settings.database) as db:
        at = utcnow() - timedelta(seconds=1)
        db.add_all(
            SignInEvent(at=at, email=email, client=client, outcome="wrong") for _ in range(count)
        )


def outcomes(settings: Settings) -> list[tuple[str, str, str]]:
    with session(settings.database) as db:
        rows = db.scalars(select(SignInEvent).order_by(SignInEvent.id))
        return [(e.email, e.client, e.outcome) for e in rows]


@pytest.fixture
def director(settings: Settings) -> Settings:
    add_user(settings, DIRECTOR, "director", PASSWORD)
    return settings


def test_a_few_mistyped_passwords_cost_nothing_then_each_failure_doubles_the_wait(director):
    at = START
    for _ in range(PER_PAIR.free):
        assert wait_before(director, DIRECTOR, OFFICE, at) == timedelta(0)
        fail(director, DIRECTOR, OFFICE, at)
    waits = []
    for _ in range(12):
        wait = wait_before(director, DIRECTOR, OFFICE, at)
        waits.append(wait)
        at += wait
        fail(director, DIRECTOR, OFFICE, at)

    assert waits[:4] == [FIRST_DELAY, 2 * FIRST_DELAY, 4 * FIRST_DELAY, 8 * FIRST_DELAY]
    assert waits[-1] == MAX_DELAY
    assert wait_before(director, DIRECTOR, "203.0.113.9", at) == timedelta(0)  # only here


def test_the_right_password_is_refused_unchecked_while_the_client_must_wait(director):
    for n in range(PER_PAIR.free + 1):
        checked_failure(director, DIRECTOR, OFFICE, START + n * FIRST_DELAY)

    with pytest.raises(Throttled) as refused:
        sign_in(director, DIRECTOR, PASSWORD, OFFICE, now=START + PER_PAIR.free * FIRST_DELAY)

    assert refused.value.wait > timedelta(0)
    assert outcomes(director)[-1] == (DIRECTOR, OFFICE, "throttled")
    later = START + timedelta(hours=1)
    account, _ = sign_in(director, DIRECTOR, PASSWORD, OFFICE, now=later)  # the wait is over
    assert account.email == DIRECTOR
    assert wait_before(director, DIRECTOR, OFFICE, later) == timedelta(0)  # and forgiven


def test_one_address_alone_cannot_reach_the_accounts_own_limit(director):
    checked = attack(director, DIRECTOR, "203.0.113.9", START, PER_ACCOUNT.window)

    assert PER_PAIR.free < checked < PER_ACCOUNT.free
    end = START + PER_ACCOUNT.window
    assert wait_before(director, DIRECTOR, "192.0.2.44", end) == timedelta(0)  # nobody else waits


def test_strangers_from_many_addresses_never_keep_the_director_out_of_her_office(director):
    sign_in(director, DIRECTOR, PASSWORD, OFFICE, now=START - timedelta(days=2))
    at = START
    for n in range(PER_ACCOUNT.free):  # a botnet: each address stays within its free tries
        at += timedelta(seconds=1)
        fail(director, DIRECTOR, f"203.0.113.{n // PER_PAIR.free}", at)

    assert wait_before(director, DIRECTOR, "192.0.2.44", at) > timedelta(0)  # a new address waits
    account, _ = sign_in(director, DIRECTOR, PASSWORD, OFFICE, now=at)  # she does not
    assert account.email == DIRECTOR


def test_one_address_trying_many_accounts_is_slowed(director):
    at = START
    for n in range(PER_CLIENT.free):
        at += timedelta(seconds=1)
        fail(director, f"persona{n}@gae.example", "203.0.113.9", at)

    assert wait_before(director, "otra@gae.example", "203.0.113.9", at) > timedelta(0)
    assert wait_before(director, "otra@gae.example", OFFICE, at) == timedelta(0)


def test_attempts_racing_each_other_count_each_other(director):
    """Twelve wrong passwords at once from one address: no more are checked than are free."""
    barrier = threading.Barrier(12)
    at = utcnow()

    def guess() -> None:
        barrier.wait()
        with contextlib.suppress(PermissionError):
            sign_in(director, DIRECTOR, "adivinanza", OFFICE, now=at)

    threads = [threading.Thread(target=guess) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    decided = [outcome for *_, outcome in outcomes(director)]
    assert len(decided) == 12 and decided.count("wrong") <= PER_PAIR.free
    assert decided.count("wrong") + decided.count("throttled") == 12


def test_an_operator_clears_an_accounts_throttle_from_the_command_line(director, monkeypatch):
    failed_just_now(director, DIRECTOR, OFFICE)
    assert wait_before(director, DIRECTOR, OFFICE) > timedelta(0)
    monkeypatch.setenv("HITOS_HOME", str(director.home))

    result = CliRunner().invoke(cli, ["users", "unlock", DIRECTOR, "--by", "operadora"])

    assert result.exit_code == 0, result.stdout
    assert f"{DIRECTOR}: sign-in throttle cleared" in result.stdout
    assert wait_before(director, DIRECTOR, OFFICE) == timedelta(0)
    assert outcomes(director)[-1] == (DIRECTOR, "", "unlocked")
    account, _ = sign_in(director, DIRECTOR, PASSWORD, OFFICE)
    assert account.email == DIRECTOR


def test_every_sign_in_failure_refusal_and_sign_out_is_in_the_log_the_director_reads(
    director, plan
):
    add_user(director, REVIEWER, "reviewer", PASSWORD)
    browser = TestClient(create_app(director, plan), base_url="https://testserver")
    token = csrf_of(browser.get("/login").text)

    def post(email: str, password: str) -> int:
        form = {"email": email, "password": password, "csrf": token}
        return browser.post("/login", data=form, follow_redirects=False).status_code

    assert post(REVIEWER, "otra") == 401
    failed_just_now(director, REVIEWER, "testclient")
    refused = browser.post("/login", data={"email": REVIEWER, "password": PASSWORD, "csrf": token})
    assert refused.status_code == 429 and SESSION_COOKIE not in browser.cookies
    assert "Demasiados intentos fallidos. Vuelva a intentarlo dentro de" in refused.text
    assert post(DIRECTOR, PASSWORD) == 303
    browser.post("/salir", data={"csrf": csrf_of(browser.get("/").text)})
    token = csrf_of(browser.get("/login").text)
    assert post(DIRECTOR, PASSWORD) == 303

    log = browser.get("/ingresos").text

    assert [o for o in outcomes(director) if o[0] == DIRECTOR] == [
        (DIRECTOR, "testclient", "signed-in"),
        (DIRECTOR, "testclient", "signed-out"),
        (DIRECTOR, "testclient", "signed-in"),
    ]
    for words in ("Registro de ingresos", REVIEWER, "testclient", "Correo o contraseña", "Salió"):
        assert words in log
    assert "Rechazado: debía esperar" in log and "Horas en hora de Guatemala." in log
    reviewer = TestClient(create_app(director, plan), base_url="https://testserver")
    reviewer.cookies.set(SESSION_COOKIE, sign_in(director, REVIEWER, PASSWORD, "x")[1])
    assert reviewer.get("/ingresos").status_code == 403
