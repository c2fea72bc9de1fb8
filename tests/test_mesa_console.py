"""The Mesa in the console, over HTTP: civil society reads the cycle and assesses in its own
organisation's name and reaches nothing else; the director convenes the session, records the
minutes and agreements, and edits and approves the communiqué. The small two-cycle ledger of
test_consolidation with a Mesa, both cycles published, mail to a real SMTP server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar

from console.app import create_app
from tasks.mail.local_server import local_smtp_server
from tasks.mesa.accounts import add_member_account
from tasks.mesa.agreements import agreements
from tasks.mesa.assessments import current
from tasks.mesa.sessions import session_of
from tasks.people.accounts import add_user
from tasks.plans.plan import Plan
from tasks.publication.approval import publish_draft
from tasks.publication.publishing import consolidate
from tasks.settings import Settings
from tasks.storage.ledger import session
from tests.conftest import RecordingHandler
from tests.network import free_port
from tests.test_console import csrf_of
from tests.test_consolidation import CURRENT, PLAN, PREVIOUS, build_ledger
from tests.test_mesa import MESA

PASSWORD = "una clave larga de prueba"
DIRECTOR, REVIEWER, SOCIETY = "directora@gae.example", "revisora@gae.example", "ana@red.example"


@dataclass
class World:
    settings: Settings
    plan: Plan
    smtp: RecordingHandler


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    ledger = build_ledger(tmp_path)
    settings = Settings(home=tmp_path / "ws", database_url=ledger.url, smtp_port=free_port())
    plan = Plan.model_validate({**PLAN, "mesa": MESA})
    handler = RecordingHandler()
    with local_smtp_server(Path(), Path(), settings.sender, settings.smtp_port, handler=handler):
        for cycle_id in (PREVIOUS, CURRENT):
            consolidate(settings, plan, cycle_id)
            publish_draft(settings, plan, cycle_id, DIRECTOR)
        add_user(settings, DIRECTOR, "director", PASSWORD)
        add_user(settings, REVIEWER, "reviewer", PASSWORD)
        add_member_account(settings, plan, SOCIETY, "RED", PASSWORD)
        yield World(settings, plan, handler)


def signed_in(world: World, email: str) -> tuple[TestClient, str]:
    client = TestClient(create_app(world.settings, world.plan), base_url="https://testserver")
    token = csrf_of(client.get("/login").text)
    answer = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf": token}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    return client, answer.headers["location"]


def test_civil_society_lands_on_the_mesa_assesses_in_its_own_name_and_reaches_nothing_else(world):
    client, landing = signed_in(world, SOCIETY)
    assert landing == "/mesa"
    page = client.get("/mesa")
    assert page.status_code == 200 and str(page.url).endswith(f"/mesa/{CURRENT}")
    assert "Usted valora en nombre de RED" in page.text
    token = csrf_of(page.text)

    saved = client.post(
        f"/mesa/{CURRENT}/valoraciones/1.1",
        data={
            "csrf": token,
            "verdict": "disagree",
            "note": "El portal no lo muestra.",
            "org": "OTRA",
        },
    )
    assert saved.status_code == 200 and "Valoración guardada" in saved.text
    with session(world.settings.database) as db:
        [row] = current(db, world.plan.id, [CURRENT])
    assert (row.milestone, row.organisation, row.verdict) == ("1.1", "RED", "disagree")
    assert "En disputa" in client.get(f"/mesa/{CURRENT}").text

    refused = client.post(
        f"/mesa/{CURRENT}/valoraciones/1.1", data={"csrf": token, "verdict": "agree", "note": ""}
    )
    assert refused.status_code == 400 and "la nota es obligatoria" in refused.text
    assert client.post(f"/mesa/{CURRENT}/valoraciones/1.1",
                       data={"verdict": "agree", "note": "x"}).status_code == 403  # fmt: skip
    for path in ("/", f"/ciclos/{CURRENT}", f"/ciclos/{CURRENT}/consolidacion",
                 f"/mesa/{CURRENT}/comunicado"):  # fmt: skip
        assert client.get(path).status_code == 403, path
    for path in (f"/mesa/{CURRENT}/sesion", f"/mesa/{CURRENT}/acuerdos",
                 f"/ciclos/{CURRENT}/consolidar"):  # fmt: skip
        assert client.post(path, data={"csrf": token}).status_code == 403, path


def test_the_directorate_reads_the_mesa_but_only_civil_society_assesses(world):
    client, landing = signed_in(world, REVIEWER)
    assert landing == "/"
    page = client.get(f"/mesa/{CURRENT}")
    assert page.status_code == 200 and "Usted valora" not in page.text
    answer = client.post(
        f"/mesa/{CURRENT}/valoraciones/1.1",
        data={"csrf": csrf_of(page.text), "verdict": "agree", "note": "Bien."},
    )
    assert answer.status_code == 403


def test_the_director_convenes_records_the_minutes_and_approves_the_communique(world):
    client, _ = signed_in(world, DIRECTOR)
    token = csrf_of(client.get(f"/mesa/{CURRENT}").text)

    convened = client.post(
        f"/mesa/{CURRENT}/sesion",
        data={"csrf": token, "day": "2023-03-29", "at": "10:00", "place": "Sala GAE"},
    )
    assert convened.status_code == 200 and "Sesión convocada" in convened.text
    invited = world.smtp.to("ana@red.example")
    assert len(invited) == 1
    ics = next(p for p in invited[0].iter_attachments() if p.get_filename() == "invitacion.ics")
    event = next(iter(Calendar.from_ical(ics.get_payload(decode=True)).walk("VEVENT")))
    assert event.decoded("SEQUENCE") == 0

    present = {"csrf": token, "present": ["MINGOB", "RED"]}
    assert client.post(f"/mesa/{CURRENT}/acta", data=present).status_code == 200
    found = session_of(world.settings, world.plan.id, CURRENT)
    assert found is not None and found.present == ["MINGOB", "RED"]
    agreed = client.post(
        f"/mesa/{CURRENT}/acuerdos",
        data={"csrf": token, "text": "Publicar el acta", "owner": "SAT", "due": "2023-04-14"},
    )
    assert agreed.status_code == 200 and "Acuerdo registrado" in agreed.text
    assert [a.owner for a in agreements(world.settings, world.plan.id)] == ["SAT"]
    assert world.smtp.to("enlace@sat.example")  # the owner was told (and invited before)
    closed = client.post(f"/mesa/{CURRENT}/acuerdos/1/cerrar",
                         data={"csrf": token, "note": "Acta publicada"})  # fmt: skip
    assert closed.status_code == 200 and "Acuerdo cerrado" in closed.text

    drafted = client.get(f"/mesa/{CURRENT}/comunicado")
    assert drafted.status_code == 200 and "Borrador" in drafted.text
    assert "MINGOB" in drafted.text and "Compromiso 1 (hito 1, hito 2)" in drafted.text
    edited = client.post(
        f"/mesa/{CURRENT}/comunicado",
        data={
            "csrf": token,
            "context": "Contexto.",
            "presented": "Se presentó.",
            "closing": "Gracias a las instituciones.",
        },
    )
    assert edited.status_code == 200 and "Gracias a las instituciones." in edited.text
    approved = client.post(f"/mesa/{CURRENT}/comunicado/aprobar", data={"csrf": token})
    assert approved.status_code == 200 and "Aprobado por directora@gae.example" in approved.text
    board = world.settings.home / "board" / world.plan.id / "mesa" / f"{CURRENT}.html"
    assert "Gracias a las instituciones." in board.read_text(encoding="utf-8")
    trail = client.get(f"/ciclos/{CURRENT}/historial").text
    for said in ("Convoca o cambia la sesión de la Mesa", "Registra un acuerdo de la Mesa",
                 "Cierra un acuerdo de la Mesa", "Aprueba el comunicado"):  # fmt: skip
        assert said in trail
