"""Replies only to the people Hitos knows: a stranger's file is held, its liaison told once.

Anyone who holds one workbook can write any address in ``From``, ``Reply-To`` or ``Sender``.
Each test mails MINGOB's signed workbook to the workspace Maildir the way a stranger (or a
colleague, or a forger) would, runs one intake as the flow does, and reads what a real SMTP
server on loopback received: the stranger gets nothing, MINGOB's liaison one notice, and one
message never more than one reply, however many workbooks it carries.
"""

from __future__ import annotations

import hashlib
from datetime import date
from email.message import EmailMessage, Message

import pytest
from sqlalchemy import select

from tasks.cycle.requests import build_request, open_cycle_record
from tasks.intake.malformed import unanswered_messages
from tasks.intake.process import process
from tasks.intake.replies import missing_workbook_replies, unanswered
from tasks.intake.store import store_all
from tasks.intake.strangers import stranger_notices
from tasks.mail.inbox import open_maildir
from tasks.mail.outgoing import send_all
from tasks.people.contacts import contact, set_contacts, with_current_contacts
from tasks.settings import Settings
from tasks.storage.ledger import Email, Submission, session
from tests.conftest import SAMPLE_PLAN, free_port
from tests.test_concurrency import at_once
from tests.test_hostile_intake import LIAISON, XLSX, filled
from tests.test_intake_corpus import COLUMNS, Context, as_csv
from tests.test_ledger_backends import postgres_url  # noqa: F401  (fixture)
from tests.test_mail import requests_for

STRANGER = "intruso@evil.example"
COLLEAGUE = "colega@mingob.example"
MANY = 50


@pytest.fixture(scope="module")
def workbooks(tmp_path_factory, plan) -> list[bytes]:
    """MINGOB's signed request workbook filled fifty ways (1.5 at 1 % … 50 %): each accepted."""
    settings = Settings(
        home=tmp_path_factory.mktemp("template") / "ws", smtp_port=free_port(), plan=SAMPLE_PLAN
    )
    cycle = open_cycle_record(settings, plan, "2023-03", date(2023, 3, 1))
    template = build_request(settings, plan, cycle, plan.institution("MINGOB")).read_bytes()
    return [filled(template, progress) for progress in range(1, MANY + 1)]


@pytest.fixture
def requested(settings, plan, smtp) -> Settings:
    """2023-03 open and every request sent (the thread a colleague may answer in)."""
    send_all(settings, requests_for(settings, plan))
    return settings


def mail(
    settings: Settings, sender: str, message_id: str, files: list[bytes], **headers: str
) -> None:
    """One message with these workbooks attached, delivered to the directorate's Maildir."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = settings.sender
    message["Subject"] = "Avances de MINGOB"
    message["Message-ID"] = message_id
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("Adjunto el reporte.")
    for number, data in enumerate(files, start=1):
        name = f"avances-{number:02}.xlsx"
        message.add_attachment(data, maintype=XLSX[0], subtype=XLSX[1], filename=name)
    open_maildir(settings.folder("mail", "inbox")).add(message)


def intake_once(settings: Settings, plan) -> dict[str, str]:
    """What the hitos.intake flow does: store, validate, send every answer owed."""
    store_all(settings)
    process(settings, plan)
    return send_all(
        settings,
        unanswered(settings, plan)
        + stranger_notices(settings, plan)
        + missing_workbook_replies(settings, plan)
        + unanswered_messages(settings, plan),
    )


def submissions(settings: Settings) -> list[Submission]:
    with session(settings.database) as db:
        return list(db.scalars(select(Submission).order_by(Submission.id)))


def sent(settings: Settings, kind: str) -> list[Email]:
    with session(settings.database) as db:
        return list(db.scalars(select(Email).where(Email.kind == kind).order_by(Email.key)))


def answers(smtp, after: int) -> list[tuple[list[str], Message]]:
    """What the SMTP server received after the first ``after`` emails (the requests)."""
    return smtp.messages[after:]


def body(message: Message) -> str:
    """The plain-text part, as the liaison's mail program shows it."""
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    return part.get_payload(decode=True).decode()  # type: ignore[union-attr]


def nobody_wrote_to(smtp, address: str) -> bool:
    return all(address not in rcpts for rcpts, _ in smtp.messages)


def test_a_strangers_signed_workbook_is_held_and_only_the_liaison_hears_of_it(
    requested, plan, smtp, workbooks
):
    before = len(smtp.messages)
    mail(requested, STRANGER, "<uno@evil.example>", workbooks[:1])
    intake_once(requested, plan)
    mail(requested, STRANGER, "<dos@evil.example>", workbooks[1:2])  # the same stranger again
    intake_once(requested, plan)

    held = submissions(requested)
    assert [(s.outcome, s.institution, s.cycle_id) for s in held] == [
        ("quarantined", "MINGOB", "2023-03")
    ] * 2
    assert nobody_wrote_to(smtp, STRANGER)
    [(rcpts, notice)] = answers(smtp, before)
    assert rcpts == [LIAISON]
    assert notice["Subject"] == (
        "[Gobierno Abierto] Archivo recibido desde otra dirección · marzo 2023 · MINGOB"
    )
    text = body(notice)
    assert STRANGER in text and "avances-01.xlsx" in text
    assert [p.get_filename() for p in notice.walk() if p.get_filename()] == []
    assert sent(requested, "reply") == []


def test_reply_to_naming_the_liaison_neither_lets_the_file_in_nor_answers_anyone(
    requested, plan, smtp, workbooks
):
    before = len(smtp.messages)
    mail(requested, STRANGER, "<rt@evil.example>", workbooks[:1], Reply_To=LIAISON)
    intake_once(requested, plan)

    [sub] = submissions(requested)
    assert sub.outcome == "quarantined"
    assert nobody_wrote_to(smtp, STRANGER)
    assert sent(requested, "reply") == []
    assert [m["Subject"].split(" · ")[0] for _, m in answers(smtp, before)] == [
        "[Gobierno Abierto] Archivo recibido desde otra dirección"
    ]


def test_a_sender_header_naming_the_liaison_does_not_vouch_for_a_stranger(
    requested, plan, smtp, workbooks
):
    mail(requested, STRANGER, "<sender@evil.example>", workbooks[:1], Sender=LIAISON)
    intake_once(requested, plan)

    [sub] = submissions(requested)
    assert sub.outcome == "quarantined"
    assert nobody_wrote_to(smtp, STRANGER)
    assert sent(requested, "reply") == []


def test_a_forged_from_is_answered_at_that_from_only_never_at_reply_to_or_sender(
    requested, plan, smtp, workbooks
):
    """Hitos cannot tell a forged From (the mail server's SPF, DKIM and DMARC can): the file is
    taken, and the one reply goes to the real liaison, who hears of a file they never sent."""
    before = len(smtp.messages)
    mail(
        requested,
        LIAISON,
        "<forjado@evil.example>",
        workbooks[:1],
        Reply_To=STRANGER,
        Sender=STRANGER,
    )
    intake_once(requested, plan)

    [sub] = submissions(requested)
    assert sub.outcome == "accepted"
    assert nobody_wrote_to(smtp, STRANGER)
    [(rcpts, reply)] = answers(smtp, before)
    assert rcpts == [LIAISON] and reply["To"] == LIAISON and reply["Cc"] is None


def test_fifty_workbooks_from_a_stranger_get_no_reply_and_the_liaison_one_notice(
    requested, plan, smtp, workbooks
):
    before = len(smtp.messages)
    mail(requested, STRANGER, "<cincuenta@evil.example>", workbooks)
    intake_once(requested, plan)
    intake_once(requested, plan)

    assert [s.outcome for s in submissions(requested)] == ["quarantined"] * MANY
    assert nobody_wrote_to(smtp, STRANGER)
    [(rcpts, notice)] = answers(smtp, before)
    assert rcpts == [LIAISON]
    assert body(notice).count("avances-") == MANY


def test_fifty_workbooks_from_the_liaison_get_one_reply_listing_each(
    requested, plan, smtp, workbooks
):
    before = len(smtp.messages)
    mail(requested, LIAISON, "<cincuenta@mingob.example>", workbooks)
    intake_once(requested, plan)
    intake_once(requested, plan)

    assert [s.outcome for s in submissions(requested)] == ["accepted"] * MANY
    [(rcpts, reply)] = answers(smtp, before)
    assert rcpts == [LIAISON]
    assert (
        reply["Subject"] == "[Gobierno Abierto] Resultado de sus 50 archivos · marzo 2023 · MINGOB"
    )
    assert reply["In-Reply-To"] == "<cincuenta@mingob.example>"
    text = body(reply)
    assert all(f"avances-{n:02}.xlsx" in text for n in range(1, MANY + 1))
    assert "versión 50" in text


def test_a_colleague_answering_in_the_requests_thread_is_taken_and_answered(
    requested, plan, smtp, workbooks
):
    request = smtp.to(LIAISON)[0]["Message-ID"]
    before = len(smtp.messages)
    mail(
        requested,
        COLLEAGUE,
        "<colega@mingob.example>",
        workbooks[:1],
        In_Reply_To=request,
        References=request,
    )
    intake_once(requested, plan)

    [sub] = submissions(requested)
    assert sub.outcome == "accepted_with_warnings"
    with session(requested.database) as db:
        rules = [f.rule for f in db.get(Submission, sub.id).findings]  # type: ignore[union-attr]
    assert rules == ["sender-not-a-contact"]  # reviewers still see who sent it
    [(rcpts, reply)] = answers(smtp, before)
    assert rcpts == [COLLEAGUE] and reply["In-Reply-To"] == "<colega@mingob.example>"


def test_a_guessed_request_message_id_does_not_open_the_thread(requested, plan, smtp, workbooks):
    """Hitos' Message-IDs are keyed with a secret: the digest of the request's key alone (what
    anyone who read the code would forge) answers nothing."""
    digest = hashlib.sha256(b"gt-pan5/2023-03/MINGOB/request/1").hexdigest()[:32]
    guessed = f"<{digest}@gae.example>"
    mail(requested, STRANGER, "<adivina@evil.example>", workbooks[:1], In_Reply_To=guessed)
    intake_once(requested, plan)

    [sub] = submissions(requested)
    assert sub.outcome == "quarantined"
    assert guessed not in {m["Message-ID"] for _, m in smtp.messages}
    assert nobody_wrote_to(smtp, STRANGER)


def test_a_former_liaison_may_still_send_for_the_institution(requested, plan, smtp, workbooks):
    set_contacts(requested, plan, "MINGOB", liaison=contact("Nueva", "nueva@mingob.example"))
    mail(requested, LIAISON, "<antes@mingob.example>", workbooks[:1])
    intake_once(requested, with_current_contacts(requested, plan))

    [sub] = submissions(requested)
    assert sub.outcome == "accepted_with_warnings"
    assert len(sent(requested, "reply")) == 1 and sent(requested, "stranger-notice") == []


def test_the_held_file_sent_by_its_liaison_is_taken_and_answered_once(
    requested, plan, smtp, workbooks
):
    """What the notice says to do: the liaison sends the same file from their address."""
    before = len(smtp.messages)
    mail(requested, STRANGER, "<primero@evil.example>", workbooks[:1])
    intake_once(requested, plan)
    mail(requested, LIAISON, "<reenvio@mingob.example>", workbooks[:1])
    intake_once(requested, plan)
    intake_once(requested, plan)

    [sub] = submissions(requested)
    assert (sub.outcome, sub.sender, sub.version) == ("accepted", LIAISON, 1)
    assert nobody_wrote_to(smtp, STRANGER)
    subjects = [m["Subject"].split(" · ")[0] for _, m in answers(smtp, before)]
    assert subjects == [
        "[Gobierno Abierto] Archivo recibido desde otra dirección",
        "[Gobierno Abierto] Archivo aceptado",
    ]


def test_a_strangers_file_nobody_can_place_is_held_without_a_word_to_anyone(requested, plan, smtp):
    before = len(smtp.messages)
    nameless = as_csv(Context(plan, b"").rows(), columns=COLUMNS[1:])
    mail(requested, STRANGER, "<anonimo@evil.example>", [nameless])
    intake_once(requested, plan)

    [sub] = submissions(requested)
    assert (sub.outcome, sub.institution) == ("quarantined", None)
    assert answers(smtp, before) == []


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request, requested, plan) -> Settings:
    """The requested workspace on one ledger backend (on PostgreSQL, the requests sent again)."""
    if request.param == "sqlite":
        return requested
    url = request.getfixturevalue("postgres_url")
    on_postgres = requested.model_copy(update={"database_url": url})
    send_all(on_postgres, requests_for(on_postgres, plan))
    return on_postgres


def test_two_intakes_at_once_send_one_reply_per_message_and_one_notice(
    ledger, plan, smtp, workbooks
):
    before = len(smtp.messages)
    mail(ledger, LIAISON, "<cincuenta@mingob.example>", workbooks[: MANY // 2])
    mail(ledger, STRANGER, "<extrano@evil.example>", workbooks[MANY // 2 :])
    at_once(lambda: intake_once(ledger, plan))
    intake_once(ledger, plan)

    assert len(submissions(ledger)) == MANY
    assert nobody_wrote_to(smtp, STRANGER)
    received = sorted(
        (rcpts[0], m["Subject"].split(" · ")[0]) for rcpts, m in answers(smtp, before)
    )
    assert received == [
        (LIAISON, "[Gobierno Abierto] Archivo recibido desde otra dirección"),
        (LIAISON, "[Gobierno Abierto] Resultado de sus 25 archivos"),
    ]


def test_a_reply_sent_before_one_reply_per_message_is_not_sent_again(requested, plan, workbooks):
    """A ledger from before keyed each file's reply by the file: its messages stay answered."""
    mail(requested, LIAISON, "<antiguo@mingob.example>", workbooks[:1])
    store_all(requested)
    process(requested, plan)
    [sub] = submissions(requested)
    with session(requested.database) as db:
        db.add(
            Email(
                key=f"{plan.id}/2023-03/MINGOB/reply/{sub.id}",
                plan_id=plan.id,
                cycle_id="2023-03",
                institution="MINGOB",
                kind="reply",
                to=LIAISON,
                subject="[Gobierno Abierto] Archivo aceptado",
                message_id="<antes@gae.example>",
                status="sent",
            )
        )

    assert unanswered(requested, plan) == []
