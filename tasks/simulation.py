"""Simulated institutions for the demo: they fill their workbooks and mail them back.

They stand for the outside world, so they use only what a liaison has (the workbook they received
and an email client) and nothing of Hitos' ledger.
"""

from __future__ import annotations

import io
import os
import random
import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from tasks.catalogues import language_of, text
from tasks.core import contract
from tasks.core.calendar import add_business_days
from tasks.core.contract import COMPLETED, IN_PROGRESS, NOT_STARTED
from tasks.cycle.requests import request_copy
from tasks.evidence.local_site import HOST, local_websites, site_address
from tasks.mail.inbox import open_maildir
from tasks.mail.outgoing import Mailer, Outgoing
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage.ledger import Cycle, session
from tasks.storage.queries import require_cycle
from tasks.workbooks import layout

SILENT = "MARN"
CARELESS = "MINEDUC"
SITE_GONE = "CONADI"
"""The institution whose website stops answering (a redesign): its evidence is «no respondió»."""


def evidence_url(site: str, institution: str, *path: str) -> str:
    """A milestone's evidence page: on the demo's local websites (``site``), else on the
    institution's own reserved ``.example`` domain (never fetched)."""
    where = "/".join(["gobierno-abierto", *path])
    if site:
        return f"{site}/{institution.lower()}/{where}"
    return f"https://{institution.lower()}.example/{where}"


def demo_site(settings: Settings) -> str:
    return site_address(settings.demo_site_port)


ALLOW_HOSTS = "HITOS_EVIDENCE_ALLOW_HOSTS"


@contextmanager
def institution_websites(settings: Settings, plan: Plan) -> Iterator[Settings]:
    """The institutions' websites on loopback for the block, and the evidence check allowed to
    reach them: yields the settings to use, and sets ``HITOS_EVIDENCE_ALLOW_HOSTS`` for the
    flows the block runs (each reads its settings from the environment)."""
    entry = f"{HOST}:{settings.demo_site_port}"
    allowed = ", ".join(h for h in (settings.evidence_allow_hosts, entry) if h)
    before = os.environ.get(ALLOW_HOSTS)
    os.environ[ALLOW_HOSTS] = allowed
    codes = [i.code for i in plan.institutions]
    try:
        with local_websites(
            settings.demo_site_port, codes, [SITE_GONE], language_of(settings, plan)
        ):
            yield settings.model_copy(update={"evidence_allow_hosts": allowed})
    finally:
        if before is None:
            os.environ.pop(ALLOW_HOSTS, None)
        else:
            os.environ[ALLOW_HOSTS] = before


def filled_workbook(
    request: Path,
    institution: str,
    careless: bool,
    language: str = "es",
    revised: bool = False,
    on: date | None = None,
    site: str = "",
) -> bytes:
    """The request workbook filled in plausibly; ``careless`` adds the mistakes liaisons make,
    ``revised`` the fuller descriptions a liaison writes after a reviewer returned the file.
    Filled ``on`` a day, a milestone whose planned start is later is not started and every other
    one is under way or done (a liaison reports what has begun); without it, any state.

    Like a liaison, it finds the columns by their labels and picks states from the dropdown's
    list, in the workbook's language.
    """
    book = load_workbook(request)
    sheet = next(s for s in book.worksheets if contract.is_sheet(s.title, "milestones"))
    header_row, header = layout.header(sheet)
    assert header_row is not None
    rng = random.Random(institution)
    done, started, waiting = COMPLETED, IN_PROGRESS, NOT_STARTED
    for number, row in enumerate(range(header_row + 1, sheet.max_row + 1)):
        code = sheet.cell(row, header[contract.CODE]).value
        state = rng.choice([waiting, started, started, done, done])
        progress = {waiting: 0, started: rng.randrange(10, 95, 5), done: 100}[state]
        if on is not None:
            begins = sheet.cell(row, header["fecha_inicio"]).value
            begins = begins.date() if isinstance(begins, datetime) else begins
            if isinstance(begins, date) and begins > on:
                state, progress = waiting, 0
            elif state == waiting:
                state, progress = started, 10 * (1 + number % 9)
        if careless and number == 0:
            state, progress = done, 80
        evidence = evidence_url(site, institution, str(code))
        revision = text(language, "subject.simulated_revised") if revised else ""
        described = f"{text(language, 'subject.simulated_progress')} {code}{revision}."
        values: dict[str, object] = {contract.STATE: state, contract.PROGRESS: progress}
        values["descripcion_avance"] = "" if state == waiting else described
        values["evidencia_url"] = "" if state == waiting or (careless and number == 1) else evidence
        if careless and number == 1 and state == waiting:
            values.update({contract.STATE: started, contract.PROGRESS: 40})
            values["descripcion_avance"] = text(language, "subject.simulated_started")
        values[contract.STATE] = contract.state_label(str(values[contract.STATE]), language)
        for column, value in values.items():
            sheet.cell(row, header[column]).value = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def progressed_workbook(
    request: Path, institution: str, cycle_id: str, language: str = "es", site: str = ""
) -> bytes:
    """A later cycle's answer: the request comes pre-filled with the last accepted values, and
    each milestone moves on from there (some start, some advance, some are completed)."""
    book = load_workbook(request)
    sheet = next(s for s in book.worksheets if contract.is_sheet(s.title, "milestones"))
    header_row, header = layout.header(sheet)
    assert header_row is not None
    rng = random.Random(f"{institution}/{cycle_id}")
    for row in range(header_row + 1, sheet.max_row + 1):
        code = sheet.cell(row, header[contract.CODE]).value
        before = int(sheet.cell(row, header[contract.PROGRESS]).value or 0)
        progress = min(100, before + rng.choice([0, 10, 20, 30, 50]))
        state = COMPLETED if progress == 100 else IN_PROGRESS if progress else NOT_STARTED
        values: dict[str, object] = {
            contract.STATE: contract.state_label(state, language),
            contract.PROGRESS: progress,
        }
        if progress:
            values["descripcion_avance"] = text(
                language, "subject.simulated_later", code=code, cycle_id=cycle_id
            )
            values["evidencia_url"] = evidence_url(site, institution, cycle_id, str(code))
        for column, value in values.items():
            sheet.cell(row, header[column]).value = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def send_back(
    settings: Settings,
    plan: Plan,
    institution: str,
    data: bytes,
    attempt: int,
    on: datetime,
    cycle_id: str = "",
) -> None:
    """Mail a filled workbook from the institution's liaison to the directorate, dated ``on``.

    ``cycle_id`` tells apart the answers of later cycles (the first cycle's keep their names).
    """
    liaison = plan.institution(institution).liaison.email
    language = language_of(settings, plan)
    # One folder and one Message-ID per plan: a liaison of two plans answers each one apart.
    where = [plan.id, *([cycle_id] if cycle_id else [])]
    folder = settings.folder("simulation", *where)
    path = folder / f"avances-{institution}-{attempt}.xlsx"
    sent = folder / f".enviado-{institution}-{attempt}"  # the liaison's "Sent" folder
    if sent.exists():  # the demo run again: the liaison does not send the same email twice
        return
    if not path.exists():  # sending again, a liaison attaches the file they already sent
        path.write_bytes(data)
    mail = Outgoing(
        key="/".join(["simulation", *where, institution, str(attempt)]),
        kind="simulation",
        to=[settings.sender],
        subject=text(language, "subject.simulated_answer", institution=institution),
        html=f"<p>{text(language, 'subject.simulated_body')}</p>",
        text=text(language, "subject.simulated_body"),
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
    sent.touch()


def recorded_cycle(settings: Settings, plan: Plan, cycle_id: str) -> Cycle:
    """The cycle as the directorate opened it (its opening day and deadline are public)."""
    with session(settings.database) as db:
        return require_cycle(db, plan.id, cycle_id)


def answer_time(settings: Settings, plan: Plan, cycle_id: str, business_days: int) -> datetime:
    """Ten in the morning, Guatemala time, some business days after the cycle opened."""
    opened = recorded_cycle(settings, plan, cycle_id).opened_on
    day = add_business_days(opened, business_days, plan.country)
    return datetime.combine(day, time(10), ZoneInfo(plan.timezone))


def simulated_day(settings: Settings, plan: Plan, cycle_id: str) -> date:
    """The day the demo pretends it is when it reminds: two business days before the deadline."""
    return add_business_days(recorded_cycle(settings, plan, cycle_id).deadline, -2, plan.country)


def first_answers(
    settings: Settings, plan: Plan, cycle_id: str, later: Collection[str] = ()
) -> list[str]:
    """Every institution but the silent one and those answering ``later`` answers, three
    business days after opening, reporting what has begun by then."""
    answered = []
    on = answer_time(settings, plan, cycle_id, 3)
    for institution in plan.reporting_institutions():
        if institution.code == SILENT or institution.code in later:
            continue
        request = request_copy(settings, plan, cycle_id, institution.code)
        careless = institution.code == CARELESS
        language = language_of(settings, plan)
        data = filled_workbook(
            request, institution.code, careless, language, on=on.date(), site=demo_site(settings)
        )
        send_back(settings, plan, institution.code, data, 1, on)
        answered.append(institution.code)
    return answered


AFTER_THE_SESSION = ("GAE", "MSPAS", "CoST")
"""Institutions whose first cycle's answer arrives after the Mesa's session (the seed's session
heard seven institutions; these three, with the silent one, were not among them)."""


def late_answers(settings: Settings, plan: Plan, cycle_id: str, on: date) -> list[str]:
    """The institutions of ``AFTER_THE_SESSION`` answer at last, at ten in the morning ``on``."""
    moment = datetime.combine(on, time(10), ZoneInfo(plan.timezone))
    answered = []
    for code in AFTER_THE_SESSION:
        if code not in {i.code for i in plan.reporting_institutions()}:
            continue
        request = request_copy(settings, plan, cycle_id, code)
        language = language_of(settings, plan)
        data = filled_workbook(request, code, False, language, on=on, site=demo_site(settings))
        send_back(settings, plan, code, data, 1, moment)
        answered.append(code)
    return answered


def corrections(settings: Settings, plan: Plan, cycle_id: str) -> list[str]:
    """The careless institution reads the reply and sends a corrected workbook, days later."""
    request = request_copy(settings, plan, cycle_id, CARELESS)
    on = answer_time(settings, plan, cycle_id, 6)
    language = language_of(settings, plan)
    corrected = filled_workbook(
        request, CARELESS, False, language, on=on.date(), site=demo_site(settings)
    )
    send_back(settings, plan, CARELESS, corrected, 2, on)
    return [CARELESS]


def correction_on_the_page(settings: Settings, plan: Plan, cycle_id: str) -> list[str]:
    """The careless institution's liaison fixes the workbook and, rather than mailing it, checks
    and sends it on their own page: the link of the request email in their mailbox, the page's
    upload door (``tasks.portal.upload``, what the page's form posts to)."""
    from tasks.portal.upload import send_through_portal
    from tasks.storage.links import opened

    request = request_copy(settings, plan, cycle_id, CARELESS)
    on = answer_time(settings, plan, cycle_id, 6)
    folder = settings.folder("simulation", plan.id)
    path = folder / f"avances-{CARELESS}-2.xlsx"
    sent = folder / f".subido-{CARELESS}-2"  # the page said «quedó enviado»: not again
    if sent.exists():
        return []
    if not path.exists():
        language = language_of(settings, plan)
        corrected = filled_workbook(
            request, CARELESS, False, language, on=on.date(), site=demo_site(settings)
        )
        path.write_bytes(corrected)
    with session(settings.database) as db:
        link = opened(db, settings, personal_token(settings, plan, CARELESS)).link
    send_through_portal(
        settings, plan, link, path.name, path.read_bytes(), on.astimezone(UTC).replace(tzinfo=None)
    )
    sent.touch()
    return [CARELESS]


PERSONAL_LINK = re.compile(r"/enlace/(\d+\.[A-Za-z0-9_-]+)")


def personal_token(settings: Settings, plan: Plan, code: str) -> str:
    """The token of the personal link in the newest email the liaison received (the demo's
    outbox is every institution's mailbox)."""
    liaison = plan.institution(code).liaison.email
    tokens = []
    for message in open_maildir(settings.folder("mail", "outbox")):
        if liaison not in str(message["To"]):
            continue
        body = message_from_bytes(message.as_bytes(), policy=policy.default)
        plain = cast(EmailMessage, body).get_body(("plain",))
        found = PERSONAL_LINK.search(plain.get_content()) if plain is not None else None
        if found:
            tokens.append((str(message["Date"]), found.group(1)))
    if not tokens:
        raise LookupError(f"no email to {liaison} carries a personal link")
    return max(tokens, key=lambda dated: int(dated[1].split(".")[0]))[1]


def later_answers(settings: Settings, plan: Plan, cycle_id: str) -> list[str]:
    """A later cycle: every institution but the silent one reports progress, four business days
    after opening, from the workbook pre-filled with its last accepted values."""
    answered = []
    on = answer_time(settings, plan, cycle_id, 4)
    for institution in plan.reporting_institutions():
        if institution.code == SILENT:
            continue
        request = request_copy(settings, plan, cycle_id, institution.code)
        language = language_of(settings, plan)
        data = progressed_workbook(
            request, institution.code, cycle_id, language, demo_site(settings)
        )
        send_back(settings, plan, institution.code, data, 1, on, cycle_id)
        answered.append(institution.code)
    return answered


REVIEWER = "revisora@gae.example"


def reviewers_review(
    settings: Settings, plan: Plan, cycle_id: str, return_one: bool = True
) -> dict[int, str]:
    """The Mesa Técnica reviews what awaits it: with ``return_one``, the careless institution's
    first accepted file comes back with a comment; every other file is approved, and each
    liaison is told, as the console and ``hitos review`` do after a decision."""
    from tasks.people.review import approve, return_submission, review_list
    from tasks.portal.notices import tell_liaisons

    language = language_of(settings, plan)
    items = review_list(settings, cycle_id)
    returned_before = any(i.review == "returned" for i in items if i.institution == CARELESS)
    decided: dict[int, str] = {}
    for item in items:
        if item.review != "pending" or item.superseded:
            continue
        if return_one and item.institution == CARELESS and not returned_before:
            note = text(language, "simulation.return_note")
            return_submission(settings, plan, item.submission_id, REVIEWER, note)
            decided[item.submission_id] = "returned"
        else:
            note = text(language, "simulation.approve_note")
            approve(settings, plan, item.submission_id, REVIEWER, note)
            decided[item.submission_id] = "approved"
    tell_liaisons(settings, plan)
    return decided


def returned_corrects(settings: Settings, plan: Plan, cycle_id: str) -> list[str]:
    """The careless institution reads the reviewer's comment and sends a fuller workbook."""
    request = request_copy(settings, plan, cycle_id, CARELESS)
    on = answer_time(settings, plan, cycle_id, 7)
    language = language_of(settings, plan)
    revised = filled_workbook(
        request, CARELESS, False, language, revised=True, on=on.date(), site=demo_site(settings)
    )
    send_back(settings, plan, CARELESS, revised, 3, on)
    return [CARELESS]


def director_extends(settings: Settings, plan: Plan, cycle_id: str) -> str:
    """The director gives the silent institution five more business days, with the reason; its
    liaison is told by email (``tasks.portal.notices``)."""
    from tasks.cycle.extensions import extend
    from tasks.portal.notices import tell_liaisons

    cycle = recorded_cycle(settings, plan, cycle_id)
    until = add_business_days(cycle.deadline, 5, plan.country)
    director = plan.coordinator.director.email
    reason = text(language_of(settings, plan), "simulation.extension_reason")
    extend(settings, plan, cycle_id, SILENT, until, reason, director)
    tell_liaisons(settings, plan)
    return until.isoformat()


def director_publishes(settings: Settings, plan: Plan, cycle_id: str) -> dict[str, str]:
    """The director publishes the draft consolidation made (or finds it already published)."""
    from tasks.publication.approval import publish_draft, state_of
    from tasks.publication.publishing import consolidate

    if state_of(settings, plan, cycle_id).draft is not None:
        publication = publish_draft(settings, plan, cycle_id, plan.coordinator.director.email)
    else:
        publication = consolidate(settings, plan, cycle_id)
    return {kind: str(path) for kind, path in publication.paths.items()}
