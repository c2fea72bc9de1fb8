"""The Mesa's agreements (*acuerdos*): tracked items with an owner, a due date and a state.

An agreement is recorded from a session's minutes; its owner (an institution or a member of the
Mesa) is emailed it at once; requests and reminders list the owner's open agreements; the next
session's agenda starts with every agreement still open; the board shows each with its state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from tasks.catalogues import language_of, text
from tasks.core.mesa import DONE, DROPPED
from tasks.mail.outgoing import Outgoing, compose, send_all
from tasks.mesa import audit
from tasks.mesa.members import owner_addresses, owner_code, owner_name
from tasks.mesa.refused import MesaRefused
from tasks.mesa.sessions import CANCELLED
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage.ledger import Agreement, MesaSession, cycle_label, session, utcnow
from tasks.storage.queries import agreements_of


@dataclass(frozen=True)
class Recorded:
    """An agreement just recorded and what happened to the email to its owner."""

    agreement: Agreement
    sent: dict[str, str]


def reference(agreement: Agreement) -> str:
    """How people name an agreement: ``2023-03/1`` (its session's cycle and its number)."""
    return f"{agreement.cycle_id}/{agreement.number}"


def add(
    settings: Settings,
    plan: Plan,
    cycle_id: str,
    text_: str,
    owner: str,
    due: date,
    milestone: str = "",
    by: str = "",
) -> Recorded:
    """Record an agreement of the cycle's session and email its owner (once, whatever reruns)."""
    code = owner_code(plan, owner)
    if milestone and milestone not in {m.code for m in plan.milestones}:
        raise MesaRefused("unknown-milestone", f"{milestone!r} is not a milestone of {plan.id}")
    if not text_.strip():
        raise MesaRefused("no-text", "say what was agreed (--text)")
    with session(settings.database) as db:
        held = db.scalars(
            select(MesaSession).where(
                MesaSession.plan_id == plan.id, MesaSession.cycle_id == cycle_id
            )
        ).first()
        if held is None or held.state == CANCELLED:
            raise MesaRefused(
                "no-session",
                f"cycle {cycle_label(plan.id, cycle_id)} has no session: an agreement is made in "
                "one (hitos session schedule)",
            )
        same = db.scalars(
            select(Agreement).where(
                Agreement.plan_id == plan.id,
                Agreement.cycle_id == cycle_id,
                Agreement.text == text_.strip(),
                Agreement.owner == code,
            )
        ).first()
        if same is None:
            last = db.scalar(
                select(func.max(Agreement.number)).where(
                    Agreement.plan_id == plan.id, Agreement.cycle_id == cycle_id
                )
            )
            same = Agreement(
                plan_id=plan.id,
                cycle_id=cycle_id,
                number=(last or 0) + 1,
                text=text_.strip(),
                owner=code,
                due=due,
                milestone=milestone,
                recorded_by=by,
            )
            db.add(same)
            db.flush()
            audit.decided(db, by, audit.AGREEMENT, plan.id, cycle_id, code, reference(same))
    sent = send_all(settings, [agreement_email(settings, plan, same)])
    return Recorded(same, sent)


def agreement_email(settings: Settings, plan: Plan, agreement: Agreement) -> Outgoing:
    """The owner's notice of what the Mesa agreed they will do, and by when."""
    language = language_of(settings, plan)
    subject = text(
        language, "mesa.subject.agreement", cycle_id=agreement.cycle_id, owner=agreement.owner
    )
    return compose(
        "mesa_agreement",
        key=f"{cycle_label(plan.id, agreement.cycle_id)}/{agreement.owner}/agreement/"
        f"{agreement.number}",
        kind="agreement",
        to=owner_addresses(plan, agreement.owner),
        subject=subject,
        language=language,
        cycle_id=agreement.cycle_id,
        institution_code=agreement.owner,
        plan=plan,
        agreement=agreement,
        owner=owner_name(plan, agreement.owner),
    )


def find(settings: Settings, plan_id: str, ref: str) -> Agreement:
    """The agreement named ``2023-03/1``, or a refusal."""
    cycle_id, _, number = ref.partition("/")
    if not number.isdigit():
        raise MesaRefused("bad-reference", f"{ref!r} is not an agreement: write CYCLE/NUMBER")
    with session(settings.database) as db:
        found = db.scalars(
            select(Agreement).where(
                Agreement.plan_id == plan_id,
                Agreement.cycle_id == cycle_id,
                Agreement.number == int(number),
            )
        ).first()
    if found is None:
        raise MesaRefused("unknown-agreement", f"agreement {ref} does not exist")
    return found


def close(
    settings: Settings, plan: Plan, ref: str, note: str, by: str = "", state: str = DONE
) -> Agreement:
    """Mark an agreement done (or dropped), with how and by whom."""
    if state not in (DONE, DROPPED):
        raise MesaRefused("bad-state", "an agreement closes as done or dropped")
    found = find(settings, plan.id, ref)
    with session(settings.database) as db:
        row = db.get(Agreement, found.id)
        assert row is not None
        row.state, row.note, row.closed_by, row.closed_at = state, note.strip(), by, utcnow()
        what = f"{reference(row)}: {state}. {note.strip()}"
        audit.decided(db, by, audit.AGREEMENT_CLOSED, plan.id, row.cycle_id, row.owner, what)
        return row


def agreements(
    settings: Settings,
    plan_id: str,
    owner: str = "",
    only_open: bool = False,
    before: str = "",
) -> list[Agreement]:
    """The plan's agreements, oldest first (``tasks.storage.queries.agreements_of``)."""
    with session(settings.database) as db:
        return agreements_of(db, plan_id, owner, only_open, before)


def open_for(settings: Settings, plan_id: str, owner: str) -> list[Agreement]:
    """The owner's open agreements: what its requests and reminders list."""
    return agreements(settings, plan_id, owner=owner, only_open=True)


def open_by_owner(settings: Settings, plan_id: str) -> dict[str, list[Agreement]]:
    """Owner → its open agreements (``open_for`` of every owner in one query: a cycle's
    opening lists them in each institution's request)."""
    owners: dict[str, list[Agreement]] = {}
    for agreement in agreements(settings, plan_id, only_open=True):
        owners.setdefault(agreement.owner, []).append(agreement)
    return owners
