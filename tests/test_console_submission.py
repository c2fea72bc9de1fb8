"""The reviewer's page of one file: the cells its findings name, what the institution reported
per milestone, and what changed since its previous file and since the previous cycle.

Real workbooks built from the real request, through real intake, read back over HTTP.
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from console.app import create_app
from console.site import SESSION_COOKIE
from tasks.core import contract
from tasks.cycle.intake import process, store
from tasks.cycle.requests import build_request, open_cycle_record
from tasks.mail.inbox import Attachment, Received
from tasks.people.accounts import add_user, sign_in
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.simulation import filled_workbook
from tasks.storage.ledger import Cycle
from tasks.workbooks.layout import header

PASSWORD = "una clave larga de prueba"
REVIEWER = "revisora@gae.example"
CELL = re.compile(r'data-label="Celda">([A-Z]+\d+)<')


def opened(settings: Settings, plan: Plan, cycle_id: str) -> Cycle:
    """The cycle, opened on the 1st of its month."""
    year, month = cycle_id.split("-")
    return open_cycle_record(settings, plan, cycle_id, date(int(year), int(month), 1))


def request_workbook(settings: Settings, plan: Plan, code: str, cycle_id: str) -> Path:
    cycle = opened(settings, plan, cycle_id)
    return build_request(settings, plan, cycle, plan.institution(code))


def with_values(workbook: Path | bytes, values: dict[str, dict[str, object]]) -> bytes:
    """The workbook with these values typed into these milestones' rows (by code)."""
    book = load_workbook(io.BytesIO(workbook) if isinstance(workbook, bytes) else workbook)
    sheet = book["Hitos"]
    header_row, columns = header(sheet)
    assert header_row is not None
    for row in range(header_row + 1, sheet.max_row + 1):
        code = str(sheet.cell(row, columns[contract.CODE]).value)
        for column, value in values.get(code, {}).items():
            sheet.cell(row, columns[column]).value = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def sent(
    settings: Settings, plan: Plan, code: str, data: bytes, name: str, at: datetime | None = None
) -> int:
    """A file from the institution's liaison, through intake; its submission id."""
    [submission] = store(
        settings,
        [
            Received(
                message_id=f"<{name}@test>",
                channel="mail",
                sender=plan.institution(code).liaison.email,
                attachments=[Attachment(name, data)],
                arrived=at,
            )
        ],
    )
    process(settings, plan)
    return submission


def reviewer(settings: Settings, plan: Plan) -> TestClient:
    add_user(settings, REVIEWER, "reviewer", PASSWORD)
    client = TestClient(create_app(settings, plan), base_url="https://testserver")
    _, token = sign_in(settings, REVIEWER, PASSWORD, "test")
    client.cookies.set(SESSION_COOKIE, token)
    return client


def test_the_cell_shown_is_the_cell_the_marked_copy_marks(settings, plan, smtp):
    """A liaison inserted a column before the table: every mark moves one column right, and the
    page names the moved cells, not the contract's letters."""
    template = request_workbook(settings, plan, "MINGOB", "2023-03")
    book = load_workbook(io.BytesIO(filled_workbook(template, "MINGOB", careless=True)))
    book["Hitos"].insert_cols(1)
    out = io.BytesIO()
    book.save(out)
    sub = sent(settings, plan, "MINGOB", out.getvalue(), "avances-movido.xlsx")
    client = reviewer(settings, plan)

    shown = set(CELL.findall(client.get(f"/envios/{sub}").text))
    marked_copy = load_workbook(io.BytesIO(client.get(f"/envios/{sub}/archivo/marcado").content))
    marked = {
        cell.coordinate
        for row in marked_copy["Hitos"].iter_rows()
        for cell in row
        if cell.comment is not None
    }

    assert shown and shown == marked
    assert all(not cell.startswith("A") for cell in shown)  # column A is the inserted one


FINDING_CELLS = re.compile(r'data-label="Columna">([^<]*)</td>\s*<td data-label="Celda">([^<]*)<')


@pytest.mark.parametrize("separator", [";", ","])
def test_a_csv_findings_cell_is_where_the_csv_has_that_column(settings, plan, smtp, separator):
    """State and progress first: a finding on either names column A or B of row 2."""
    opened(settings, plan, "2023-03")
    first = [contract.STATE, contract.PROGRESS]
    order = [*first, *(key for key in contract.KEYS if key not in first)]
    values = {key: "" for key in contract.KEYS}
    values.update(institucion="MINGOB", codigo_hito="1.1", estado="Completado", avance_pct="80")
    values.update(descripcion_avance="Hecho.", evidencia_url="https://mingob.example/1")
    lines = [
        separator.join(contract.BY_KEY[key].label("es") for key in order),
        separator.join(values[key] for key in order),
    ]
    sub = sent(settings, plan, "MINGOB", "\n".join(lines).encode(), "avances.csv")
    client = reviewer(settings, plan)

    shown = FINDING_CELLS.findall(client.get(f"/envios/{sub}").text)

    letters = {contract.BY_KEY[key].label("es"): "AB"[i] for i, key in enumerate(first)}
    on_first = [(label, cell) for label, cell in shown if label in letters]
    assert on_first, shown  # «Completado» without 100 names the state or the progress
    assert all(cell == f"{letters[label]}2" for label, cell in on_first)


def reported_file(
    settings: Settings,
    plan: Plan,
    cycle_id: str,
    milestone: dict[str, object],
    name: str,
    at: datetime | None = None,
) -> int:
    """MINGOB's plausible file for the cycle with milestone 1.1 as given; its submission id."""
    request = request_workbook(settings, plan, "MINGOB", cycle_id)
    data = with_values(filled_workbook(request, "MINGOB", False), {"1.1": milestone})
    return sent(settings, plan, "MINGOB", data, name, at)


def started(pct: int) -> dict[str, object]:
    return {
        "estado": "Iniciado" if pct else "No iniciado",
        "avance_pct": pct,
        "descripcion_avance": f"Mesas de trabajo ({pct} %)." if pct else "",
        "evidencia_url": f"https://mingob.example/actas/{pct}" if pct else "",
    }


def test_the_reviewer_sees_each_milestones_values_and_what_changed(settings, plan, smtp):
    """A second MINGOB file takes 1.1 from 50 % back to 0 %: the page says so, and since the
    previous cycle's 25 %."""
    march = reported_file(settings, plan, "2023-03", started(25), "marzo.xlsx")
    first = reported_file(settings, plan, "2023-08", started(50), "agosto-1.xlsx")
    second = reported_file(settings, plan, "2023-08", started(0), "agosto-2.xlsx")
    client = reviewer(settings, plan)

    page = client.get(f"/envios/{second}").text
    row = re.search(r"<strong>1\.1</strong>.*?</tr>", page, re.S)

    assert row is not None
    cells = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row.group(0)))
    assert "0 % · No iniciado" in cells
    assert f"Desde el envío {first}: 50 % Iniciado → 0 % No iniciado" in cells
    assert "cambió la descripción, la evidencia" in cells and "retrocede" in cells
    assert "Desde marzo 2023: 25 % Iniciado → 0 % No iniciado" in cells
    assert f"(envío {first}): 1 de 5 hitos cambió; 1 retrocede." in page
    assert f"marzo 2023 (envío {march}): 1 de 5 hitos cambió; 1 retrocede." in page
    assert f'href="/envios/{first}"' in page and f'href="/envios/{march}"' in page
    assert 'href="https://mingob.example/actas/' not in row.group(0)  # no evidence at 0 %
    unchanged = re.search(r"<strong>1\.2</strong>.*?</tr>", page, re.S)
    assert unchanged is not None and "sin cambios" in unchanged.group(0)
    first_page = client.get(f"/envios/{first}").text
    assert "Es su primer archivo aceptado en este ciclo." in first_page
    assert 'href="https://mingob.example/actas/50"' in first_page


def test_times_are_the_plans_local_time_in_the_languages_way(settings, plan, smtp):
    at = datetime(2023, 3, 8, 16, 5)  # UTC: 10:05 in Guatemala
    sub = reported_file(settings, plan, "2023-03", started(25), "marzo.xlsx", at=at)
    client = reviewer(settings, plan)

    spanish = client.get(f"/envios/{sub}").text
    english_settings = settings.model_copy(update={"language": "en"})
    english = TestClient(create_app(english_settings, plan), base_url="https://testserver")
    english.cookies.update(client.cookies)

    assert "8 mar 2023, 10:05" in spanish and "Horas en hora de Guatemala." in spanish
    assert "8 Mar 2023, 10:05" in english.get(f"/envios/{sub}").text
    assert "16:05" not in spanish and "UTC" not in spanish
