"""The Mesa Técnica: sessions and their invitations, agreements, civil society's assessments,
plan changes and the communiqué, on the small ledger of test_consolidation (two cycles) with a
Mesa of two public institutions and one civil-society organisation, mail to a real SMTP server.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage as Message
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from tasks.mail.local_server import local_smtp_server
from tasks.mesa import agreements, communique, invitations, sessions
from tasks.mesa.agenda import build_agenda
from tasks.mesa.assessments import assess
from tasks.mesa.pack import write_agenda
from tasks.mesa.refused import MesaRefused
from tasks.plans.plan import Plan
from tasks.publication.approval import publish_draft
from tasks.publication.publishing import consolidate
from tasks.settings import Settings
from tests.conftest import RecordingHandler
from tests.network import free_port
from tests.test_consolidation import CURRENT, PLAN, PREVIOUS, build_ledger
from tests.test_ledger_backends import postgres_url  # noqa: F401 (a fixture)

MESA = {
    "members": [
        {"code": "MINGOB", "kind": "public"},
        {"code": "SAT", "kind": "public"},
        {
            "code": "RED",
            "kind": "civil_society",
            "name": "Red Ciudadana de Prueba",
            "representatives": [{"name": "Ana Vocera", "email": "ana@red.example"}],
        },
    ]
}
DIRECTOR = "directora@gae.example"


@dataclass
class Mesa:
    settings: Settings
    plan: Plan
    mail: RecordingHandler

    def attachment(self, message: Message, name: str) -> bytes:
        part = next(p for p in message.iter_attachments() if p.get_filename() == name)
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        return payload


@pytest.fixture(params=["sqlite", "postgresql"])
def mesa(request, tmp_path: Path) -> Iterator[Mesa]:
    """The ledger on SQLite and on PostgreSQL (numbering agreements, one session per cycle and
    JSON minutes are the ledger's to get right on both)."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else ""
    ledger = build_ledger(tmp_path, url)
    settings = Settings(home=tmp_path / "ws", database_url=ledger.url, smtp_port=free_port())
    plan = Plan.model_validate({**PLAN, "mesa": MESA})
    handler = RecordingHandler()
    with local_smtp_server(Path(), Path(), settings.sender, settings.smtp_port, handler=handler):
        yield Mesa(settings, plan, handler)


def published(mesa: Mesa, cycle_id: str) -> None:
    consolidate(mesa.settings, mesa.plan, cycle_id)
    publish_draft(mesa.settings, mesa.plan, cycle_id, DIRECTOR)


def event_of(mesa: Mesa, message: Message) -> tuple[Calendar, Any]:
    calendar = Calendar.from_ical(mesa.attachment(message, "invitacion.ics"))
    return calendar, next(iter(calendar.walk("VEVENT")))


def test_an_invitation_carries_an_icalendar_event_in_the_plans_local_time(mesa):
    sessions.schedule(mesa.settings, mesa.plan, CURRENT, date(2023, 3, 29), "10:00", "Sala GAE")
    sent = invitations.invite(mesa.settings, mesa.plan, CURRENT)

    assert set(sent.values()) == {"sent"}
    assert sorted(r for rcpts, _ in mesa.mail.messages for r in rcpts) == [
        "ana@red.example", "enlace@mingob.example", "enlace@sat.example",
    ]  # fmt: skip
    message = mesa.mail.to("ana@red.example")[0]
    calendar, event = event_of(mesa, message)
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == f"mesa-gt-prueba-{CURRENT}@gae.example"
    assert int(event["SEQUENCE"]) == 0
    start = event.decoded("DTSTART")
    assert start == datetime(2023, 3, 29, 10, 0, tzinfo=ZoneInfo("America/Guatemala"))
    assert event["DTSTART"].params["TZID"] == "America/Guatemala"
    assert [c["TZID"] for c in calendar.walk("VTIMEZONE")] == ["America/Guatemala"]
    assert str(event["LOCATION"]) == "Sala GAE"
    attendees = {str(a).removeprefix("mailto:") for a in event["ATTENDEE"]}
    assert attendees == {"ana@red.example", "enlace@mingob.example", "enlace@sat.example"}
    assert str(event["ORGANIZER"]) == f"mailto:{DIRECTOR}"
    assert "orden-del-dia.pdf" in [p.get_filename() for p in message.iter_attachments()]
    assert "miércoles 29 de marzo de 2023" in message.get_body(("plain",)).get_content()
    assert (
        next(
            p for p in message.iter_attachments() if p.get_filename() == "invitacion.ics"
        ).get_content_type()
        == "text/calendar"
    )


def test_a_change_and_a_cancellation_go_out_under_the_same_uid_with_a_higher_sequence(mesa):
    s, p = mesa.settings, mesa.plan
    sessions.schedule(s, p, CURRENT, date(2023, 3, 29), "10:00", "Sala GAE")
    invitations.invite(s, p, CURRENT)
    assert invitations.invite(s, p, CURRENT) == {
        f"gt-prueba/{CURRENT}/{code}/mesa/0": "skipped" for code in ("MINGOB", "SAT", "RED")
    }  # a rerun sends nothing twice
    assert not sessions.schedule(s, p, CURRENT, date(2023, 3, 29), "10:00", "Sala GAE").changed

    sessions.schedule(s, p, CURRENT, date(2023, 3, 30), "09:30", "Sala GAE", reason="Feriado")
    invitations.invite(s, p, CURRENT)
    sessions.cancel(s, p, CURRENT, "Sin quórum")
    invitations.invite(s, p, CURRENT)

    events = [event_of(mesa, m) for m in mesa.mail.to("ana@red.example")]
    assert [int(e["SEQUENCE"]) for _, e in events] == [0, 1, 2]
    assert len({str(e["UID"]) for _, e in events}) == 1
    moved = events[1][1].decoded("DTSTART")
    assert moved == datetime(2023, 3, 30, 9, 30, tzinfo=ZoneInfo("America/Guatemala"))
    calendar, cancelled = events[2]
    assert (str(calendar["METHOD"]), str(cancelled["STATUS"])) == ("CANCEL", "CANCELLED")
    subjects = [m["Subject"] for m in mesa.mail.to("ana@red.example")]
    assert "Cambio de convocatoria" in subjects[1] and "Sesión cancelada" in subjects[2]


def test_a_session_needs_a_time_a_place_and_an_open_cycle(mesa):
    with pytest.raises(MesaRefused, match="HH:MM"):
        sessions.schedule(mesa.settings, mesa.plan, CURRENT, date(2023, 3, 29), "10h", "Sala")
    with pytest.raises(MesaRefused, match="does not exist"):
        sessions.schedule(mesa.settings, mesa.plan, "2030-03", date(2030, 3, 29), "10:00", "Sala")


def test_an_agreement_is_emailed_to_its_owner_and_opens_the_next_agenda(mesa):
    s, p = mesa.settings, mesa.plan
    sessions.schedule(s, p, PREVIOUS, date(2022, 8, 31), "10:00", "Sala GAE")
    recorded = agreements.add(
        s, p, PREVIOUS, "Publicar el inventario de datos", "mingob", date(2022, 10, 31), "1.2"
    )

    assert recorded.agreement.owner == "MINGOB" and recorded.agreement.number == 1
    notice = mesa.mail.to("enlace@mingob.example")[0]
    body = notice.get_body(("plain",)).get_content()
    assert "Publicar el inventario de datos" in body and "31 de octubre de 2022" in body
    again = agreements.add(
        s, p, PREVIOUS, "Publicar el inventario de datos", "MINGOB", date(2022, 10, 31), "1.2"
    )
    assert again.agreement.id == recorded.agreement.id and set(again.sent.values()) == {"skipped"}

    agenda = build_agenda(s, p, CURRENT, "es")
    assert [(a.cycle_id, a.number, a.state) for a in agenda.carried] == [(PREVIOUS, 1, "open")]
    sessions.schedule(s, p, CURRENT, date(2023, 3, 29), "10:00", "Sala GAE")
    page = write_agenda(s, p, CURRENT)["agenda_html"].read_text(encoding="utf-8")
    assert page.index("Publicar el inventario de datos") < page.index("Estado del plan</h2>")

    agreements.close(s, p, f"{PREVIOUS}/1", "Inventario publicado", DIRECTOR)
    assert build_agenda(s, p, CURRENT, "es").carried == []


def test_requests_and_reminders_list_the_owners_open_agreements(mesa):
    from tasks.cycle.reminders import reminder_email
    from tasks.cycle.requests import request_email

    s, p = mesa.settings, mesa.plan
    sessions.schedule(s, p, PREVIOUS, date(2022, 8, 31), "10:00", "Sala GAE")
    agreements.add(s, p, PREVIOUS, "Enviar el acta de la mesa de datos", "SAT", date(2023, 3, 10))
    cycle = build_ledger_cycle(s, CURRENT)
    sat = p.institution("SAT")
    open_ones = agreements.open_for(s, p.id, "SAT")
    # A cycle's opening asks once for every owner's (``open_by_owner``): the same lists.
    by_owner = agreements.open_by_owner(s, p.id)
    assert [a.id for a in by_owner["SAT"]] == [a.id for a in open_ones]
    assert "MINGOB" not in by_owner
    request = request_email(p, cycle, sat, Path("libro.xlsx"), agreements=open_ones)
    assert "Enviar el acta de la mesa de datos" in request.text
    assert f"{PREVIOUS}/1" in request.html
    reminder = reminder_email(s, p, cycle, sat, date(2023, 3, 24))
    assert reminder is not None and "Enviar el acta de la mesa de datos" in reminder.text
    mingob = reminder_email(s, p, cycle, p.institution("MINGOB"), date(2023, 3, 24))
    assert mingob is not None and "Mesa Técnica pendientes" not in mingob.text


def build_ledger_cycle(settings: Settings, cycle_id: str):
    from tasks.storage.ledger import session
    from tasks.storage.queries import cycle_of

    with session(settings.database) as db:
        return cycle_of(db, "gt-prueba", cycle_id)


def test_only_a_civil_society_organisation_assesses_and_only_what_the_plan_has(mesa):
    s, p = mesa.settings, mesa.plan
    row = assess(s, p, CURRENT, "1.1", "disagree", "red ciudadana de prueba", "No hay acta.")
    assert (row.organisation, row.verdict) == ("RED", "disagree")
    with pytest.raises(MesaRefused, match="not a civil-society organisation"):
        assess(s, p, CURRENT, "1.1", "agree", "MINGOB", "Todo bien.")
    with pytest.raises(MesaRefused, match="verdict"):
        assess(s, p, CURRENT, "1.1", "maybe", "RED", "No sé.")
    with pytest.raises(MesaRefused, match="not a milestone"):
        assess(s, p, CURRENT, "9.9", "agree", "RED", "Bien.")
    with pytest.raises(MesaRefused, match="http"):
        assess(s, p, CURRENT, "1.1", "agree", "RED", "Bien.", evidence="javascript:alert(1)")


def test_the_agenda_and_the_deck_show_the_self_report_beside_civil_societys_view(mesa):
    from tasks.mesa.pack import write_pack

    s, p = mesa.settings, mesa.plan
    published(mesa, PREVIOUS)
    published(mesa, CURRENT)
    assess(s, p, CURRENT, "1.1", "disagree", "RED", "El portal no muestra los datos.")
    assess(s, p, CURRENT, "2.3", "agree", "RED", "Verificado en el portal.")
    agenda = build_agenda(s, p, CURRENT, "es")
    assert [r.codigo_hito for r in agenda.disputed] == ["1.1"]
    assert [(r.code, r.commitments) for r in agenda.reporters] == [
        ("MINGOB", [(1, ["1.1", "1.2"])]),
        ("SAT", [(2, ["2.3"])]),
    ]

    paths = write_pack(s, p, CURRENT)
    deck = paths["deck_html"].read_text(encoding="utf-8")
    assert deck.count('class="slide"') + deck.count('class="slide portada"') == 4 + 2
    c01 = deck[deck.index('id="C01"') : deck.index('id="C02"')]
    assert "En disputa" in c01 and "El portal no muestra los datos." in c01
    assert "Completado" in c01  # the self-report beside it
    assert paths["deck_pdf"].read_bytes().startswith(b"%PDF")


def test_the_communique_names_who_reported_what_from_the_published_version(mesa):
    s, p = mesa.settings, mesa.plan
    sessions.schedule(s, p, CURRENT, date(2023, 3, 29), "10:00", "Sala GAE")
    with pytest.raises(MesaRefused, match="published"):
        communique.draft(s, p, CURRENT)
    published(mesa, PREVIOUS)
    published(mesa, CURRENT)

    drafted = communique.draft(s, p, CURRENT)
    shape = drafted.as_json()
    assert shape["institutions"] == [
        {"institution": "MINGOB", "commitments": [{"commitment": 1, "milestones": ["1.1", "1.2"]}]},
        {"institution": "SAT", "commitments": [{"commitment": 2, "milestones": ["2.3"]}]},
    ]
    assert shape["next_session"] == {"cycle": "2023-08", "day": None}
    assert [Path(f).suffix for f in shape["files"]] == [".xlsx", ".csv"]
    paths = communique.write(s, drafted)
    markdown = paths["markdown"].read_text(encoding="utf-8")
    assert "# Primera Mesa Técnica de Gobierno Abierto de 2023" in markdown
    assert "- **MINGOB** — Compromiso 1 (hito 1, hito 2)" in markdown
    assert "programada para el mes de agosto 2023" in markdown
    html = paths["html"].read_text(encoding="utf-8")
    for href in [h for k, h in communique.links(drafted, s, paths["html"])]:
        assert (paths["html"].parent / href).is_file()
        assert href in html
    assert "Borrador" in html

    edited = communique.edit(s, p, CURRENT, {"closing": "Gracias a todas las instituciones."})
    assert edited.texts["closing"] == "Gracias a todas las instituciones."
    approved = communique.approve(s, p, CURRENT, DIRECTOR)
    assert (approved.state, approved.approved_by) == ("approved", DIRECTOR)


def test_a_request_after_a_plan_change_uses_the_new_dates_and_leaves_out_a_withdrawn_milestone(
    settings,
):
    from openpyxl import load_workbook

    from tasks.core import contract
    from tasks.cycle.requests import build_request, open_cycle_record
    from tasks.mesa.plan_changes import change, history, version_in_force
    from tasks.people.contacts import current_plan
    from tasks.plans.plan import load_plan
    from tasks.workbooks import layout as workbooks

    plan = load_plan(settings.plan)
    open_cycle_record(settings, plan, "2023-03", date(2023, 3, 1))
    sessions.schedule(settings, plan, "2023-03", date(2023, 3, 29), "10:00", "Sala GAE")
    with pytest.raises(MesaRefused, match="has none"):
        change(settings, plan, "4.5", "2023-08", "Retraso", end=date(2023, 8, 31))
    change(settings, plan, "4.5", "2023-03", "El proveedor entregó tarde", end=date(2023, 8, 31))
    change(settings, plan, "4.6", "2023-03", "Se fusiona con 4.5", withdraw=True)

    in_force = current_plan(settings)
    assert version_in_force(settings, plan.id) == 3
    assert [c.kind for c in history(settings, plan.id)["4.5"]] == ["dates"]
    assert history(settings, plan.id)["4.5"][0].before["end"] == "2023-04-28"
    open_cycle_record(settings, in_force, "2023-08", date(2023, 8, 1))
    from tasks.storage.ledger import session
    from tasks.storage.queries import cycle_of

    with session(settings.database) as db:
        august = cycle_of(db, plan.id, "2023-08")
    assert august is not None
    path = build_request(settings, in_force, august, in_force.institution("MINEDUC"))
    book = load_workbook(path)
    sheet = next(s for s in book.worksheets if contract.is_sheet(s.title, "milestones"))
    header_row, header = workbooks.header(sheet)
    assert header_row is not None
    rows = {
        sheet.cell(r, header[contract.CODE]).value: sheet.cell(r, header["fecha_fin"]).value
        for r in range(header_row + 1, sheet.max_row + 1)
        if sheet.cell(r, header[contract.CODE]).value
    }
    assert "4.6" not in rows
    assert rows["4.5"].date() == date(2023, 8, 31)


def test_the_board_shows_civil_societys_voice_agreements_and_the_approved_communique(mesa):
    from frictionless import validate

    from tasks.publication.board import build_board
    from tests.test_board import Text, csv_rows

    s, p = mesa.settings, mesa.plan
    sessions.schedule(s, p, CURRENT, date(2023, 3, 29), "10:00", "Sala GAE")
    published(mesa, PREVIOUS)
    published(mesa, CURRENT)
    assess(s, p, CURRENT, "1.1", "disagree", "RED", "El portal no muestra los datos.",
           evidence="https://red.example/revision-1-1")  # fmt: skip
    agreements.add(s, p, CURRENT, "Publicar el acta de entrega", "SAT", date(2023, 4, 14))
    agreements.add(s, p, CURRENT, "Revisar el portal con sociedad civil", "MINGOB",
                   date(2023, 5, 2), "1.1")  # fmt: skip
    agreements.close(s, p, f"{CURRENT}/1", "Acta publicada", DIRECTOR)
    communique.approve(s, p, CURRENT, DIRECTOR)
    folder = build_board(s, p).folder

    c01 = Text.of((folder / "compromisos" / "C01.html").read_text("utf-8"))
    assert "Completado" in c01 and "En disputa" in c01
    assert "En desacuerdo (Red Ciudadana de Prueba): El portal no muestra los datos." in c01
    ogp = Text.of((folder / "ogp.html").read_text("utf-8"))
    assert "1 en disputa 1.1" in ogp
    page = Text.of((folder / "mesa" / "index.html").read_text("utf-8"))
    assert "2023-03/1 Publicar el acta de entrega" in page and "Cumplido" in page
    assert "2023-03/2 Revisar el portal con sociedad civil" in page and "Abierto" in page
    said = Text.of((folder / "mesa" / f"{CURRENT}.html").read_text("utf-8"))
    assert "MINGOB — Compromiso 1 (hito 1, hito 2)" in said and "Borrador" not in said
    assert (folder / "mesa" / "../datos" / CURRENT / "v1" / f"gt-prueba-{CURRENT}.csv").is_file()

    rows = csv_rows(folder / "datos" / "valoraciones.csv")
    assert [(r["codigo_hito"], r["organizacion"], r["valoracion"]) for r in rows] == [
        ("1.1", "RED", "disagree")
    ]
    report = validate(folder / "datos" / "datapackage.json")
    assert report.valid, report.flatten(["resourceName", "rowNumber", "fieldName", "type"])
    everything = " ".join(
        f.read_text("utf-8", errors="ignore")
        for f in folder.rglob("*")
        if f.suffix in (".html", ".csv", ".json")
    )
    for address in ("ana@red.example", "enlace@mingob.example", DIRECTOR, "@gae.example"):
        assert address not in everything


def test_a_broken_assessment_row_fails_frictionless_validation(mesa, tmp_path):
    from frictionless import validate

    from tasks.publication.board import build_board

    s, p = mesa.settings, mesa.plan
    published(mesa, CURRENT)
    assess(s, p, CURRENT, "1.1", "agree", "RED", "Verificado.")
    folder = build_board(s, p).folder / "datos"
    broken = (folder / "valoraciones.csv").read_text("utf-8").replace(",agree,", ",quizas,")
    (folder / "valoraciones.csv").write_text(broken, "utf-8")
    report = validate(folder / "datapackage.json")
    assert not report.valid
    assert "constraint-error" in {e.type for task in report.tasks for e in task.errors}


def test_a_civil_society_account_speaks_for_one_organisation_of_the_mesa(mesa):
    from tasks.mesa.accounts import add_member_account, organisation_of

    account, code = add_member_account(
        mesa.settings, mesa.plan, "Ana@Red.example", "Red Ciudadana de Prueba", "una clave larga"
    )
    assert (account.role, code) == ("cso", "RED")
    assert organisation_of(mesa.settings, "ana@red.example") == "RED"
    assert organisation_of(mesa.settings, DIRECTOR) == ""
    with pytest.raises(MesaRefused, match="not a civil-society organisation"):
        add_member_account(mesa.settings, mesa.plan, "x@sat.example", "SAT", "una clave larga")


def test_an_approved_communique_keeps_the_next_session_it_announced_and_the_last_has_none(mesa):
    s, p = mesa.settings, mesa.plan
    sessions.schedule(s, p, PREVIOUS, date(2022, 8, 31), "10:00", "Sala GAE")
    published(mesa, PREVIOUS)
    published(mesa, CURRENT)
    communique.approve(s, p, PREVIOUS, DIRECTOR)
    sessions.schedule(s, p, CURRENT, date(2023, 3, 29), "10:00", "Sala GAE")

    said = communique.draft(s, p, PREVIOUS).as_json()
    assert said["next_session"] == {"cycle": CURRENT, "day": None}  # as approved, in August
    ended = p.model_copy(update={"end": date(2023, 6, 30)})
    assert communique.draft(s, ended, CURRENT).as_json()["next_session"] is None
