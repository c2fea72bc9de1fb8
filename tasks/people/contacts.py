"""Contacts that change: each institution's liaison and head, with history, in the ledger.

The plan file is the initial source. ``hitos contacts set`` records a change from a date on,
with who made it and why; the first change of an institution records the plan's contacts first,
so its history starts where the plan did. ``current_plan`` is the one place that answers "who is
the liaison today": everything that picks recipients or recognises a sender gets its plan from
there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from tasks.core.refusals import UserMistake
from tasks.plans.plan import Contact, Plan, load_plan
from tasks.settings import Settings
from tasks.storage.ledger import ContactChange, session

ROLES = ("liaison", "head")
FROM_PLAN = "plan file"  # who "changed" the contacts a history starts with
SINCE_ALWAYS = date(1970, 1, 1)  # the plan's contacts hold until the first change


@dataclass(frozen=True)
class ContactLine:
    """One entry of an institution's contact history, as ``hitos contacts`` prints it."""

    institution: str
    role: str
    name: str
    email: str
    valid_from: date | None  # None: from the plan file, before any change
    changed_by: str
    reason: str
    current: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "institution": self.institution,
            "role": self.role,
            "name": self.name,
            "email": self.email,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "changed_by": self.changed_by,
            "reason": self.reason,
            "current": self.current,
        }


def today_in(plan: Plan) -> date:
    """Today where the directorate works (a change from tomorrow is not yet in force)."""
    return datetime.now(ZoneInfo(plan.timezone)).date()


def current_plan(settings: Settings, on: date | None = None) -> Plan:
    """The settings' plan with the contacts in force ``on`` (today): what every step uses."""
    return with_current_contacts(settings, load_plan(settings.plan), on)


def with_current_contacts(settings: Settings, plan: Plan, on: date | None = None) -> Plan:
    """The plan with each institution's liaison and head as the ledger has them ``on`` that
    date; the plan itself when nothing was ever changed (no copy, no cost)."""
    on = on or today_in(plan)
    with session(settings.database) as db:
        current = in_force(db, on)
    if not current:
        return plan
    institutions = []
    for institution in plan.institutions:
        update = {
            role: current[(institution.code, role)]
            for role in ROLES
            if (institution.code, role) in current
        }
        institutions.append(institution.model_copy(update=update) if update else institution)
    changed = plan.model_copy(update={"institutions": institutions})
    for name, attribute in vars(Plan).items():  # the copy's indexes are built again, from it
        if isinstance(attribute, cached_property):
            changed.__dict__.pop(name, None)
    return changed


def in_force(db: Session, on: date) -> dict[tuple[str, str], Contact]:
    """(institution, role) → the contact of the newest change valid on that date."""
    rows = db.scalars(
        select(ContactChange)
        .where(ContactChange.valid_from <= on)
        .order_by(ContactChange.valid_from, ContactChange.id)
    )
    return {(r.institution, r.role): Contact(name=r.name, email=r.email) for r in rows}


def set_contacts(
    settings: Settings,
    plan: Plan,
    code: str,
    *,
    liaison: Contact | None = None,
    head: Contact | None = None,
    valid_from: date | None = None,
    changed_by: str = "",
    reason: str = "",
) -> None:
    """Record new contacts of an institution from ``valid_from`` (today) on.

    ``plan`` is the plan file as loaded: its contacts open the history on the first change.
    """
    institution = plan.institution(code)
    valid_from = valid_from or today_in(plan)
    with session(settings.database) as db:
        known = db.scalar(select(ContactChange.id).where(ContactChange.institution == code))
        if known is None:
            for role in ROLES:
                contact: Contact = getattr(institution, role)
                db.add(
                    ContactChange(
                        institution=code,
                        role=role,
                        name=contact.name,
                        email=contact.email,
                        valid_from=SINCE_ALWAYS,
                        changed_by=FROM_PLAN,
                        reason=f"from {settings.plan.name}",
                    )
                )
        for role, contact_or_none in (("liaison", liaison), ("head", head)):
            if contact_or_none is not None:
                db.add(
                    ContactChange(
                        institution=code,
                        role=role,
                        name=contact_or_none.name,
                        email=contact_or_none.email.lower(),
                        valid_from=valid_from,
                        changed_by=changed_by,
                        reason=reason,
                    )
                )


def contact(name: str, email: str) -> Contact:
    """A checked contact; ``UserMistake`` (one sentence for the operator) when the address is
    not one."""
    try:
        return Contact(name=name or email, email=email.strip())
    except ValidationError:
        raise UserMistake(f"{email!r} is not an email address") from None


def history(settings: Settings, plan: Plan, code: str | None = None) -> list[ContactLine]:
    """Every institution's contacts (or one's whole history), the ones in force marked."""
    codes = [code] if code else [i.code for i in plan.institutions]
    for c in codes:
        plan.institution(c)  # KeyError names an unknown code
    today = today_in(plan)
    with session(settings.database) as db:
        rows = db.scalars(
            select(ContactChange)
            .where(ContactChange.institution.in_(codes))
            .order_by(ContactChange.valid_from, ContactChange.id)
        ).all()
        current = in_force(db, today)
    lines: list[ContactLine] = []
    for c in codes:
        own = [r for r in rows if r.institution == c]
        institution = plan.institution(c)
        if not own:
            lines += [
                ContactLine(
                    c,
                    role,
                    getattr(institution, role).name,
                    getattr(institution, role).email,
                    None,
                    FROM_PLAN,
                    "",
                    True,
                )
                for role in ROLES
            ]
            continue
        in_force_ids = {
            max((r for r in own if r.role == role and r.valid_from <= today), key=order).id
            for role in ROLES
            if (c, role) in current
        }
        for r in own if code else [r for r in own if r.id in in_force_ids]:
            lines.append(
                ContactLine(
                    c,
                    r.role,
                    r.name,
                    r.email,
                    None if r.changed_by == FROM_PLAN else r.valid_from,
                    r.changed_by,
                    r.reason,
                    r.id in in_force_ids,
                )
            )
    return lines


def order(row: ContactChange) -> tuple[date, int]:
    return row.valid_from, row.id
