"""Simulated institutions for the demo: they fill their workbooks and mail them back.

They stand for the outside world, so they use only what a liaison has (the workbook they received
and an email client) and nothing of Hitos' ledger.
"""

from __future__ import annotations

import io
import random
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from tasks.deadlines import add_business_days
from tasks.mail import Mailer, Outgoing
from tasks.plans import Plan
from tasks.requests import open_cycle_record, request_copy
from tasks.settings import Settings

SILENT = "MARN"
CARELESS = "MINEDUC"


def filled_workbook(request: Path, institution: str, careless: bool) -> bytes:
    """The request workbook filled in plausibly; ``careless`` adds the mistakes liaisons make."""
    book = load_workbook(request)
    sheet = book["Hitos"]
    header = {cell.value: cell.column for cell in sheet[1]}
    rng = random.Random(institution)
    for number, row in enumerate(range(2, sheet.max_row + 1)):
        code = sheet.cell(row, header["codigo_hito"]).value
        state = rng.choice(["No iniciado", "Iniciado", "Iniciado", "Completado", "Completado"])
        progress = {"No iniciado": 0, "Iniciado": rng.randrange(10, 95, 5), "Completado": 100}[
            state
        ]
        if careless and number == 0:
            state, progress = "Completado", 80
        values = {
            "estado": state,
            "avance_pct": progress,
            "descripcion_avance": "" if state == "No iniciado" else f"Avances del hito {code}.",
            "evidencia_url": ""
            if state == "No iniciado" or (careless and number == 1)
            else f"https://{institution.lower()}.example/gobierno-abierto/{code}",
        }
        if careless and number == 1 and state == "No iniciado":
            values.update(estado="Iniciado", avance_pct=40, descripcion_avance="Se inició.")
        for column, value in values.items():
            sheet.cell(row, header[column]).value = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def send_back(
    settings: Settings, plan: Plan, institution: str, data: bytes, attempt: int, on: datetime
) -> None:
    """Mail a filled workbook from the institution's liaison to the directorate, dated ``on``."""
    liaison = plan.institution(institution).liaison.email
    folder = settings.folder("simulation")
    path = folder / f"avances-{institution}-{attempt}.xlsx"
    if not path.exists():  # sending again, a liaison attaches the file they already sent
        path.write_bytes(data)
    mail = Outgoing(
        key=f"simulation/{institution}/{attempt}",
        kind="simulation",
        to=[settings.sender],
        subject=f"RE: [Gobierno Abierto] Solicitud de avances · {institution}",
        html="<p>Adjunto el reporte de avances.</p>",
        text="Adjunto el reporte de avances.",
        attachments=[path],
        date=on,
    )
    client = Mailer(
        user=liaison,
        host=settings.smtp_host,
        port=settings.smtp_port,
        smtp_ssl=False,
        smtp_starttls=False,
        smtp_skip_login=True,
        soft_email_validation=False,
    )
    try:
        client.deliver(mail, liaison)
    finally:
        client.close()


def answer_time(settings: Settings, plan: Plan, cycle_id: str, business_days: int) -> datetime:
    """Ten in the morning, Guatemala time, some business days after the cycle opened."""
    opened = open_cycle_record(settings, plan, cycle_id).opened_on
    day = add_business_days(opened, business_days, plan.country)
    return datetime.combine(day, time(10), ZoneInfo(plan.timezone))


def simulated_day(settings: Settings, plan: Plan, cycle_id: str) -> date:
    """The day the demo pretends it is when it reminds: two business days before the deadline."""
    return add_business_days(open_cycle_record(settings, plan, cycle_id).deadline, -2, plan.country)


def first_answers(settings: Settings, plan: Plan, cycle_id: str) -> list[str]:
    """Every institution but the silent one answers, three business days after opening."""
    answered = []
    on = answer_time(settings, plan, cycle_id, 3)
    for institution in plan.reporting_institutions():
        if institution.code == SILENT:
            continue
        request = request_copy(settings, plan, cycle_id, institution.code)
        careless = institution.code == CARELESS
        send_back(
            settings,
            plan,
            institution.code,
            filled_workbook(request, institution.code, careless),
            1,
            on,
        )
        answered.append(institution.code)
    return answered


def corrections(settings: Settings, plan: Plan, cycle_id: str) -> list[str]:
    """The careless institution reads the reply and sends a corrected workbook, days later."""
    request = request_copy(settings, plan, cycle_id, CARELESS)
    corrected = filled_workbook(request, CARELESS, careless=False)
    send_back(settings, plan, CARELESS, corrected, 2, answer_time(settings, plan, cycle_id, 6))
    return [CARELESS]
