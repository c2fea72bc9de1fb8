"""Intake: store every received file first, then identify, read, validate and answer it.

Three steps with the ledger in between, so a crash at any point loses nothing and a re-run
repeats nothing: ``store`` writes bytes and rows before a message is marked done; ``process``
handles only submissions still ``received``; replies go through the mail ledger's keys.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from tasks.findings import Finding, finding, has_errors
from tasks.inbox import Received, sources
from tasks.ledger import (
    Cycle,
    Email,
    FindingRow,
    InboundMessage,
    MilestoneValue,
    Submission,
    latest_accepted,
    previous_cycle,
    session,
    utcnow,
)
from tasks.mail import Outgoing, compose
from tasks.plans import Plan
from tasks.rendering import month_year
from tasks.settings import Settings
from tasks.spreadsheets import ReadResult, UnreadableFile, read_submission
from tasks.validation import Prepared, prepare, validate
from tasks.workbooks import mark_findings, verify


@dataclass
class Outcome:
    """What intake decided about one submission, as every caller (CLI, flow, reply) needs it."""

    submission_id: int
    outcome: str
    institution: str | None
    cycle: str | None
    filename: str
    sender: str
    findings: list[Finding]

    def summary(self) -> dict[str, object]:
        """One line for tables: the intake artifact and the CLI."""
        return {
            "envío": self.submission_id,
            "archivo": self.filename,
            "institución": self.institution or "",
            "ciclo": self.cycle or "",
            "resultado": self.outcome,
            "errores": sum(f.severity == "error" for f in self.findings),
            "advertencias": sum(f.severity == "warning" for f in self.findings),
        }

    def as_dict(self) -> dict[str, object]:
        return {
            "submission": self.submission_id,
            "outcome": self.outcome,
            "institution": self.institution,
            "cycle": self.cycle,
            "filename": self.filename,
            "findings": [f.as_dict() for f in self.findings],
        }


def store(
    settings: Settings,
    received: Received,
    institution: str | None = None,
    cycle_id: str | None = None,
) -> list[int]:
    """Keep the message's files (content-addressed) and their ledger rows; ids of new submissions.

    A message already stored (same Message-ID) or a file already received (same sha256) is
    recognised and not stored again. Files are checked even when the Message-ID is known: two
    different emails can share one (some clients derive it from sender and subject).
    """
    arrived = received.arrived or utcnow()
    with session(settings.database) as db:
        if db.get(InboundMessage, received.message_id) is None:
            db.add(
                InboundMessage(
                    message_id=received.message_id,
                    channel=received.channel,
                    sender=received.sender,
                    subject=received.subject[:500],
                    received_at=arrived,
                )
            )
        new: list[Submission] = []
        for attachment in received.attachments:
            digest = hashlib.sha256(attachment.data).hexdigest()
            if db.scalars(select(Submission.id).where(Submission.sha256 == digest)).first():
                continue
            path = settings.folder("files", digest[:2]) / digest
            if not path.exists():
                path.write_bytes(attachment.data)
            submission = Submission(
                sha256=digest,
                path=str(path),
                filename=Path(attachment.filename).name[:250],
                sender=received.sender,
                channel=received.channel,
                source_ref=received.message_id,
                institution=institution,
                cycle_id=cycle_id,
                received_at=arrived,
            )
            db.add(submission)
            new.append(submission)
        db.flush()
        return [s.id for s in new]


def open_cycle_id(settings: Settings) -> str | None:
    """The newest open cycle: where a file that does not say its cycle belongs."""
    with session(settings.database) as db:
        return db.scalars(
            select(Cycle.id).where(Cycle.state == "open").order_by(Cycle.id.desc())
        ).first()


def identify(
    settings: Settings, plan: Plan, read: ReadResult, sender: str, filename: str
) -> tuple[str | None, str | None, list[Finding]]:
    """Institution and cycle of a file: its signed ``_meta``, else its content, sender or name."""
    notes: list[Finding] = []
    meta = read.meta
    codes = {i.code for i in plan.reporting_institutions()}
    if meta.get("signature"):
        if verify(meta, settings.signing_key.get_secret_value()) and meta.get("plan") == plan.id:
            return meta.get("institution"), meta.get("cycle"), notes
        notes.append(finding("signature-invalid", "warning", language=settings.language))
    cycle = open_cycle_id(settings)
    named = {str(v).strip().upper() for v in read.rows.get("institucion", [])} & codes
    if len(named) == 1:
        return named.pop(), cycle, notes
    by_sender = [i.code for i in plan.reporting_institutions() if sender in contacts(plan, i.code)]
    if len(by_sender) == 1:
        return by_sender[0], cycle, notes
    in_name = [c for c in codes if c.lower() in filename.lower()]
    if len(in_name) == 1:
        return in_name[0], cycle, notes
    return None, cycle, notes


def contacts(plan: Plan, institution: str) -> set[str]:
    i = plan.institution(institution)
    return {i.liaison.email.lower(), i.head.email.lower()}


def process(
    settings: Settings, plan: Plan, submission_ids: list[int] | None = None
) -> list[Outcome]:
    """Read, identify and validate every submission still ``received``, in one validation batch."""
    with session(settings.database) as db:
        query = select(Submission).where(Submission.outcome == "received")
        if submission_ids is not None:
            query = query.where(Submission.id.in_(submission_ids))
        pending = list(db.scalars(query.order_by(Submission.id)))
    decided: dict[int, tuple[str, str | None, str | None, list[Finding], ReadResult | None]] = {}
    batch: list[Prepared] = []
    for sub in pending:
        decided[sub.id] = first_look(settings, plan, sub)
        outcome, institution, cycle_id, notes, read = decided[sub.id]
        if outcome == "validate" and read is not None and institution and cycle_id:
            batch.append(prepared_rows(settings, plan, sub, read, institution, cycle_id))
    results = validate(batch, plan, settings.language)
    outcomes = []
    for sub in pending:
        outcome, institution, cycle_id, notes, read = decided[sub.id]
        findings = notes + results.get(str(sub.id), [])
        if outcome == "validate":
            outcome = (
                "rejected"
                if has_errors(findings)
                else ("accepted_with_warnings" if findings else "accepted")
            )
        outcomes.append(record(settings, sub.id, outcome, institution, cycle_id, findings, read))
    return outcomes


def first_look(
    settings: Settings, plan: Plan, sub: Submission
) -> tuple[str, str | None, str | None, list[Finding], ReadResult | None]:
    """Read and identify one stored file: ``validate`` when it can go on to the suite."""
    data = Path(sub.path).read_bytes()
    language = settings.language
    try:
        read = read_submission(data, sub.filename, settings.max_file_mb * 1024 * 1024)
    except UnreadableFile as exc:
        problem = finding(
            exc.rule, filename=sub.filename, reason=exc.reason, language=language, **exc.details
        )
        institution, cycle_id, _ = identify_by_sender(settings, plan, sub.sender)
        return "unreadable", institution, cycle_id, [problem], None
    if sub.institution and sub.cycle_id:
        institution, cycle_id = sub.institution, sub.cycle_id
        notes: list[Finding] = []
    else:
        institution, cycle_id, notes = identify(settings, plan, read, sub.sender, sub.filename)
    if institution is None or cycle_id is None:
        notes.append(finding("not-identified", filename=sub.filename, language=language))
        return "quarantined", institution, cycle_id, notes, read
    if sub.sender and sub.channel != "cli" and sub.sender not in contacts(plan, institution):
        notes.append(
            finding(
                "sender-not-a-contact",
                "warning",
                sender=sub.sender,
                institution=institution,
                language=language,
            )
        )
    if read.findings:
        return "rejected", institution, cycle_id, notes + read.findings, read
    return "validate", institution, cycle_id, notes, read


def identify_by_sender(
    settings: Settings, plan: Plan, sender: str
) -> tuple[str | None, str | None, list[Finding]]:
    matches = [i.code for i in plan.reporting_institutions() if sender in contacts(plan, i.code)]
    return (matches[0] if len(matches) == 1 else None), open_cycle_id(settings), []


def prepared_rows(
    settings: Settings,
    plan: Plan,
    sub: Submission,
    read: ReadResult,
    institution: str,
    cycle_id: str,
) -> Prepared:
    """The file's rows with last cycle's progress beside them, ready for the suite."""
    with session(settings.database) as db:
        cycle = db.get(Cycle, cycle_id)
        reference = cycle.deadline if cycle else date.today()
        before = previous_cycle(db, cycle_id)
        previous: dict[str, float] = {}
        if before is not None:
            last = latest_accepted(db, before.id, institution)
            if last is not None:
                previous = {v.milestone: v.avance_pct for v in last.values}
    return prepare(
        read.rows,
        str(sub.id),
        plan,
        institution,
        reference,
        previous,
        before.id if before else "",
        settings.language,
    )


def record(
    settings: Settings,
    submission_id: int,
    outcome: str,
    institution: str | None,
    cycle_id: str | None,
    findings: list[Finding],
    read: ReadResult | None,
) -> Outcome:
    """Write the outcome, findings, version and (when accepted) the reported values."""
    with session(settings.database) as db:
        sub = db.get(Submission, submission_id)
        assert sub is not None
        sub.institution, sub.cycle_id, sub.outcome = institution, cycle_id, outcome
        sub.processed_at = utcnow()
        if institution and cycle_id:
            count = db.scalar(
                select(func.count(Submission.id)).where(
                    Submission.cycle_id == cycle_id,
                    Submission.institution == institution,
                    Submission.id < submission_id,
                )
            )
            sub.version = int(count or 0) + 1
        sub.findings = [
            FindingRow(
                milestone=f.milestone,
                column=f.column,
                row=f.row,
                rule=f.rule,
                severity=f.severity,
                message=f.message,
            )
            for f in findings
        ]
        if outcome in ("accepted", "accepted_with_warnings") and read is not None:
            sub.values = [
                MilestoneValue(
                    milestone=row.codigo_hito,
                    estado=row.estado,
                    avance_pct=float(row.avance_pct),
                    descripcion_avance=row.descripcion_avance,
                    evidencia_url=row.evidencia_url,
                    observaciones=row.observaciones,
                )
                for row in read.rows.itertuples()
            ]
        return Outcome(sub.id, outcome, institution, cycle_id, sub.filename, sub.sender, findings)


def store_all(settings: Settings) -> list[int]:
    """Store every new message's files; a message is marked done only once they are stored."""
    stored: list[int] = []
    for received in sources(settings):
        stored += store(settings, received)
        received.done()
    return stored


def as_outcome(sub: Submission) -> Outcome:
    return Outcome(
        sub.id,
        sub.outcome,
        sub.institution,
        sub.cycle_id,
        sub.filename,
        sub.sender,
        [f.as_finding() for f in sub.findings],
    )


def outcome_of(settings: Settings, sha256: str) -> Outcome:
    """The outcome of the file with this content (the first time it was received)."""
    with session(settings.database) as db:
        sub = db.scalars(select(Submission).where(Submission.sha256 == sha256)).first()
        assert sub is not None, "file was not stored"
        return as_outcome(sub)


def cycle_outcomes(
    settings: Settings, cycle_id: str, institution: str | None = None
) -> list[Outcome]:
    """Every submission of a cycle with its findings, for reviewers."""
    with session(settings.database) as db:
        query = select(Submission).where(Submission.cycle_id == cycle_id)
        if institution:
            query = query.where(Submission.institution == institution)
        return [as_outcome(s) for s in db.scalars(query.order_by(Submission.id))]


def reply_key(submission: Submission) -> str:
    return f"{submission.cycle_id or '-'}/{submission.institution or '-'}/reply/{submission.id}"


def unanswered(settings: Settings, plan: Plan) -> list[Outgoing]:
    """Replies owed: every processed emailed file whose reply was never sent (crash-safe).

    A reply that failed or was left half-sent is owed too; the mail ledger's claim decides
    whether it may go now.
    """
    with session(settings.database) as db:
        answered = set(
            db.scalars(
                select(Email.key).where(
                    Email.kind == "reply", Email.status.in_(("sent", "refused"))
                )
            )
        )
        subs = db.scalars(
            select(Submission)
            .where(Submission.outcome != "received", Submission.channel.in_(("mail", "imap")))
            .order_by(Submission.id)
        ).all()
        owed = [as_outcome(s) for s in subs if reply_key(s) not in answered]
    return [mail for o in owed if (mail := reply_email(settings, plan, o))]


def reply_email(settings: Settings, plan: Plan, outcome: Outcome) -> Outgoing | None:
    """The answer to the sender: accepted (with warnings), or what to fix, with the marked file."""
    if not outcome.sender:
        return None
    with session(settings.database) as db:
        sub = db.get(Submission, outcome.submission_id)
        assert sub is not None
        cycle = db.get(Cycle, outcome.cycle) if outcome.cycle else None
        data, version = Path(sub.path).read_bytes(), sub.version
    attachments: list[Path] = []
    if outcome.outcome == "rejected":
        marked = mark_findings(data, outcome.filename, outcome.findings)
        if marked is not None:
            folder = settings.folder("replies", outcome.cycle or "sin-ciclo")
            path = folder / f"corregir-{outcome.submission_id}-{Path(outcome.filename).stem}.xlsx"
            path.write_bytes(marked)
            attachments.append(path)
    name = (
        f"{outcome.institution} ({plan.institution(outcome.institution).name})"
        if outcome.institution
        else ""
    )
    label = {
        "accepted": "Archivo aceptado",
        "accepted_with_warnings": "Archivo aceptado con advertencias",
        "rejected": "Archivo rechazado: corrija y reenvíe",
        "unreadable": "No pudimos leer su archivo",
        "quarantined": "No pudimos identificar su archivo",
    }[outcome.outcome]
    period = f" · {month_year(outcome.cycle)}" if outcome.cycle else ""
    who = f" · {outcome.institution}" if outcome.institution else ""
    return compose(
        "reply",
        key=reply_key(sub),
        kind="reply",
        to=[outcome.sender],
        subject=f"[Gobierno Abierto] {label}{period}{who}",
        attachments=attachments,
        cycle_id=outcome.cycle,
        institution_code=outcome.institution,
        plan=plan,
        outcome=outcome.outcome,
        filename=outcome.filename,
        institution_name=name,
        period=outcome.cycle or "",
        version=version,
        findings=outcome.findings,
        marked=bool(attachments),
        deadline=cycle.deadline if cycle else None,
    )
