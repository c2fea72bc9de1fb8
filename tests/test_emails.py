"""Every email as its reader receives it: links instead of server paths and commands, one
greeting and one signature (the directorate's), who is missing named, warnings that say they do
not block the delivery, grouped by kind, Spanish that agrees with its nouns, a returned file
answered in its thread with the file attached, and the demo's people writing the plan's language.

Each message here is the one a real SMTP server (aiosmtpd on loopback) received from yagmail.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from email.message import EmailMessage, Message
from pathlib import Path
from types import SimpleNamespace

import typer.main

from hitos_cli import app
from tasks.cycle.notices import all_delivered_email
from tasks.cycle.reminders import reminder_email
from tasks.cycle.requests import build_request, open_cycle_record, request_email
from tasks.intake.process import process
from tasks.intake.replies import unanswered
from tasks.intake.store import store
from tasks.mail.inbox import Attachment, Received
from tasks.mail.outgoing import compose, message_id, send_all
from tasks.people.accounts import add_user
from tasks.people.notices import review_digest
from tasks.people.review import return_submission
from tasks.plans.plan import Plan
from tasks.publication.approval import check_publications, consolidate_draft, publish_draft
from tasks.settings import Settings
from tasks.simulation import filled_workbook, reviewers_review
from tasks.storage.ledger import session
from tests.test_intake_corpus import Context, filled

CHROMIUM = Path("/usr/bin/chromium")
CYCLE = "2023-03"
DIRECTOR = "director@gae.example"
REVIEWER = "revisora@gae.example"
COMMANDS = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
URL = re.compile(r"https?://[^\s<>\"']+")
PATH = re.compile(r"(?:^|[\s(«\"'>:])(/[\w.-]+/[\w./-]+)")
COMMAND = re.compile(rf"\bhitos ({'|'.join(COMMANDS)})\b")


def parts(message: Message) -> tuple[str, str]:
    """The plain-text and HTML parts, as received."""
    assert isinstance(message, EmailMessage)  # parsed with policy.default
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    return plain.get_content(), html.get_content()


def attachments(message: Message) -> dict[str, bytes]:
    found = {}
    for part in message.walk():
        payload = part.get_payload(decode=True)
        if part.get_filename() and isinstance(payload, bytes):
            found[str(part.get_filename())] = payload
    return found


def deliver(
    settings: Settings,
    plan: Plan,
    code: str,
    data: bytes | None = None,
    cycle_id: str = CYCLE,
    opened: date = date(2023, 3, 1),
) -> tuple[int, str]:
    """A workbook from the institution's liaison through intake; its submission and the
    Message-ID it came with."""
    cycle = open_cycle_record(settings, plan, cycle_id, opened)
    request = build_request(settings, plan, cycle, plan.institution(code))
    data = data if data is not None else filled_workbook(request, code, False, on=opened)
    their_id = f"<{code}-{len(data)}@{code.lower()}.example>"
    received = Received(
        their_id,
        "mail",
        plan.institution(code).liaison.email,
        "Avances",
        [Attachment(f"avances-{code}.xlsx", data)],
    )
    [submission] = store(settings, [received])
    process(settings, plan)
    send_all(settings, unanswered(settings, plan))
    return submission, their_id


def mingob_workbook(settings: Settings, plan: Plan, cycle_id: str, opened: date, **changes):
    cycle = open_cycle_record(settings, plan, cycle_id, opened)
    template = build_request(settings, plan, cycle, plan.institution("MINGOB")).read_bytes()
    rows: dict[str, Mapping[str, object]] = changes
    return filled(Context(plan, template), **rows)


def a_whole_cycle(settings: Settings, plan: Plan) -> None:
    """Every kind of email a cycle sends a person: requests, replies (accepted, with warnings,
    rejected), a return, a reminder, the reviewers' digest, the draft, the publication, the
    published version out of date, "all delivered" and a bounce."""
    add_user(settings, REVIEWER, "reviewer", "una clave larga")
    cycle = open_cycle_record(settings, plan, CYCLE, date(2023, 3, 1))
    send_all(
        settings,
        [
            request_email(plan, cycle, i, build_request(settings, plan, cycle, i))
            for i in plan.reporting_institutions()
        ],
    )
    deliver(settings, plan, "MINGOB")
    careless = build_request(settings, plan, cycle, plan.institution("MINEDUC"))
    deliver(settings, plan, "MINEDUC", filled_workbook(careless, "MINEDUC", True))
    returned, _ = deliver(settings, plan, "SESAN")
    return_submission(settings, plan, returned, REVIEWER, "Falta el acta de la sesión.")
    marn = plan.institution("MARN")
    reminder = reminder_email(settings, plan, cycle, marn, date(2023, 3, 10))
    digest = review_digest(settings, plan, date(2023, 3, 10))
    assert reminder is not None and digest is not None
    send_all(settings, [reminder, digest])
    consolidate_draft(settings, plan, CYCLE)
    publish_draft(settings, plan, CYCLE, DIRECTOR)
    deliver(settings, plan, "MSPAS")
    check_publications(settings, plan)
    bounce = SimpleNamespace(addresses="enlace@marn.example", reason="550 5.1.1 No such user")
    request = SimpleNamespace(
        to=marn.liaison.email, kind="request", subject="Solicitud", cycle_id=CYCLE
    )
    send_all(
        settings,
        [
            all_delivered_email(settings, plan, cycle),
            compose(
                "bounce_notice",
                key="test/bounce",
                kind="bounce-notice",
                to=[DIRECTOR],
                subject="Correo no entregado",
                plan=plan,
                bounce=bounce,
                email=request,
                institution=marn,
                console=settings.console,
            ),
        ],
    )


def assert_no_path_or_command(messages: Sequence[Message], home: str) -> None:
    """No part of any email names a path on the server or a ``hitos`` command."""
    for message in messages:
        for body in parts(message):
            assert home not in body and ".hitos" not in body, message["Subject"]
            assert COMMAND.search(body) is None, message["Subject"]
            assert PATH.findall(URL.sub("", body)) == [], message["Subject"]


def test_no_email_names_a_server_path_or_a_command(settings, plan, smtp):
    a_whole_cycle(settings, plan)

    assert_no_path_or_command([m for _, m in smtp.messages], str(settings.home))
    kinds = {str(m["Subject"]).split("·")[0] for _, m in smtp.messages}
    assert len(kinds) >= 10, kinds  # requests, replies, return, reminder, digest, draft…
    console = [u for _, m in smtp.messages for u in URL.findall(parts(m)[0])]
    assert f"{settings.console}/ciclos/{CYCLE}/publicar" in console
    assert f"{settings.console}/ciclos/{CYCLE}/informes/1/pdf" in console
    assert f"{settings.console}/ciclos/{CYCLE}/consolidacion" in console


def test_every_email_greets_with_one_greeting_and_signs_as_the_directorate(settings, plan, smtp):
    a_whole_cycle(settings, plan)

    for _, message in smtp.messages:
        plain, html = parts(message)
        assert plain.startswith("Estimado/a"), message["Subject"]
        assert re.match(r"Estimado/a( [^:\n]+)?:\n", plain), plain[:80]
        assert "Atentamente,\nDirección de Gobierno Abierto\n" in plain, message["Subject"]
        assert "Dirección de Gobierno Abierto · Quinto Plan" in html
        assert "enviado por Hitos" not in plain + html
    [report] = [m for _, m in smtp.messages if "Informe consolidado" in str(m["Subject"])]
    assert "Atentamente,<br>Dirección de Gobierno Abierto" in parts(report)[1]


def test_the_draft_and_the_report_name_who_did_not_deliver(settings, plan, smtp, tmp_path):
    a_whole_cycle(settings, plan)

    [draft] = [m for m in smtp.to(DIRECTOR) if "Borrador" in str(m["Subject"])]
    plain, html = parts(draft)
    assert "Instituciones que entregaron: 1 de 11" in plain  # MINGOB; SESAN's came back
    named = plain.split("Sin entregar (10):\n")[1].split("\n\n")[0].splitlines()
    assert len(named) == 10
    assert "    - MARN (Ministerio de Ambiente y Recursos Naturales)" in named
    assert "    - SESAN (Secretaría de Seguridad Alimentaria y Nutricional de la Presidencia)" in (
        named
    )
    assert not any("MINGOB" in line for line in named)
    assert "<li>MARN (Ministerio de Ambiente y Recursos Naturales)</li>" in html
    assert width_at(html, tmp_path, 390) == 390  # its links wrap on a phone
    [report] = [m for m in smtp.to(DIRECTOR) if "Informe consolidado" in str(m["Subject"])]
    assert "Sin entregar (10):" in parts(report)[0]


def width_at(html: str, folder: Path, width: int) -> int:
    """How wide the HTML part lays out in Chromium at ``width`` px (no sideways scroll: equal)."""
    from playwright.sync_api import sync_playwright

    page_file = folder / f"email-{width}.html"
    page_file.write_text(html, encoding="utf-8")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": width, "height": 800})
            page.goto(page_file.as_uri())
            page.screenshot(path=str(folder / f"email-{width}.png"), full_page=True)
            return int(page.evaluate("document.documentElement.scrollWidth"))
        finally:
            browser.close()


def test_a_file_with_warnings_is_told_they_do_not_block_it_grouped_by_kind(
    settings, plan, smtp, tmp_path
):
    # In August 2023 most of MINGOB's milestones are past their end date: all under way.
    under_way = {
        code.replace(".", "_"): {
            "estado": "Iniciado",
            "avance_pct": 50,
            "descripcion_avance": f"Avances del hito {code}.",
            "evidencia_url": f"https://mingob.example/ga/{code}",
        }
        for code in ("1.1", "1.2", "1.3", "1.4", "1.5")
    }
    data = mingob_workbook(settings, plan, "2023-08", date(2023, 8, 1), **under_way)
    deliver(settings, plan, "MINGOB", data, "2023-08", date(2023, 8, 1))

    [reply] = smtp.to("enlace@mingob.example")
    plain, html = parts(reply)
    assert "Qué corregir" not in plain + html
    assert "ADVERTENCIAS (NO IMPIDEN LA ENTREGA)" in plain
    assert "<b>Advertencias (no impiden la entrega)</b>" in html
    assert plain.count("no necesita reenviarlo") == 1
    assert "la revisión todavía puede devolverle el archivo" in plain
    assert plain.count("Hitos con la fecha de fin vencida") == 1
    overdue = [m for m in plan.milestones_of("MINGOB") if m.end < date(2023, 8, 15)]
    assert len(overdue) >= 2
    listed = re.search(r"Hitos: ([\d., ]+)", plain)
    assert listed is not None
    assert listed.group(1).strip().split(", ") == [m.code for m in overdue]
    assert "explique el atraso y la nueva fecha prevista en «Observaciones»" in plain
    assert "debía terminar" not in plain  # one sentence for the group, not one per milestone
    assert plain.startswith("Estimado/a Enlace de Gobierno Abierto del MINGOB:")
    assert width_at(html, tmp_path, 390) == 390  # read on a phone without scrolling sideways


def test_institutions_take_their_article_and_cycles_read_as_spanish_dates(settings, plan, smtp):
    cycle = open_cycle_record(settings, plan, CYCLE, date(2023, 3, 1))
    data = plan.model_dump()
    for institution in data["institutions"]:
        if institution["code"] == "GAE":  # a name the rule would give «la»: the plan says «los»
            institution.update(article="los", name=f"Servicios de la {institution['name']}")
    secretariat = Plan.model_validate(data)
    mails = [
        request_email(p, cycle, p.institution(code), build_request(settings, p, cycle, i))
        for p, code in ((plan, "MINGOB"), (plan, "SESAN"), (plan, "CoST"), (secretariat, "GAE"))
        for i in [p.institution(code)]
    ]
    texts = [m.text for m in mails]

    assert "los hitos a cargo del Ministerio de Gobernación." in texts[0]
    assert "a cargo de la Secretaría de Seguridad Alimentaria" in texts[1]
    assert "a cargo de Iniciativa de Transparencia" in texts[2]  # no rule for «Iniciativa»
    assert "a cargo de los Servicios de la Comisión" in texts[3]  # the plan's own article
    assert "ciclo de seguimiento de marzo de 2023 del Quinto Plan" in texts[0]
    assert "a cargo <strong>del Ministerio de Gobernación</strong>" in mails[0].html


def test_a_returned_file_is_answered_in_its_thread_with_the_file_attached(settings, plan, smtp):
    complete = mingob_workbook(settings, plan, CYCLE, date(2023, 3, 1))  # no warnings
    submission, their_id = deliver(settings, plan, "MINGOB", complete)
    accepted = smtp.to("enlace@mingob.example")[-1]

    return_submission(settings, plan, submission, REVIEWER, "Falta el acta de la sesión.")

    returned = smtp.to("enlace@mingob.example")[-1]
    assert "devuelto" in str(returned["Subject"])
    assert returned["In-Reply-To"] == their_id
    assert their_id in str(returned["References"]).split()
    assert accepted["In-Reply-To"] == their_id  # as the intake reply was
    files = attachments(returned)
    assert list(files) == ["avances-MINGOB.xlsx"]
    with session(settings.database) as db:
        from tasks.storage import filestore
        from tasks.storage.ledger import Submission

        sub = db.get(Submission, submission)
        assert sub is not None
        assert files["avances-MINGOB.xlsx"] == filestore.get(db, sub.sha256)
    assert "Adjuntamos el archivo devuelto" in parts(returned)[0]
    assert returned["Message-ID"] == message_id(
        f"gt-pan5/{CYCLE}/MINGOB/returned/{submission}",
        settings.sender,
        settings.signing_key.get_secret_value(),
    )


def test_a_returned_file_with_warnings_comes_back_marked(settings, plan, smtp):
    submission, _ = deliver(settings, plan, "MINGOB")  # three milestones overdue

    return_submission(settings, plan, submission, REVIEWER, "Explique el atraso del hito 1.1.")

    returned = smtp.to("enlace@mingob.example")[-1]
    [name] = attachments(returned)
    assert name.startswith("corregir-") and name.endswith(".xlsx")
    assert "con sus advertencias marcadas" in parts(returned)[0]


def test_the_simulated_reviewer_writes_in_the_plans_language(settings, plan, smtp):
    english = Settings(**{**settings.model_dump(), "language": "en"})
    accepted, _ = deliver(english, plan, "MINEDUC")

    decided = reviewers_review(english, plan, CYCLE)

    assert decided[accepted] == "returned"
    plain = parts(smtp.to("enlace@mineduc.example")[-1])[0]
    assert "The progress description does not say what was done" in plain
    assert "La descripción" not in plain
