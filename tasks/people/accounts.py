"""Console accounts: directors and reviewers, argon2-hashed passwords, sessions, login limits.

A session cookie holds a random token; the ledger keeps only its sha256, so a copy of the
ledger signs nobody in. Failed sign-ins are counted per address and per client: after
``MAX_FAILURES`` in ``FAILURE_WINDOW`` further attempts are refused without checking the password.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, or_, select

from tasks.settings import Settings
from tasks.storage.ledger import ConsoleSession, ConsoleUser, LoginAttempt, session, utcnow

ROLES = ("director", "reviewer", "cso")
"""``cso``: a civil-society organisation of the Mesa (``tasks.mesa.accounts``): reads the
cycle and assesses milestones; never reviews files or publishes."""
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)
MIN_PASSWORD = 10
HASHER = PasswordHasher()


class AccountRefused(ValueError):
    """An account that cannot be made; one sentence for operators."""


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
    email = email.strip().lower()
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


def limited(settings: Settings, email: str, client: str) -> bool:
    """Too many recent failures for this address or this client: refuse without checking."""
    since = utcnow() - FAILURE_WINDOW
    with session(settings.database) as db:
        failures = db.scalar(
            select(func.count(LoginAttempt.id)).where(
                LoginAttempt.at >= since,
                or_(LoginAttempt.email == email.strip().lower(), LoginAttempt.client == client),
            )
        )
    return int(failures or 0) >= MAX_FAILURES


def sign_in(settings: Settings, email: str, password: str, client: str) -> tuple[Account, str]:
    """Check the password and open a session: (the account, the cookie's token).

    Raises ``PermissionError`` on a wrong address or password (the same for both, so the
    answer does not say which accounts exist); the failure is counted.
    """
    email = email.strip().lower()
    with session(settings.database) as db:
        user = db.get(ConsoleUser, email)
        try:
            ok = user is not None and HASHER.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
        if ok and user is not None:
            token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            db.add(
                ConsoleSession(
                    token_hash=_token_hash(token),
                    email=email,
                    csrf=csrf,
                    expires_at=utcnow() + SESSION_LIFETIME,
                )
            )
            return Account(email, user.role, csrf), token
        db.add(LoginAttempt(email=email, client=client))  # committed: the failure counts
    raise PermissionError("wrong email or password")


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


def sign_out(settings: Settings, token: str) -> None:
    with session(settings.database) as db:
        db.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == _token_hash(token)))
