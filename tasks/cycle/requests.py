"""Opening a cycle: the cycle record, each institution's request workbook and its email."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import select

from tasks.catalogues import language_of
from tasks.core import contract
from tasks.core.calendar import cycle_deadline, first_business_day, local_today
from tasks.core.cycles import cycle_label
from tasks.core.states import CycleState
from tasks.mail.outgoing import Outgoing, compose, plan_subject
from tasks.plans.plan import Institution, Plan
from tasks.settings import Settings
from tasks.storage import filestore
from tasks.storage.ledger import (
    Agreement,
    Cycle,
    MilestoneValue,
    Request,
    insert_or_ignore,
    of_cycle,
    session,
    utcnow,
)
from tasks.storage.links import personal_url
from tasks.storage.queries import cycle_of, standing_in_earlier_cycle
from tasks.workbooks.building import build_request_workbook
from tasks.workbooks.signing import signature
from tasks.workbooks.untouched import request_digest


def planned_cycle(settings: Settings, plan: Plan, cycle_id: str, opened_on: date) -> Cycle:
    """The cycle as the ledger has it, or as opening it now would make it; writes nothing.

    A new cycle opens on ``opened_on``, the day its requests go out, and its deadline follows
    from that day (``tasks.core.calendar.cycle_deadline``)."""
    with session(settings.database) as db:
        cycle = cycle_of(db, plan.id, cycle_id)
    if cycle is not None:
        return cycle
    return Cycle(
        id=cycle_id,
        plan_id=plan.id,
        opened_on=opened_on,
        deadline=cycle_deadline(opened_on, settings.deadline_business_days, plan.country),
        state=CycleState.OPEN,
    )


def scheduled_opening(plan: Plan, cycle_id: str) -> date:
    """The day a cycle opens by schedule: the first business day of its month."""
    year, month = cycle_id.split("-")
    return first_business_day(int(year), int(month), plan.country)


def is_opening_day(plan: Plan, today: date | None = None) -> bool:
    """Whether a cycle opens today: the first business day of March or August, in the plan's
    time zone and calendar."""
    today = today or local_today(plan.timezone)
    return today.month in (3, 8) and today == first_business_day(
        today.year, today.month, plan.country
    )


def open_cycle_record(settings: Settings, plan: Plan, cycle_id: str, opened_on: date) -> Cycle:
    """The cycle, created on first call with its deadline in business days; unchanged after,
    however many runs open it at the same time."""
    planned = planned_cycle(settings, plan, cycle_id, opened_on)
    with session(settings.database) as db:
        db.execute(
            insert_or_ignore(db, Cycle, "plan_id", "id").values(
                id=planned.id,
                plan_id=planned.plan_id,
                opened_on=planned.opened_on,
                deadline=planned.deadline,
                state=planned.state,
            )
        )
        cycle = cycle_of(db, plan.id, cycle_id)
        assert cycle is not None
        return cycle


def last_accepted_values(
    settings: Settings, plan_id: str, cycle_id: str, institution: str
) -> dict[str, dict[str, object]]:
    """What the institution's standing file said in the newest earlier cycle that has one, by
    milestone, to pre-fill."""
    with session(settings.database) as db:
        standing = standing_in_earlier_cycle(db, plan_id, cycle_id, institution)
        if standing is None:
            return {}
        return {
            v.milestone: {key: getattr(v, key) for key in contract.VALUE_COLUMNS}
            for v in db.scalars(
                select(MilestoneValue).where(MilestoneValue.submission_id == standing)
            )
        }


def workbook_name(plan: Plan, cycle_id: str, institution: str) -> str:
    """The Hitos-made name of a request workbook: ``gt-pan5-2023-03-MINGOB.xlsx``."""
    return f"{plan.id}-{cycle_id}-{institution}.xlsx"


def request_workbook(
    settings: Settings, plan: Plan, cycle: Cycle, institution: Institution
) -> bytes:
    """The institution's workbook for the cycle, pre-filled with its last accepted values."""
    return build_request_workbook(
        plan,
        institution,
        cycle.id,
        cycle.deadline,
        reply_to=settings.sender,
        signing_key=settings.signing_key.get_secret_value(),
        previous=last_accepted_values(settings, plan.id, cycle.id, institution.code) or None,
        language=language_of(settings, plan),
    )


def build_request(settings: Settings, plan: Plan, cycle: Cycle, institution: Institution) -> Path:
    """The institution's workbook for the cycle, built once and kept in the file store with its
    request row; the path of this worker's local copy (what an email attaches)."""
    recorded = select(Request.workbook).where(
        of_cycle(Request, plan.id, cycle.id), Request.institution == institution.code
    )
    with session(settings.database) as db:
        key = db.scalar(recorded)
        if key is None:  # two runs may both get here: the first row written is the request
            built = request_workbook(settings, plan, cycle, institution)
            db.execute(
                insert_or_ignore(db, Request, "plan_id", "cycle_id", "institution").values(
                    plan_id=plan.id,
                    cycle_id=cycle.id,
                    institution=institution.code,
                    workbook=filestore.put(db, built),
                    filled=request_digest(built),
                    signature=signature(
                        settings.signing_key.get_secret_value(),
                        plan.id,
                        cycle.id,
                        institution.code,
                    ),
                    created_at=utcnow(),
                )
            )
            key = db.scalar(recorded)
        assert key is not None
        data = filestore.get(db, key)
    name = workbook_name(plan, cycle.id, institution.code)
    return filestore.local_copy(settings, data, "requests", plan.id, cycle.id, name)


def liaison_link(
    settings: Settings, plan: Plan, cycle: Cycle, institution: Institution, fresh: bool = False
) -> str:
    """The liaison's personal link for the cycle, as their emails give it."""
    return personal_url(
        settings, plan.id, cycle.id, institution.code, institution.liaison.email, fresh
    )


def request_copy(settings: Settings, plan: Plan, cycle_id: str, institution: str) -> Path:
    """This worker's copy of the request workbook the institution was sent, from the file store
    (whichever worker built it); KeyError when the institution was never asked."""
    with session(settings.database) as db:
        key = db.scalar(
            select(Request.workbook).where(
                of_cycle(Request, plan.id, cycle_id), Request.institution == institution
            )
        )
        if key is None:
            raise KeyError(f"{cycle_label(plan.id, cycle_id)}/{institution}")
        data = filestore.get(db, key)
    name = workbook_name(plan, cycle_id, institution)
    return filestore.local_copy(settings, data, "requests", plan.id, cycle_id, name)


def preview_request(
    settings: Settings, plan: Plan, cycle: Cycle, institution: Institution, folder: Path
) -> Path:
    """The workbook a request would attach, written to a preview folder and nowhere else."""
    path = folder / workbook_name(plan, cycle.id, institution.code)
    path.write_bytes(request_workbook(settings, plan, cycle, institution))
    return path


def request_email(
    plan: Plan,
    cycle: Cycle,
    institution: Institution,
    workbook: Path,
    language: str = "es",
    sequence: int = 1,
    agreements: list[Agreement] | None = None,
    link: str = "",
) -> Outgoing:
    """The request email to the institution's liaison, with its workbook attached (``sequence``
    2 and on: sent again after the first did not arrive, see ``tasks.cycle.resend``), listing
    the Mesa's ``agreements`` still open for the institution, and giving the liaison's personal
    ``link`` (``tasks.storage.links``; none in a preview)."""
    subject = plan_subject(
        plan, language, "request", cycle_id=cycle.id, institution=institution.code
    )
    return compose(
        "request",
        key=f"{cycle.label}/{institution.code}/request/{sequence}",
        kind="request",
        to=[institution.liaison.email],
        subject=subject,
        language=language,
        attachments=[workbook],
        cycle_id=cycle.id,
        institution_code=institution.code,
        plan=plan,
        institution=institution,
        cycle=cycle,
        milestones=plan.milestones_of(institution.code),
        agreements=agreements or [],
        link=link,
    )
