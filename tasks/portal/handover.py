"""A handover when a liaison changes: the old liaison's links stop working, and the new one is
welcomed with what the previous one knew — the institution's milestones and their history, what
is still to fix, the evidence it gave, the next deadline and a personal link of their own.
"""

from __future__ import annotations

from sqlalchemy import select

from tasks.catalogues import language_of
from tasks.core.calendar import local_today
from tasks.core.states import CycleState
from tasks.mail.outgoing import Outgoing, compose, plan_subject, send_all
from tasks.people.contacts import FROM_PLAN
from tasks.plans.plan import Plan
from tasks.portal.overview import overview
from tasks.settings import Settings
from tasks.storage import links, queries
from tasks.storage.ledger import ContactChange, session


def hand_over(settings: Settings, plan: Plan, code: str) -> dict[str, str]:
    """After ``tasks.people.contacts.set_contacts``: revoke the institution's links made for
    anyone but its liaison today and send that liaison the welcome (once per change); the
    emails' statuses by key. ``plan`` carries the contacts in force."""
    institution = plan.institution(code)
    with session(settings.database) as db:
        links.revoke(db, plan.id, code, "liaison-changed", keep=institution.liaison.email)
        change = db.scalars(
            select(ContactChange)
            .where(
                ContactChange.institution == code,
                ContactChange.role == "liaison",
                ContactChange.email == institution.liaison.email.lower(),
                ContactChange.changed_by != FROM_PLAN,
            )
            .order_by(ContactChange.valid_from.desc(), ContactChange.id.desc())
        ).first()
        if change is None:  # the liaison the plan file names, or one not yet in force
            return {}
        change_id = change.id
    return send_all(settings, [welcome_email(settings, plan, code, change_id)])


def welcome_email(settings: Settings, plan: Plan, code: str, change: int) -> Outgoing:
    """The new liaison's welcome: their institution's page as of today, in an email."""
    institution = plan.institution(code)
    language = language_of(settings, plan)
    today = local_today(plan.timezone)
    with session(settings.database) as db:
        cycle = queries.newest_open_cycle(db, plan.id) or next(
            iter(reversed(queries.cycles_of(db, plan.id))), None
        )
        page = overview(db, plan, cycle, code, today) if cycle is not None else None
        standing = [
            fact.id
            for c in queries.cycles_of(db, plan.id)
            if (fact := queries.standing_files(db, plan.id, c.id).get(code)) is not None
        ]
        evidence = queries.evidence_links(db, standing)
        link = (
            links.url_of(
                settings,
                links.link_for(db, settings, plan.id, cycle.id, code, institution.liaison.email),
            )
            if cycle is not None and cycle.state != CycleState.CLOSED
            else ""
        )
    return compose(
        "welcome",
        key=f"{plan.id}/{cycle.id if cycle else '-'}/{code}/welcome/{change}",
        kind="welcome",
        to=[institution.liaison.email],
        subject=plan_subject(plan, language, "welcome", institution=code),
        language=language,
        cycle_id=cycle.id if cycle else None,
        institution_code=code,
        plan=plan,
        institution=institution,
        page=page,
        evidence=evidence,
        link=link,
    )
