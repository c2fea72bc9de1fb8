"""Answers to the people who sent files: one reply per message, and only to people Hitos knows.

One message gets at most one reply, whatever it carries: once every workbook it brought is
processed, one email lists each file's outcome (each rejected file marked and attached). Its
sender must be someone Hitos knows (``tasks.intake.senders``); a stranger gets nothing, however
many workbooks they attach. An operator's later assignment of one of its files
(``tasks.intake.assign``) is answered once more, about that file: to its sender when Hitos knows
them, else to the institution's liaison. A message from a known contact with no workbook is
owed one reply saying so (``missing_workbook_replies``).

A reply is owed until the mail ledger says it was sent (or refused for good), so a crash between
recording an outcome and answering it, or a failed send, leaves the reply owed, never lost and
never sent twice (``tasks.mail.outgoing`` claims each key before sending).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tasks.catalogues import language_of, text
from tasks.core.findings import Finding, WarningGroup, warning_groups
from tasks.core.states import SETTLED, Outcome
from tasks.intake.arrivals import ANSWERED_CHANNELS, thread
from tasks.intake.lookups import ASSIGN
from tasks.intake.results import IntakeResult, as_outcome
from tasks.intake.senders import HELD, Senders
from tasks.mail.outgoing import Outgoing, compose, plan_subject
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage import filestore
from tasks.storage.ledger import (
    Cycle,
    Decision,
    Email,
    Evidence,
    InboundMessage,
    Submission,
    session,
)
from tasks.storage.queries import newest_open_cycle, settled_email_keys
from tasks.workbooks.marking import mark_findings, marked_name

logger = logging.getLogger(__name__)

ANSWERS = ("reply", "missing-workbook", "malformed", "bounce-notice", "stranger-notice")
"""The kinds of email an intake run sends: a command says which of them did not go out."""


def digest(message_id: str) -> str:
    """A received message's short digest: the last part of its reply's key."""
    return hashlib.sha256(message_id.encode()).hexdigest()[:16]


@dataclass
class Owed:
    """One reply owed: to whom, about which files, under which key."""

    key: str
    message_id: str
    to: str
    results: list[IntakeResult]
    assigned: bool = False

    @property
    def threaded(self) -> bool:
        """Whether it answers the sender's own message (a liaison told of another's file is
        not in that thread)."""
        return self.to == self.results[0].sender


def ours(settings: Settings, plan: Plan, plan_id: str | None) -> bool:
    """Whether a file is the plan's to answer: files of no known plan are the settings' plan's
    (someone must answer them, and only once)."""
    return plan_id == plan.id or (plan_id is None and plan.id == settings.plan_id)


def unanswered(settings: Settings, plan: Plan) -> list[Outgoing]:
    """Replies owed for the plan's messages and assignments (crash-safe: built from the ledger
    every time, each sent once by its key).

    Every reply is rendered from one read of the ledger (``ReplyFacts``): a transaction and five
    lookups per reply were a third of the time replies took to render.
    """
    owed = owed_replies(settings, plan)
    language = language_of(settings, plan)
    with session(settings.database) as db:
        facts = ReplyFacts.read(db, owed)
        return [
            mail for each in owed if (mail := reply_isolated(settings, plan, each, facts, language))
        ]


def owed_replies(settings: Settings, plan: Plan) -> list[Owed]:
    """Each message of the plan whose files are all processed and whose reply never went, when
    its sender is known; then each assignment of one of its files not yet answered."""
    with session(settings.database) as db:
        settled = settled_email_keys(db, "reply")
        answered = {key.rsplit("/", 1)[-1] for key in settled}
        files: dict[str, list[tuple[int, str, str | None]]] = {}
        senders_of: dict[str, str] = {}
        for sub_id, source, outcome, plan_id, sender in db.execute(
            select(
                Submission.id,
                Submission.source_ref,
                Submission.outcome,
                Submission.plan_id,
                Submission.sender,
            )
            .where(Submission.channel.in_(ANSWERED_CHANNELS))
            .order_by(Submission.id)
        ):
            files.setdefault(source, []).append((sub_id, outcome, plan_id))
            senders_of[source] = sender
        waiting = [
            message_id
            for message_id, rows in files.items()
            if not replied(message_id, [sub_id for sub_id, _, _ in rows], answered)
            and all(outcome != Outcome.RECEIVED for _, outcome, _ in rows)
            and ours(settings, plan, rows[0][2])
        ]
        decisions = [
            d
            for d in db.scalars(
                select(Decision)
                .where(Decision.action == ASSIGN, Decision.plan_id == plan.id)
                .order_by(Decision.id)
            )
            if assigned_key(d) not in settled
        ]
        assigned = {d.submission_id for d in decisions if d.submission_id is not None}
        sources = {source for source, rows in files.items() for i, _, _ in rows if i in assigned}
        senders = Senders.read(db, [plan], {*waiting, *sources})
        # A stranger's messages are never answered: their files are not even loaded.
        waiting = [m for m in waiting if senders.known(senders_of[m], m)]
        subs = {
            s.id: s
            for s in db.scalars(
                select(Submission)
                .options(selectinload(Submission.findings))
                .where(Submission.id.in_({i for m in waiting for i, _, _ in files[m]} | assigned))
            )
        }
        owed = []
        for message_id in waiting:
            results = [as_outcome(subs[i]) for i, _, _ in files[message_id]]
            key = message_key(results[0], message_id)
            owed.append(Owed(key, message_id, senders_of[message_id], results))
        for d in decisions:
            sub = subs.get(d.submission_id or 0)
            if (
                sub is None
                or sub.channel not in ANSWERED_CHANNELS
                or sub.outcome == Outcome.RECEIVED
            ):
                continue
            known = senders.known(sub.sender, sub.source_ref)
            if known and not replied(sub.source_ref, [sub.id], answered):
                continue  # its message's own reply, still owed, says the file's new outcome
            to = sub.sender if known else liaison_of(plan, sub.institution)
            if to:
                owed.append(Owed(assigned_key(d), sub.source_ref, to, [as_outcome(sub)], True))
    return owed


def replied(message_id: str, submission_ids: list[int], answered: set[str]) -> bool:
    """Whether a message's reply went: keyed by the message, or, in a ledger older than one
    reply per message, by one of its files (``…/reply/<submission id>``: never sent again)."""
    return digest(message_id) in answered or any(str(i) in answered for i in submission_ids)


def message_key(first: IntakeResult, message_id: str) -> str:
    """The key of a message's reply: named for its first file, unique by the message."""
    plan, cycle = first.plan or "-", first.cycle or "-"
    return f"{plan}/{cycle}/{first.institution or '-'}/reply/{digest(message_id)}"


def assigned_key(decision: Decision) -> str:
    """The key of the reply to an operator's assignment: one per assignment."""
    where = f"{decision.plan_id}/{decision.cycle_id}/{decision.institution}"
    return f"{where}/reply/assigned-{decision.id}"


def liaison_of(plan: Plan, code: str | None) -> str:
    """The institution's liaison's address today, or ``""`` when the plan does not know it."""
    try:
        return plan.institution(code).liaison.email if code else ""
    except KeyError:
        return ""


@dataclass
class ReplyFacts:
    """What the replies owed in one run read from the ledger, read once for all of them."""

    db: Session
    """The read transaction: submissions, cycles and received messages are in its identity
    map, and the stored files of rejected ones are read from it."""
    evidence: dict[str, list[str]]
    """Message-ID → the evidence files it carried, in the order they were kept."""
    loaded: list[object]
    """The rows read ahead: the session's identity map holds them only while they are referenced."""

    @classmethod
    def read(cls, db: Session, owed: list[Owed]) -> ReplyFacts:
        """Four queries for every reply owed."""
        ids = {r.submission_id for o in owed for r in o.results}
        messages = {o.message_id for o in owed}
        plans = {r.plan for o in owed for r in o.results if r.plan}
        # Loaded into the session's identity map: ``db.get`` then asks nothing more.
        loaded: list[object] = [
            *db.scalars(select(Submission).where(Submission.id.in_(ids))),
            *db.scalars(select(Cycle).where(Cycle.plan_id.in_(plans))),
            *db.scalars(select(InboundMessage).where(InboundMessage.message_id.in_(messages))),
        ]
        evidence: dict[str, list[str]] = {}
        for message_id, filename in db.execute(
            select(Evidence.message_id, Evidence.filename)
            .where(Evidence.message_id.in_(messages))
            .order_by(Evidence.id)
        ):
            evidence.setdefault(message_id, []).append(filename)
        return cls(db, evidence, loaded)


def reply_isolated(
    settings: Settings, plan: Plan, owed: Owed, facts: ReplyFacts, language: str
) -> Outgoing | None:
    """``reply_email``; should marking a sender's workbook fail, the reply goes without marked
    files, so one file never holds back the replies to the others."""
    try:
        return reply_email(settings, plan, owed, facts, language)
    except Exception:
        logger.exception("marking the files of %s failed; replying without them", owed.key)
        return reply_email(settings, plan, owed, facts, language, mark=False)


@dataclass
class FileReply:
    """One file of a reply, as the template shows it."""

    outcome: str
    filename: str
    institution_name: str
    period: str
    version: int
    findings: list[Finding]
    warnings: list[WarningGroup]
    held: bool
    marked: bool
    deadline: date | None


def reply_email(
    settings: Settings,
    plan: Plan,
    owed: Owed,
    facts: ReplyFacts,
    language: str,
    mark: bool = True,
) -> Outgoing:
    """The answer: each file accepted (with warnings), held, unreadable, or what to fix with
    the file marked."""
    db = facts.db
    files: list[FileReply] = []
    attachments: list[Path] = []
    for result in owed.results:
        sub = db.get(Submission, result.submission_id)
        assert sub is not None
        marked = None
        if result.outcome == Outcome.REJECTED and mark:
            marked = mark_findings(
                filestore.get(db, sub.sha256), result.filename, result.findings, language
            )
        if marked is not None:
            # Rebuilt from the stored file whenever the reply is rendered: a local copy.
            name = marked_name(result.submission_id, result.filename, language)
            folder = result.cycle or "sin-ciclo"
            attachments.append(
                filestore.local_copy(settings, marked, "replies", plan.id, folder, name)
            )
        cycle = db.get(Cycle, (result.plan, result.cycle)) if result.plan and result.cycle else None
        files.append(
            FileReply(
                result.outcome,
                result.filename,
                institution_name(plan, result.institution),
                result.cycle or "",
                sub.version,
                result.findings,
                warning_groups(result.findings, language),
                any(f.rule == HELD for f in result.findings),
                marked is not None,
                cycle.deadline if cycle else None,
            )
        )
    evidence = facts.evidence.get(owed.message_id, [])
    threading = thread(db, owed.message_id) if owed.threaded else ("", "")
    first = owed.results[0]
    return compose(
        "reply",
        key=owed.key,
        kind="reply",
        to=[owed.to],
        subject=reply_subject(plan, language, files, first),
        language=language,
        attachments=attachments,
        cycle_id=first.cycle,
        institution_code=first.institution,
        auto_submitted="auto-replied",
        in_reply_to=threading[0],
        references=threading[1],
        plan=plan,
        files=files,
        greeted=contact_name(plan, first.institution, owed.to),
        assigned=owed.assigned,
        sender=first.sender if owed.assigned and not owed.threaded else "",
        evidence=evidence,
    )


def reply_subject(plan: Plan, language: str, files: list[FileReply], first: IntakeResult) -> str:
    """One file: its outcome; several: how many, with the cycle and institution they share."""
    if len(files) == 1:
        label = text(language, "intake_mail.held" if files[0].held else f"outcome.{first.outcome}")
        return plan_subject(
            plan,
            language,
            "reply",
            label=label,
            cycle_id=first.cycle or "",
            institution=first.institution or "",
        )
    cycles = {f.period for f in files}
    return text(
        language,
        "intake_mail.several_subject",
        plan_name=plan.short_name,
        count=len(files),
        cycle_id=cycles.pop() if len(cycles) == 1 else "",
        institution=first.institution or "",
    )


def contact_name(plan: Plan, code: str | None, address: str) -> str:
    """The name a reply greets: the institution's liaison or head when the reply goes to them,
    else none («Estimado/a:»), since a colleague writing for them is not named in the plan."""
    try:
        institution = plan.institution(code) if code else None
    except KeyError:
        return ""
    if institution is None:
        return ""
    for contact in (institution.liaison, institution.head):
        if contact.email.lower() == address.lower():
            return contact.name
    return ""


def institution_name(plan: Plan, code: str | None) -> str:
    """«MINGOB (Ministerio de Gobernación)», or the code alone for another plan's institution."""
    if not code:
        return ""
    try:
        return f"{code} ({plan.institution(code).name})"
    except KeyError:
        return code


def missing_key(message_id: str, institution: str) -> str:
    """The reply's key: the message's digest decides, whatever the cycle or contacts are now."""
    return f"-/{institution}/missing-workbook/{digest(message_id)}"


def missing_workbook_replies(settings: Settings, plan: Plan) -> list[Outgoing]:
    """One reply to each message from a known contact that carried no workbook (never two).

    A message in a thread where Hitos already said the workbook is missing is not answered
    again: that is an auto-responder Hitos did not recognise (answering it is a mail loop), or
    a person answering the notice ("lo envío mañana").
    """
    with session(settings.database) as db:
        told = db.execute(
            select(Email.key, Email.message_id, Email.status).where(
                Email.kind == "missing-workbook"
            )
        ).all()
        answered = {key.rsplit("/", 1)[-1] for key, _, status in told if status in SETTLED}
        notices = {message_id for _, message_id, _ in told}
        cycle = newest_open_cycle(db, plan.id)
        messages = db.scalars(
            select(InboundMessage)
            .where(InboundMessage.kind == "no-workbook")
            .order_by(InboundMessage.received_at)
        ).all()
        owed = []
        for message in messages:
            institutions = plan.institutions_writing_from(message.sender)
            if len(institutions) != 1 or notices & set(message.references.split()):
                continue
            key = missing_key(message.message_id, institutions[0])
            if key.rsplit("/", 1)[-1] in answered:
                continue
            evidence = db.scalars(
                select(Evidence.filename)
                .where(Evidence.message_id == message.message_id)
                .order_by(Evidence.id)
            ).all()
            owed.append(
                (message, institutions[0], key, list(evidence), thread(db, message.message_id))
            )
    language = language_of(settings, plan)
    mails = []
    for message, code, key, evidence, threading in owed:
        institution = plan.institution(code)
        mails.append(
            compose(
                "missing_workbook",
                key=key,
                kind="missing-workbook",
                to=[message.sender],
                subject=plan_subject(
                    plan,
                    language,
                    "missing_workbook",
                    cycle_id=cycle.id if cycle else "",
                    institution=code,
                ),
                language=language,
                cycle_id=cycle.id if cycle else None,
                institution_code=code,
                auto_submitted="auto-replied",
                plan=plan,
                institution=institution,
                cycle=cycle,
                evidence=evidence,
                their_subject=message.subject,
                in_reply_to=threading[0],
                references=threading[1],
            )
        )
    return mails
