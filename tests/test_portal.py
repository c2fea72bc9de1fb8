"""The liaison's own page: a personal link in every request, the page it opens, the upload door
that checks a file and sends it through intake, the notices of what changed, and the handover.

Real components: the console app (FastAPI's TestClient), the ledger on SQLite, aiosmtpd on
loopback receiving what Hitos sends.
"""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta
from email.message import EmailMessage
from typing import cast

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from console.app import create_app
from flows.open_cycle import build_requests
from tasks.cycle.extensions import extend
from tasks.cycle.requests import build_request, open_cycle_record
from tasks.cycle.resend import resend_request
from tasks.mail.outgoing import send_all
from tasks.people.contacts import contact, current_plan, set_contacts
from tasks.people.review import approve, review_list
from tasks.portal.handover import hand_over
from tasks.portal.notices import NEWS_DAYS, tell_liaisons
from tasks.portal.upload import UploadRefused, send_through_portal
from tasks.simulation import filled_workbook
from tasks.storage import links
from tasks.storage.ledger import (
    Cycle,
    Decision,
    Evidence,
    Extension,
    PortalLink,
    Submission,
    session,
)
from tasks.storage.ledger import utcnow as ledger_now
from tests.network import free_port, serving

CYCLE = "2023-03"
CODE = "MINGOB"
TOKEN = re.compile(r"/enlace/(\d+\.[A-Za-z0-9_-]{32})")


def opened(settings, plan) -> Cycle:
    return open_cycle_record(settings, plan, CYCLE, date(2023, 3, 1))


def token_in(message) -> str:
    """The personal link's token, as the liaison reads it in the plain-text part."""
    plain = cast(EmailMessage, message).get_body(("plain",))
    assert plain is not None
    found = TOKEN.search(plain.get_content())
    assert found, "the email carries no personal link"
    return found.group(1)


def requested(settings, plan, smtp, code: str = CODE) -> str:
    """The cycle opened and the institution's request sent; the token its email carries."""
    cycle = opened(settings, plan)
    send_all(settings, build_requests(settings, plan, cycle, [plan.institution(code)]))
    [request] = smtp.to(plan.institution(code).liaison.email)
    return token_in(request)


def client(settings, plan) -> TestClient:
    return TestClient(create_app(settings, plan), base_url="https://testserver")


def workbook(settings, plan, careless: bool, code: str = CODE) -> bytes:
    request = build_request(settings, plan, opened(settings, plan), plan.institution(code))
    return filled_workbook(request, code, careless, revised=not careless)


def link_row(settings, token: str) -> PortalLink:
    with session(settings.database) as db:
        return links.opened(db, settings, token).link


# Tokens.


def test_the_request_email_carries_a_link_that_opens_the_institutions_page(settings, plan, smtp):
    token = requested(settings, plan, smtp)

    page = client(settings, plan).get(f"/enlace/{token}")

    assert page.status_code == 200
    assert plan.institution(CODE).name in page.text
    assert "Fecha límite" in page.text and "Revisar y enviar" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"


def test_composing_a_request_again_gives_the_link_already_sent(settings, plan, smtp):
    """A rerun after a crash composes the email again: the link it gives must be the same one,
    or the email that did go out would carry a dead link."""
    cycle = opened(settings, plan)
    first = build_requests(settings, plan, cycle, [plan.institution(CODE)])[0]
    again = build_requests(settings, plan, cycle, [plan.institution(CODE)])[0]

    assert TOKEN.search(first.text) and TOKEN.search(first.text).group(1) in again.text  # type: ignore[union-attr]


def test_a_tampered_or_unknown_token_is_refused_with_a_spanish_404(settings, plan, smtp):
    token = requested(settings, plan, smtp)
    number, signature = token.split(".")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    web = client(settings, plan)

    for bad in (f"{number}.{flipped}", f"{int(number) + 1}.{signature}", "1", "x" * 200):
        page = web.get(f"/enlace/{bad}")
        assert page.status_code == 404, bad
        assert "Este enlace no abre ninguna página" in page.text


def test_an_expired_link_is_refused_with_a_spanish_403(settings, plan, smtp):
    token = requested(settings, plan, smtp)
    with session(settings.database) as db:
        db.execute(update(PortalLink).values(expires_at=ledger_now() - timedelta(seconds=1)))

    page = client(settings, plan).get(f"/enlace/{token}")

    assert page.status_code == 403
    assert "venció" in page.text


def test_a_closed_cycles_link_opens_nothing(settings, plan, smtp):
    token = requested(settings, plan, smtp)
    with session(settings.database) as db:
        db.execute(update(Cycle).values(state="closed"))

    assert client(settings, plan).get(f"/enlace/{token}").status_code == 403
    assert links.personal_url(settings, plan.id, CYCLE, CODE, "x@y.example") == ""


def test_a_fresh_link_revokes_the_one_before(settings, plan, smtp):
    """``hitos resend`` asks for a fresh link: the one in the lost email stops working."""
    old = requested(settings, plan, smtp)
    liaison = plan.institution(CODE).liaison.email

    new = links.personal_url(settings, plan.id, CYCLE, CODE, liaison, fresh=True)

    web = client(settings, plan)
    assert web.get(f"/enlace/{old}").status_code == 403
    assert web.get(new.split("8000", 1)[1]).status_code == 200


def test_hitos_resend_sends_a_fresh_link_and_the_lost_one_stops(settings, plan, smtp):
    liaison = plan.institution(CODE).liaison.email
    smtp.refused.add(liaison)
    cycle = opened(settings, plan)
    [lost] = build_requests(settings, plan, cycle, [plan.institution(CODE)])
    send_all(settings, [lost])
    smtp.refused.clear()

    resend_request(settings, plan, CYCLE, CODE, same_address=True)

    [resent] = smtp.to(liaison)
    web = client(settings, plan)
    old = TOKEN.search(lost.text)
    assert old is not None and old.group(1) != token_in(resent)
    assert web.get(f"/enlace/{old.group(1)}").status_code == 403
    assert web.get(f"/enlace/{token_in(resent)}").status_code == 200


def test_the_access_log_of_a_served_console_never_shows_a_personal_links_token(
    settings, plan, smtp, monkeypatch, caplog
):
    token = requested(settings, plan, smtp)
    monkeypatch.setenv("HITOS_HOME", str(settings.home))
    monkeypatch.setenv("HITOS_PLAN", str(settings.plan))
    port = free_port()
    # The factory ``hitos serve`` runs, served for real; uvicorn's own log set-up left out so
    # that its access records reach caplog.
    config = uvicorn.Config(
        "console.app:from_environment", factory=True, port=port, log_config=None, log_level="info"
    )
    with (
        serving(config),
        caplog.at_level(logging.INFO, logger="uvicorn.access"),
    ):
        page = httpx.get(f"http://127.0.0.1:{port}/enlace/{token}?from=mail", timeout=30)
    assert page.status_code == 200
    [line] = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert '"GET /enlace/…?from=mail HTTP/1.1" 200' in line
    assert token not in caplog.text


# The upload door.


def test_the_door_refuses_a_file_over_the_size_limit_and_links_past_their_count_or_rate(
    settings, plan, smtp
):
    token = requested(settings, plan, smtp)
    link = link_row(settings, token)
    small = settings.model_copy(update={"max_file_mb": 1})
    with pytest.raises(UploadRefused) as too_large:
        send_through_portal(small, plan, link, "grande.xlsx", b"x" * (1024 * 1024 + 1))
    assert too_large.value.code == "too-large"

    send_through_portal(settings, plan, link, "a.xlsx", workbook(settings, plan, True))
    once = settings.model_copy(update={"portal_max_files": 1})
    with pytest.raises(UploadRefused) as too_many:
        send_through_portal(once, plan, link, "b.xlsx", workbook(settings, plan, False))
    assert too_many.value.code == "too-many"
    hourly = settings.model_copy(update={"portal_files_per_hour": 1})
    with pytest.raises(UploadRefused) as too_often:
        send_through_portal(hourly, plan, link, "b.xlsx", workbook(settings, plan, False))
    assert too_often.value.code == "too-often"


def test_a_wrong_file_shows_its_finding_at_its_cell_then_the_fixed_one_is_sent_like_mail(
    settings, plan, smtp
):
    token = requested(settings, plan, smtp)
    web = client(settings, plan)
    liaison = plan.institution(CODE).liaison.email

    wrong = web.post(
        f"/enlace/{token}", files={"archivo": ("avances.xlsx", workbook(settings, plan, True))}
    )

    assert wrong.status_code == 200  # after the redirect to the page with the result
    assert "no se envió como entrega" in wrong.text
    assert re.search(r'data-label="Celda">[A-Z]+\d+</td>', wrong.text)
    marked = re.search(r'href="(/enlace/[^"]+/marcado)"', wrong.text)
    assert marked and web.get(marked.group(1)).content[:2] == b"PK"

    fixed = web.post(
        f"/enlace/{token}", files={"archivo": ("avances.xlsx", workbook(settings, plan, False))}
    )

    assert "quedó enviado" in fixed.text
    with session(settings.database) as db:
        subs = db.scalars(select(Submission).order_by(Submission.id)).all()
        assert [(s.channel, s.outcome != "rejected", s.sender) for s in subs] == [
            ("portal", False, liaison),
            ("portal", True, liaison),
        ]
    replies = [m for m in smtp.to(liaison) if "Solicitud" not in str(m["Subject"])]
    assert len(replies) == 2  # intake's reply, one per file, as for mail
    assert [i.institution for i in review_list(settings, CYCLE)] == [CODE]  # the same review


def test_evidence_files_uploaded_beside_the_workbook_are_kept_with_it_as_mailed_ones_are(
    settings, plan, smtp
):
    token = requested(settings, plan, smtp)
    web = client(settings, plan)
    scan = b"%PDF-1.4 acta de la mesa de trabajo\n%%EOF\n"
    files = [
        ("archivo", ("avances.xlsx", workbook(settings, plan, False))),
        ("evidencias", ("acta.pdf", scan)),
        ("evidencias", ("foto.jpg", b"\xff\xd8\xff\xe0 una foto")),
    ]

    sent = web.post(f"/enlace/{token}", files=files)

    assert "quedó enviado" in sent.text
    with session(settings.database) as db:
        sub = db.scalars(select(Submission)).one()
        kept = db.scalars(select(Evidence).where(Evidence.submission_id == sub.id)).all()
        assert sorted(e.filename for e in kept) == ["acta.pdf", "foto.jpg"]
    [reply] = [m for m in smtp.to(sub.sender) if "Solicitud" not in str(m["Subject"])]
    plain = cast(EmailMessage, reply).get_body(("plain",))
    assert plain is not None and "acta.pdf" in plain.get_content()


def test_an_upload_refuses_evidence_that_is_not_a_document_and_sends_nothing(settings, plan, smtp):
    token = requested(settings, plan, smtp)
    web = client(settings, plan)
    files = [
        ("archivo", ("avances.xlsx", workbook(settings, plan, False))),
        ("evidencias", ("programa.exe", b"MZ")),
    ]

    refused = web.post(f"/enlace/{token}", files=files)

    assert refused.status_code == 415 and "programa.exe" in refused.text
    with session(settings.database) as db:
        assert db.scalars(select(Submission)).all() == []


# What changed.


def test_an_extension_is_told_once_and_a_later_date_again(settings, plan, smtp):
    cycle = opened(settings, plan)
    liaison = plan.institution("MARN").liaison.email
    director = plan.coordinator.director.email
    extend(settings, plan, CYCLE, "MARN", cycle.deadline + timedelta(days=3), "Cambio.", director)

    tell_liaisons(settings, plan)
    tell_liaisons(settings, plan)  # a rerun sends nothing twice
    assert len(smtp.to(liaison)) == 1
    [notice] = smtp.to(liaison)
    assert "Prórroga" in str(notice["Subject"]) and token_in(notice)

    extend(settings, plan, CYCLE, "MARN", cycle.deadline + timedelta(days=5), "Más.", director)
    tell_liaisons(settings, plan)
    assert len(smtp.to(liaison)) == 2


def test_an_approval_after_review_is_told_to_the_liaison_once(settings, plan, smtp):
    token = requested(settings, plan, smtp)
    result = send_through_portal(
        settings, plan, link_row(settings, token), "a.xlsx", workbook(settings, plan, False)
    )
    approve(settings, plan, result.submission_id, "revisora@gae.example")
    liaison = plan.institution(CODE).liaison.email
    before = len(smtp.to(liaison))

    tell_liaisons(settings, plan)
    tell_liaisons(settings, plan)

    assert len(smtp.to(liaison)) == before + 1
    assert "aprobado" in str(smtp.to(liaison)[-1]["Subject"]).lower()


def test_decisions_older_than_the_news_window_are_not_mailed_on_an_upgrade(settings, plan, smtp):
    """A ledger from before these notices: its extensions and approvals are not news any more."""
    token = requested(settings, plan, smtp)
    result = send_through_portal(
        settings, plan, link_row(settings, token), "a.xlsx", workbook(settings, plan, False)
    )
    approve(settings, plan, result.submission_id, "revisora@gae.example")
    cycle = opened(settings, plan)
    director = plan.coordinator.director.email
    extend(settings, plan, CYCLE, "MARN", cycle.deadline + timedelta(days=3), "Cambio.", director)
    long_ago = ledger_now() - timedelta(days=NEWS_DAYS + 1)
    with session(settings.database) as db:
        db.execute(update(Decision).values(at=long_ago))
        db.execute(update(Extension).values(granted_at=long_ago))
        db.commit()
    before = len(smtp.messages)

    tell_liaisons(settings, plan)

    assert len(smtp.messages) == before


# The handover.


def test_a_new_liaison_is_welcomed_with_a_link_of_their_own_and_the_old_one_stops(
    settings, plan, smtp
):
    old = requested(settings, plan, smtp)
    new_liaison = "nueva.enlace@mingob.example"
    set_contacts(settings, plan, CODE, liaison=contact("Nueva Enlace", new_liaison))

    statuses = hand_over(settings, current_plan(settings), CODE)
    hand_over(settings, current_plan(settings), CODE)  # once per change

    assert list(statuses.values()) == ["sent"]
    [welcome] = smtp.to(new_liaison)
    plain = cast(EmailMessage, welcome).get_body(("plain",))
    assert plain is not None
    body = plain.get_content()
    for milestone in plan.milestones_of(CODE):
        assert milestone.code in body
    web = client(settings, plan)
    assert web.get(f"/enlace/{old}").status_code == 403
    assert web.get(f"/enlace/{token_in(welcome)}").status_code == 200
