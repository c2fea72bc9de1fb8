"""Personal links: a signed, expiring token per institution and cycle, that opens the liaison's
page (``console.routes.portal``) without a password.

The token is ``<row id>.<signature>``: the signature (HMAC-SHA256 with the settings' signing key,
the key that signs workbooks and Message-IDs) covers the row's plan, cycle, institution, address
and issue time, so a changed id or a made-up token verifies against nothing. What may be undone
lives in the row: a link is revoked by a date (a new liaison, ``hitos resend``), expires by one,
and stops with its cycle (only an open cycle's links open a page). Emails that are composed again
after a crash reuse the link in force (``link_for``), so a rerun never invalidates what was sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tasks.core.states import CycleState
from tasks.settings import Settings
from tasks.storage.ledger import Cycle, PortalLink, of_cycle, session, utcnow

PATH = "/enlace"
"""Where the console serves personal pages: ``<console_url>/enlace/<token>``."""
SIGNATURE_CHARS = 32  # 192 bits of the HMAC, URL-safe base64


@dataclass(frozen=True)
class Opened:
    """What a valid token opens: the link and its cycle."""

    link: PortalLink
    cycle: Cycle


class LinkRefused(Exception):
    """A token that opens nothing: ``status`` 404 when it was never ours (tampered, unknown),
    403 when it was and no longer works (``why``: expired, revoked, cycle closed)."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status, self.why = status, why


def _signature(key: str, link: PortalLink) -> str:
    issued = link.issued_at.replace(microsecond=0).isoformat()
    message = "|".join(
        ("portal", str(link.id), link.plan_id, link.cycle_id, link.institution, link.email, issued)
    )
    digest = hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:SIGNATURE_CHARS]


def token_of(settings: Settings, link: PortalLink) -> str:
    """The token a personal link's row stands for."""
    return f"{link.id}.{_signature(settings.signing_key.get_secret_value(), link)}"


def url_of(settings: Settings, token: str) -> str:
    """The link as an email gives it, on the console's public address."""
    return f"{settings.console}{PATH}/{token}"


def link_for(
    db: Session,
    settings: Settings,
    plan_id: str,
    cycle_id: str,
    institution: str,
    email: str,
    fresh: bool = False,
) -> str:
    """The token of the link in force for this liaison, made when there is none; with ``fresh``
    (a request sent again) the links in force are revoked and a new one made."""
    now = utcnow()
    email = email.strip().lower()
    if fresh:
        revoke(db, plan_id, institution, "resent", cycle_id)
    else:
        current = db.scalars(
            select(PortalLink)
            .where(
                of_cycle(PortalLink, plan_id, cycle_id),
                PortalLink.institution == institution,
                PortalLink.email == email,
                PortalLink.revoked_at.is_(None),
                PortalLink.expires_at > now,
            )
            .order_by(PortalLink.id.desc())
        ).first()
        if current is not None:
            return token_of(settings, current)
    link = PortalLink(
        plan_id=plan_id,
        cycle_id=cycle_id,
        institution=institution,
        email=email,
        issued_at=now.replace(microsecond=0),
        expires_at=now + timedelta(days=settings.portal_link_days),
    )
    db.add(link)
    db.flush()
    return token_of(settings, link)


def revoke(
    db: Session,
    plan_id: str,
    institution: str,
    why: str,
    cycle_id: str | None = None,
    keep: str = "",
) -> int:
    """Revoke the institution's links in force (in one cycle, or all; but those made for the
    address ``keep``); how many."""
    query = (
        update(PortalLink)
        .where(
            PortalLink.plan_id == plan_id,
            PortalLink.institution == institution,
            PortalLink.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow(), revoked_why=why)
        .execution_options(synchronize_session=False)
    )
    if cycle_id is not None:
        query = query.where(PortalLink.cycle_id == cycle_id)
    if keep:
        query = query.where(PortalLink.email != keep.strip().lower())
    return len(db.execute(query.returning(PortalLink.id)).all())


def opened(db: Session, settings: Settings, token: str) -> Opened:
    """The link and cycle a token opens, or ``LinkRefused``."""
    number, _, given = token.partition(".")
    if not number.isdigit() or len(number) > 9 or len(given) != SIGNATURE_CHARS:
        raise LinkRefused(404, "unknown")
    link = db.get(PortalLink, int(number))
    key = settings.signing_key.get_secret_value()
    if link is None or not hmac.compare_digest(_signature(key, link), given):
        raise LinkRefused(404, "unknown")
    cycle = db.get(Cycle, (link.plan_id, link.cycle_id))
    if link.revoked_at is not None:
        raise LinkRefused(403, "revoked")
    if link.expires_at <= utcnow():
        raise LinkRefused(403, "expired")
    if cycle is None or cycle.state == CycleState.CLOSED:
        raise LinkRefused(403, "closed")
    return Opened(link, cycle)


def personal_url(
    settings: Settings,
    plan_id: str,
    cycle_id: str,
    institution: str,
    email: str,
    fresh: bool = False,
) -> str:
    """``link_for`` in its own transaction, as the address an email gives; ``""`` when the
    cycle is closed (its links open nothing)."""
    return personal_urls(settings, plan_id, cycle_id, {institution: email}, fresh)[institution]


def personal_urls(
    settings: Settings,
    plan_id: str,
    cycle_id: str,
    liaisons: dict[str, str],
    fresh: bool = False,
) -> dict[str, str]:
    """``personal_url`` of many institutions (institution → its liaison's address) in one
    transaction: a cycle's opening asks for a batch of them at once."""
    with session(settings.database) as db:
        cycle = db.get(Cycle, (plan_id, cycle_id))
        if cycle is None or cycle.state == CycleState.CLOSED:
            return dict.fromkeys(liaisons, "")
        return {
            institution: url_of(
                settings, link_for(db, settings, plan_id, cycle_id, institution, email, fresh)
            )
            for institution, email in liaisons.items()
        }
