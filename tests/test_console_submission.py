"""The reviewer's page of one file: the cells its findings name, what the institution reported
per milestone, and what changed since its previous file and since the previous cycle.

Real workbooks built from the real request, through real intake, read back over HTTP.
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from console.app import create_app
from console.site import SESSION_COOKIE
from tasks.cycle.intake import process, store
from tasks.cycle.requests import build_request, open_cycle_record
from tasks.mail.inbox import Attachment, Received
from tasks.people.accounts import add_user, sign_in
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.simulation import filled_workbook
from tasks.workbooks import contract
from tasks.workbooks.request_workbook import header

PASSWORD = "una clave larga de prueba"
REVIEWER = "revisora@gae.example"
CELL = re.compile(r'data-label="Celda">([A-Z]+\d+)<')


def request_workbook(settings: Settings, plan: Plan, code: str, cycle_id: str) -> Path:
    cycle = open_cycle_record(settings, plan, cycle_id)
    return build_request(settings, plan, cycle, plan.institution(code))


def with_values(template: Path, values: dict[str, dict[str, object]]) -> bytes:
    """The workbook with these values typed into these milestones' rows (by code)."""
    book = load_workbook(template)
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
    open_cycle_record(settings, plan, "2023-03")
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
