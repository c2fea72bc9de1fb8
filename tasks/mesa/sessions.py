"""The Mesa's sessions: one per cycle, scheduled, changed or cancelled, and its minutes.

A session's invitation is an iCalendar event (``tasks.mesa.invitations``) whose UID is fixed when
the session is first scheduled; every change or cancellation raises its SEQUENCE, so calendars
update the event they already hold instead of adding a second one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from tasks.mesa import audit
from tasks.mesa.refused import MesaRefused
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage.ledger import MesaSession, cycle_label, session, utcnow
from tasks.storage.queries import cycle_of

HH_MM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
SCHEDULED, CANCELLED = "scheduled", "cancelled"


@dataclass(frozen=True)
class Scheduled:
    """What scheduling did: the session as it stands, and whether it changed (a new SEQUENCE
    to send)."""

    session: MesaSession
    changed: bool


def uid(settings: Settings, plan_id: str, cycle_id: str) -> str:
    """The invitation's UID: the same for every update of the session (RFC 5545, 3.8.4.7)."""
    return f"mesa-{plan_id}-{cycle_id}@{settings.sender.split('@')[-1]}"


def starts_at(plan: Plan, found: MesaSession) -> datetime:
    """When the session starts, in the plan's time zone."""
    hours, minutes = (int(part) for part in found.starts.split(":"))
    return datetime.combine(found.day, time(hours, minutes), ZoneInfo(plan.timezone))


def session_of(settings: Settings, plan_id: str, cycle_id: str) -> MesaSession | None:
    """The cycle's session, if one was ever scheduled (cancelled ones too)."""
    with session(settings.database) as db:
        return db.query(MesaSession).filter_by(plan_id=plan_id, cycle_id=cycle_id).one_or_none()


def schedule(
    settings: Settings,
    plan: Plan,
    cycle_id: str,
    day: date,
    at: str,
    place: str,
    by: str = "",
    minutes_long: int = 120,
    reason: str = "",
) -> Scheduled:
    """Record the cycle's session, or move it (a higher SEQUENCE); the same values again change
    nothing, so a rerun sends nothing twice."""
    if not HH_MM.fullmatch(at.strip()):
        raise MesaRefused("bad-time", f"{at!r} is not a time: write it as HH:MM (e.g. 09:30)")
    if not place.strip():
        raise MesaRefused("no-place", "say where the session is held (--place)")
    with session(settings.database) as db:
        if cycle_of(db, plan.id, cycle_id) is None:
            raise MesaRefused(
                "unknown-cycle",
                f"cycle {cycle_label(plan.id, cycle_id)} does not exist: open it first",
            )
        found = db.query(MesaSession).filter_by(plan_id=plan.id, cycle_id=cycle_id).one_or_none()
        wanted = (day, at.strip(), place.strip(), minutes_long, SCHEDULED)
        if found is None:
            found = MesaSession(
                plan_id=plan.id,
                cycle_id=cycle_id,
                uid=uid(settings, plan.id, cycle_id),
                day=day,
                starts=at.strip(),
                minutes_long=minutes_long,
                place=place.strip(),
                sequence=0,
                present=[],
                scheduled_by=by,
            )
            db.add(found)
            db.flush()
            audit.decided(db, by, audit.CONVENE, plan.id, cycle_id, note=_when(found))
            return Scheduled(found, True)
        if (found.day, found.starts, found.place, found.minutes_long, found.state) == wanted:
            return Scheduled(found, False)
        found.day, found.starts, found.place, found.minutes_long = wanted[:4]
        found.state, found.sequence, found.reason = SCHEDULED, found.sequence + 1, reason
        found.scheduled_by, found.updated_at = by, utcnow()
        audit.decided(db, by, audit.CONVENE, plan.id, cycle_id, note=f"{_when(found)} ({reason})")
        return Scheduled(found, True)


def _when(found: MesaSession) -> str:
    return f"{found.day.isoformat()} {found.starts}, {found.place}"


def cancel(settings: Settings, plan: Plan, cycle_id: str, reason: str, by: str = "") -> Scheduled:
    """Cancel the cycle's session (a higher SEQUENCE, STATUS:CANCELLED); again: no change."""
    with session(settings.database) as db:
        found = db.query(MesaSession).filter_by(plan_id=plan.id, cycle_id=cycle_id).one_or_none()
        if found is None:
            raise MesaRefused("no-session", f"cycle {cycle_id} has no session to cancel")
        if found.state == CANCELLED:
            return Scheduled(found, False)
        found.state, found.sequence, found.reason = CANCELLED, found.sequence + 1, reason
        found.scheduled_by, found.updated_at = by, utcnow()
        audit.decided(db, by, audit.CANCEL, plan.id, cycle_id, note=reason)
        return Scheduled(found, True)


def record_minutes(
    settings: Settings, plan: Plan, cycle_id: str, present: list[str], by: str = ""
) -> MesaSession:
    """Who was present (member codes, any case or by name); the agreements are added apart."""
    codes = []
    for given in present:
        try:
            codes.append(plan.member(given).code)
        except KeyError:
            raise MesaRefused(
                "unknown-member", f"{given!r} is not a member of the Mesa of plan {plan.id}"
            ) from None
    with session(settings.database) as db:
        found = db.query(MesaSession).filter_by(plan_id=plan.id, cycle_id=cycle_id).one_or_none()
        if found is None or found.state == CANCELLED:
            raise MesaRefused("no-session", f"cycle {cycle_id} has no session: schedule it first")
        found.present = list(dict.fromkeys(codes))
        found.minutes_by = by
        return found


def next_cycle_id(cycle_id: str) -> str:
    """The cycle after this one: March and August rounds (2023-03 → 2023-08 → 2024-03)."""
    year, month = (int(part) for part in cycle_id.split("-"))
    return f"{year}-08" if month < 8 else f"{year + 1}-03"


def session_number_in_year(settings: Settings, plan_id: str, found: MesaSession) -> int:
    """The session's place among the year's sessions held (1 for the first of the year)."""
    year = found.cycle_id[:4]
    with session(settings.database) as db:
        earlier = (
            db.query(MesaSession)
            .filter(
                MesaSession.plan_id == plan_id,
                MesaSession.cycle_id.like(f"{year}-%"),
                MesaSession.cycle_id < found.cycle_id,
                MesaSession.state == SCHEDULED,
            )
            .count()
        )
    return earlier + 1
