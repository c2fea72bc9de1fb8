"""Console accounts: directors and reviewers, argon2-hashed passwords, sessions, sign-in throttle.

A session cookie holds a random token; the ledger keeps only its sha256, so a copy of the
ledger signs nobody in.

Guessing is slowed, never turned into a lockout a stranger can trigger (OWASP's Authentication
Cheat Sheet, "Login Throttling"). Every sign-in is a row of ``sign_in_events`` (the audit log:
who, when, from where, what came of it), and three counters are read from it, each allowing a
few failures free and then doubling a delay from one second up to ``MAX_DELAY``:

- per account and client (``PER_PAIR``): a person mistyping, or one address guessing one
  account; reset by a successful sign-in from that client;
- per account, from the clients it has never signed in from (``PER_ACCOUNT``): several addresses
  guessing together. One address alone cannot reach it (it meets ``PER_PAIR``'s delays first:
  about 16 failures an hour), and a client the account signed in from in the last
  ``KNOWN_CLIENT`` is never held by it: strangers cannot keep the director out of her office;
- per client, across accounts (``PER_CLIENT``): one address trying many accounts.

A refused attempt is answered without checking the password and does not count. An operator
clears an account's counters with ``unlock`` (``hitos users unlock EMAIL``).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, and_, delete, func, select, update
from sqlalchemy.orm import Session

from tasks.core.refusals import UserMistake
from tasks.settings import Settings
from tasks.storage.ledger import ConsoleSession, ConsoleUser, SignInEvent, session, utcnow

ROLES = ("director", "reviewer")
SESSION_LIFETIME = timedelta(hours=12)
MIN_PASSWORD = 10
HASHER = PasswordHasher()


@dataclass(frozen=True)
class Limit:
    """Failures allowed free within ``window``; each one more doubles the wait after the last."""

    free: int
    window: timedelta


PER_PAIR = Limit(free=3, window=timedelta(days=1))
PER_ACCOUNT = Limit(free=50, window=timedelta(hours=1))
PER_CLIENT = Limit(free=20, window=timedelta(hours=1))
FIRST_DELAY = timedelta(seconds=1)
MAX_DELAY = timedelta(minutes=15)
KNOWN_CLIENT = timedelta(days=30)
FAILED = ("wrong", "attempt")
"""What the counters count: wrong passwords, and checks a crash left unfinished."""


class AccountRefused(UserMistake):
    """An account that cannot be made; one sentence for operators (exit 2)."""


class Throttled(PermissionError):
    """Too many recent failures: this client must wait before trying this account again."""

    def __init__(self, wait: timedelta) -> None:
        super().__init__(f"too many failed sign-ins: wait {wait}")
        self.wait = wait


@dataclass(frozen=True)
class Account:
    """Who is signed in, as every route checks it."""

    email: str
    role: str
    csrf: str = ""

    @property
    def is_director(self) -> bool:
        return self.role == "director"


def add_user(settings: Settings, email: str, role: str, password: str) -> Account:
    """Create an account, or set a new role and password for an existing one."""
    email = _address(email)
    if role not in ROLES:
        raise AccountRefused(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if "@" not in email:
        raise AccountRefused(f"{email!r} is not an email address")
    if len(password) < MIN_PASSWORD:
        raise AccountRefused(f"the password needs at least {MIN_PASSWORD} characters")
    hashed = HASHER.hash(password)
    with session(settings.database) as db:
        user = db.get(ConsoleUser, email)
        if user is None:
            db.add(ConsoleUser(email=email, role=role, password_hash=hashed))
        else:
            user.role, user.password_hash = role, hashed
            db.execute(delete(ConsoleSession).where(ConsoleSession.email == email))
    return Account(email, role)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _address(email: str) -> str:
    return email.strip().lower()[:250]


def sign_in(
    settings: Settings, email: str, password: str, client: str, now: datetime | None = None
) -> tuple[Account, str]:
    """Check the password and open a session: (the account, the cookie's token).

    Raises ``Throttled`` (the password unchecked) while this client must wait, and
    ``PermissionError`` on a wrong address or password (the same for both, and as slow: the
    answer does not say which accounts exist). Every outcome is logged. ``now``: for tests.
    """
    email, client, now = _address(email), client[:64], now or utcnow()
    # Logged before the check, so that attempts racing each other count each other.
    with session(settings.database) as db:
        attempt = SignInEvent(at=now, email=email, client=client, outcome="attempt")
        db.add(attempt)
    with session(settings.database) as db:
        wait = _wait(db, email, client, now, before=attempt.id)
        if wait:
            _decide(db, attempt.id, "throttled")
        else:
            user = db.get(ConsoleUser, email)
            ok = _verified(user.password_hash if user else _unknown_hash(), password) and bool(user)
            _decide(db, attempt.id, "signed-in" if ok else "wrong")
            if ok and user is not None:
                token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
                db.add(
                    ConsoleSession(
                        token_hash=_token_hash(token),
                        email=email,
                        csrf=csrf,
                        expires_at=now + SESSION_LIFETIME,
                    )
                )
                return Account(email, user.role, csrf), token
    if wait:
        raise Throttled(wait)
    raise PermissionError("wrong email or password")


def wait_before(
    settings: Settings, email: str, client: str, now: datetime | None = None
) -> timedelta:
    """How long this client must wait before trying this account (zero: it may try now)."""
    with session(settings.database) as db:
        return _wait(db, _address(email), client[:64], now or utcnow())


def unlock(settings: Settings, email: str, by: str) -> int:
    """Clear an account's throttle (every client's counter for it); the failures forgiven.

    Logged as ``unlocked`` by ``by``; failures before it no longer count for the account.
    """
    email, now = _address(email), utcnow()
    with session(settings.database) as db:
        since = _last(db, SignInEvent.email == email, SignInEvent.outcome == "unlocked")
        forgiven = db.scalar(
            select(func.count(SignInEvent.id)).where(
                SignInEvent.email == email,
                SignInEvent.outcome.in_(FAILED),
                SignInEvent.at > max(since, now - PER_PAIR.window),
            )
        )
        db.add(SignInEvent(at=now, email=email, client="", outcome="unlocked", by=by))
    return int(forgiven or 0)


def account_of(settings: Settings, token: str) -> Account | None:
    """The account a session cookie belongs to, if the session is open and not expired."""
    if not token:
        return None
    with session(settings.database) as db:
        found = db.get(ConsoleSession, _token_hash(token))
        if found is None or found.expires_at < utcnow():
            return None
        user = db.get(ConsoleUser, found.email)
        return Account(user.email, user.role, found.csrf) if user else None


def sign_out(settings: Settings, token: str, client: str) -> None:
    with session(settings.database) as db:
        found = db.get(ConsoleSession, _token_hash(token))
        if found is None:
            return
        db.add(SignInEvent(email=found.email, client=client[:64], outcome="signed-out"))
        db.delete(found)


def delay(failures: int, limit: Limit) -> timedelta:
    """The wait after the last of ``failures`` under ``limit``: none while they are free, then
    one second doubling with each failure, up to ``MAX_DELAY``."""
    if failures < limit.free:
        return timedelta(0)
    return min(FIRST_DELAY * 2 ** min(failures - limit.free, 20), MAX_DELAY)


def _wait(
    db: Session, email: str, client: str, now: datetime, before: int | None = None
) -> timedelta:
    """The longest wait any of the three counters asks of this client for this account."""
    earlier = [SignInEvent.id < before] if before is not None else []
    account, here = SignInEvent.email == email, SignInEvent.client == client
    unlocked = _last(db, account, SignInEvent.outcome == "unlocked")
    signed_in_here = _last(db, account, here, SignInEvent.outcome == "signed-in")
    waits = [
        _counted(db, PER_PAIR, now, max(unlocked, signed_in_here), account, here, *earlier),
        _counted(db, PER_CLIENT, now, datetime.min, here, *earlier),
    ]
    if signed_in_here <= now - KNOWN_CLIENT:  # a stranger to this account
        known_clients = select(SignInEvent.client).where(
            account, SignInEvent.outcome == "signed-in", SignInEvent.at > now - KNOWN_CLIENT
        )
        strangers = ~SignInEvent.client.in_(known_clients)
        waits.append(_counted(db, PER_ACCOUNT, now, unlocked, account, strangers, *earlier))
    return max(waits)


def _counted(
    db: Session, limit: Limit, now: datetime, reset: datetime, *where: ColumnElement[bool]
) -> timedelta:
    """The wait one counter asks: its failures since ``reset`` within its window."""
    count, last = db.execute(
        select(func.count(SignInEvent.id), func.max(SignInEvent.at)).where(
            *where,
            SignInEvent.outcome.in_(FAILED),
            SignInEvent.at > max(reset, now - limit.window),
        )
    ).one()
    if last is None:
        return timedelta(0)
    return max(timedelta(0), last + delay(int(count), limit) - now)


def _last(db: Session, *where: ColumnElement[bool]) -> datetime:
    found = db.scalar(select(func.max(SignInEvent.at)).where(and_(*where)))
    return found or datetime.min


def _decide(db: Session, event_id: int, outcome: str) -> None:
    db.execute(update(SignInEvent).where(SignInEvent.id == event_id).values(outcome=outcome))


def _verified(hashed: str, password: str) -> bool:
    try:
        return HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _unknown_hash() -> str:
    """A hash to check an unknown address's password against: the answer takes as long as for
    a real account, so its time does not say which accounts exist."""
    return HASHER.hash(secrets.token_urlsafe(16))
