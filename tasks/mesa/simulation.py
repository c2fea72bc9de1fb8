"""The Mesa's people in the demo: the director convenes and holds each cycle's session, civil
society assesses what institutions reported, and the director approves the communiqué.

Like ``tasks.simulation`` they stand for people, so every choice follows from the ledger and the
plan through the same functions the CLI and the console call; nothing here names an institution
or a milestone. The session falls on the last Wednesday of the cycle's month (29 March 2023, the
seed's, and 30 August 2023).
"""

from __future__ import annotations

from calendar import WEDNESDAY, monthrange
from datetime import date, timedelta
from pathlib import Path

from tasks.catalogues import language_of, text
from tasks.core.calendar import add_business_days
from tasks.core.contract import COMPLETED, IN_PROGRESS
from tasks.core.mesa import DISAGREE
from tasks.core.states import Delivery
from tasks.mesa import agreements, communique, invitations, sessions
from tasks.mesa.agenda import build_agenda
from tasks.mesa.assessments import assess
from tasks.mesa.pack import write_pack
from tasks.mesa.plan_changes import change
from tasks.plans.plan import Plan, load_plan
from tasks.settings import Settings
from tasks.storage.ledger import session
from tasks.storage.queries import standing_files

SESSION_TIME = "10:00"
PLACE = "mesa.simulated.place"
"""Catalogue key of where the demo's sessions are held."""


def session_day(cycle_id: str) -> date:
    """The last Wednesday of the cycle's month."""
    year, month = (int(part) for part in cycle_id.split("-"))
    last = date(year, month, monthrange(year, month)[1])
    return last - timedelta(days=(last.weekday() - WEDNESDAY) % 7)


def director_convenes(settings: Settings, plan: Plan, cycle_id: str) -> dict[str, str]:
    """The director schedules the cycle's session and every member is invited."""
    language = language_of(settings, plan)
    director = plan.coordinator.director.email
    place = text(language, PLACE)
    sessions.schedule(
        settings, plan, cycle_id, session_day(cycle_id), SESSION_TIME, place, director
    )
    return invitations.invite(settings, plan, cycle_id)


def civil_society_assesses(settings: Settings, plan: Plan, cycle_id: str) -> list[str]:
    """Civil society disputes the first milestone reported completed in this cycle that was not
    completed in the last one (the news that most deserves checking), if there is one."""
    organisations = plan.civil_society()
    if not organisations:
        return []
    agenda = build_agenda(settings, plan, cycle_id, language_of(settings, plan))
    completed_now = [
        r
        for r in agenda.source.table.itertuples()
        if r.estado == COMPLETED and r.fuente == "reportado" and (r.cambio_pct or 0) > 0
    ]
    if not completed_now:
        return []
    milestone = completed_now[0].codigo_hito
    language = language_of(settings, plan)
    assess(
        settings,
        plan,
        cycle_id,
        milestone,
        DISAGREE,
        organisations[-1].code,
        text(language, "mesa.simulated.dispute"),
        f"https://{organisations[-1].code.lower()}.example/revision/{cycle_id}/{milestone}",
        by=organisations[-1].code,
    )
    return [milestone]


def mesa_meets(settings: Settings, plan: Plan, cycle_id: str) -> dict[str, object]:
    """The session is held: the pack is projected, the minutes record who came, each institution
    that delivered nothing published takes an agreement to send its report, and the Mesa gives
    new dates to the first overdue milestone still in progress."""
    language = language_of(settings, plan)
    director = plan.coordinator.director.email
    pack = write_pack(settings, plan, cycle_id)
    agenda = build_agenda(settings, plan, cycle_id, language)
    reported = {r.code for r in agenda.reporters}
    present = [
        m.code
        for m in plan.mesa.members
        if m.kind != "public" or m.code in reported or m.code == plan.coordinator.institution
    ]
    sessions.record_minutes(settings, plan, cycle_id, present, director)
    held = session_day(cycle_id)
    figures = agenda.source.figures
    missing = [f.codigo for f in figures.institutions if f.estado_entrega == Delivery.NOT_DELIVERED]
    made = []
    for code in missing:
        recorded = agreements.add(
            settings,
            plan,
            cycle_id,
            text(language, "mesa.simulated.pending_report", cycle_id=cycle_id),
            code,
            add_business_days(held, 10, plan.country),
            by=director,
        )
        made.append(agreements.reference(recorded.agreement))
    changed = []
    late = [r for r in agenda.overdue if r.estado == IN_PROGRESS and plan.end and r.fin < plan.end]
    if late:
        first = late[0]
        change(
            settings,
            load_plan(settings.plan),  # changes are recorded on the plan file's versions
            first.codigo_hito,
            cycle_id,
            text(language, "mesa.simulated.new_dates"),
            director,
            end=plan.end,
        )
        changed.append(first.codigo_hito)
    return {"pack": {k: str(v) for k, v in pack.items()}, "agreements": made, "changes": changed}


def director_follows_up(settings: Settings, plan: Plan, cycle_id: str) -> list[str]:
    """The director closes each open «send your report» agreement of the cycle whose owner has
    since had a file accepted (the others stay open for the next session)."""
    language = language_of(settings, plan)
    pending = text(language, "mesa.simulated.pending_report", cycle_id=cycle_id)
    closed = []
    for agreement in agreements.agreements(settings, plan.id, only_open=True):
        if agreement.cycle_id != cycle_id or agreement.text != pending:
            continue
        with session(settings.database) as db:
            delivered = agreement.owner in standing_files(db, plan.id, cycle_id)
        if delivered:
            ref = agreements.reference(agreement)
            note = text(language, "mesa.simulated.received")
            agreements.close(settings, plan, ref, note, plan.coordinator.director.email)
            closed.append(ref)
    return closed


def the_mesa_meets(settings: Settings, plan: Plan, cycle_id: str) -> dict[str, str]:
    """A cycle's whole session, once its report is published: the director convenes it, civil
    society assesses, the Mesa meets, the director approves the communiqué; where the papers
    are (``communique_html``, ``communique_markdown``, ``agenda_html``, ``deck_html``…)."""
    director_convenes(settings, plan, cycle_id)
    civil_society_assesses(settings, plan, cycle_id)
    held = mesa_meets(settings, plan, cycle_id)
    papers = dict(held["pack"])  # type: ignore[call-overload]
    written = director_approves_communique(settings, plan, cycle_id)
    papers.update({f"communique_{kind}": path for kind, path in written.items()})
    return papers


def director_approves_communique(settings: Settings, plan: Plan, cycle_id: str) -> dict[str, str]:
    """The director approves the drafted communiqué; where its HTML and Markdown are."""
    approved = communique.approve(settings, plan, cycle_id, plan.coordinator.director.email)
    paths: dict[str, Path] = communique.write(settings, approved)
    return {kind: str(path) for kind, path in paths.items()}
