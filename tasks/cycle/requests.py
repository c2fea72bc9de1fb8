"""Opening a cycle: the cycle record, each institution's request workbook and its email."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

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
from tasks.storage.links import personal_url, personal_urls
from tasks.storage.queries import cycle_of, standing_in_earlier_cycles
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
        return accepted_values_before(db, plan_id, cycle_id, [institution]).get(institution, {})


def accepted_values_before(
    db: Session, plan_id: str, cycle_id: str, institutions: list[str]
) -> dict[str, dict[str, dict[str, object]]]:
    """``last_accepted_values`` of many institutions in three queries (institutions with no
    earlier standing file absent)."""
    standing = {
        file: code
        for code, file in standing_in_earlier_cycles(db, plan_id, cycle_id, institutions).items()
    }
    values: dict[str, dict[str, dict[str, object]]] = {}
    if standing:
        for v in db.scalars(
            select(MilestoneValue).where(MilestoneValue.submission_id.in_(list(standing)))
        ):
            values.setdefault(standing[v.submission_id], {})[v.milestone] = {
                key: getattr(v, key) for key in contract.VALUE_COLUMNS
            }
    return values


def workbook_name(plan: Plan, cycle_id: str, institution: str) -> str:
    """The Hitos-made name of a request workbook: ``gt-pan5-2023-03-MINGOB.xlsx``."""
    return f"{plan.id}-{cycle_id}-{institution}.xlsx"


def request_workbook(
    settings: Settings,
    plan: Plan,
    cycle: Cycle,
    institution: Institution,
    previous: dict[str, dict[str, object]],
) -> bytes:
    """The institution's workbook for the cycle, pre-filled with ``previous``, its last
    accepted values (``last_accepted_values``)."""
    return build_request_workbook(
        plan,
        institution,
        cycle.id,
        cycle.deadline,
        reply_to=settings.sender,
        signing_key=settings.signing_key.get_secret_value(),
        previous=previous or None,
        language=language_of(settings, plan),
    )


def build_request(settings: Settings, plan: Plan, cycle: Cycle, institution: Institution) -> Path:
    """The institution's workbook for the cycle (``build_request_batch`` for one institution)."""
    return build_request_batch(settings, plan, cycle, [institution])[0]


def build_request_batch(
    settings: Settings, plan: Plan, cycle: Cycle, institutions: list[Institution]
) -> list[Path]:
    """Each institution's workbook for the cycle, built once and kept in the file store with
    its request row; the paths of this worker's local copies (what the emails attach), in order.

    The ledger is read in one transaction and written in one for the whole batch: one
    transaction per institution was most of a cycle's opening after the workbooks themselves.
    The workbooks are built between the two, outside any transaction; two runs may both build
    one, and the first request row written is the request.
    """
    codes = [i.code for i in institutions]
    with session(settings.database) as db:
        recorded = request_keys(db, plan.id, cycle.id, codes)
        missing = [i for i in institutions if i.code not in recorded]
        previous = accepted_values_before(db, plan.id, cycle.id, [i.code for i in missing])
    built = {
        i.code: request_workbook(settings, plan, cycle, i, previous.get(i.code, {}))
        for i in missing
    }
    data = {filestore.digest(workbook): workbook for workbook in built.values()}
    key = settings.signing_key.get_secret_value()
    with session(settings.database) as db:
        if built:
            filestore.put_many(db, list(built.values()))
            now = utcnow()
            db.execute(
                insert_or_ignore(db, Request, "plan_id", "cycle_id", "institution"),
                [
                    {
                        "plan_id": plan.id,
                        "cycle_id": cycle.id,
                        "institution": code,
                        "workbook": filestore.digest(workbook),
                        "filled": request_digest(workbook),
                        "signature": signature(key, plan.id, cycle.id, code),
                        "created_at": now,
                    }
                    for code, workbook in built.items()
                ],
            )
            recorded = request_keys(db, plan.id, cycle.id, codes)
        data.update(filestore.get_many(db, set(recorded.values()) - set(data)))
    return [
        filestore.local_copy(
            settings,
            data[recorded[code]],
            "requests",
            plan.id,
            cycle.id,
            workbook_name(plan, cycle.id, code),
        )
        for code in codes
    ]


def request_keys(db: Session, plan_id: str, cycle_id: str, codes: list[str]) -> dict[str, str]:
    """Institution → the file-store key of the request workbook it was sent, for those asked."""
    return {
        code: key
        for code, key in db.execute(
            select(Request.institution, Request.workbook).where(
                of_cycle(Request, plan_id, cycle_id), Request.institution.in_(codes)
            )
        )
    }


def liaison_link(
    settings: Settings, plan: Plan, cycle: Cycle, institution: Institution, fresh: bool = False
) -> str:
    """The liaison's personal link for the cycle, as their emails give it."""
    return personal_url(
        settings, plan.id, cycle.id, institution.code, institution.liaison.email, fresh
    )


def liaison_links(
    settings: Settings, plan: Plan, cycle: Cycle, institutions: list[Institution]
) -> dict[str, str]:
    """``liaison_link`` of a batch of institutions, in one transaction (a cycle's opening)."""
    liaisons = {i.code: i.liaison.email for i in institutions}
    return personal_urls(settings, plan.id, cycle.id, liaisons)


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
    previous = last_accepted_values(settings, plan.id, cycle.id, institution.code)
    path.write_bytes(request_workbook(settings, plan, cycle, institution, previous))
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
