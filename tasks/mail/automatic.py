"""Mail nobody meant to send: bounces and auto-replies, recognised before anything is read.

A bounce (an RFC 3464 delivery status notification, or the non-standard reports some servers
still send) carries the undelivered email back, attachment included: its workbook is never a
submission. It is matched to the email it bounces (the returned Message-ID, else the failed
address), recorded against it (``bounced`` with the reason) and the director is told once.
An auto-reply (RFC 3834 ``Auto-Submitted``, ``X-Autoreply``, ``Precedence``, vacation subjects)
is recorded and never answered: answering robots is how mail loops start.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from email import message_from_string
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parseaddr

from flufl.bounce import all_failures
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tasks.catalogues import language_of, text
from tasks.mail.outgoing import Outgoing, compose
from tasks.plans.plan import Institution, Plan
from tasks.settings import Settings
from tasks.storage.ledger import AutomaticMessage, Email, session

MAIL_SYSTEMS = ("mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon", "bounce")
"""Local parts of the addresses mail servers send their reports from."""
BOUNCE_SUBJECTS = re.compile(
    r"undeliver|undelivered mail|delivery status notification|delivery (has )?failed|"
    r"mail delivery (failed|failure|subsystem)|returned mail|failure notice|"
    r"no se puede entregar|no entregado|error de entrega|notificaci.n de estado de (la )?entrega",
    re.IGNORECASE,
)
VACATION_SUBJECTS = re.compile(
    r"fuera de (la )?oficina|respuesta automatica|auto(matic)?[ -]?reply|autorespuesta|"
    r"out of (the )?office|ausente de la oficina|estoy de vacaciones|on vacation|"
    r"away from (the )?office|abwesenheit|absence du bureau|reponse automatique"
)
"""Vacation subjects, matched without accents and in lower case."""
AUTO_PRECEDENCE = {"auto_reply", "bulk", "junk"}
MESSAGE_ID = re.compile(r"^message-id:\s*(<[^>\s]+>)", re.IGNORECASE | re.MULTILINE)
REASON_LIMIT = 300


@dataclass(frozen=True)
class Automatic:
    """What kind of automatic mail a message is, and what it says about the email it answers."""

    kind: str  # bounce, delay (a temporary failure report), auto-reply
    reason: str
    addresses: tuple[str, ...] = ()
    original_message_id: str = ""


def recognise(message: Message) -> Automatic | None:
    """The message as automatic mail, or None when a person (or their mail program) sent it."""
    return bounce(message) or auto_reply(message)


def bounce(message: Message) -> Automatic | None:
    """A delivery report: standard (``multipart/report``) or what flufl.bounce recognises."""
    report = delivery_status(message)
    if report is not None:
        return report
    sender = parseaddr(str(message.get("From", "")))[1].lower()
    from_mail_system = not sender or sender.split("@")[0] in MAIL_SYSTEMS
    subject = decoded(message.get("Subject"))
    if not (from_mail_system or BOUNCE_SUBJECTS.search(subject)):
        return None
    try:
        temporary, permanent = all_failures(message)
    except Exception:  # flufl.bounce's detectors fail on odd mail (an empty From: IndexError)
        temporary, permanent = frozenset(), frozenset()
    if not (permanent or temporary or (from_mail_system and BOUNCE_SUBJECTS.search(subject))):
        return None
    addresses = tuple(sorted(a.decode("ascii", "replace").lower() for a in permanent or temporary))
    return Automatic(
        "bounce" if permanent or not temporary else "delay",
        smtp_reason(message) or f"{subject.strip()} (from {sender or 'the mail system'})",
        addresses,
        returned_message_id(message),
    )


def delivery_status(message: Message) -> Automatic | None:
    """An RFC 3464 report: the recipients that failed (or were delayed) and why."""
    if message.get_content_type() != "multipart/report":
        return None
    if str(message.get_param("report-type", "")).lower() != "delivery-status":
        return None
    failed: list[tuple[str, str]] = []
    delayed: list[tuple[str, str]] = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        for fields in part.get_payload():
            if not isinstance(fields, Message) or "Action" not in fields:
                continue
            recipient = str(fields.get("Final-Recipient") or fields.get("Original-Recipient") or "")
            address = recipient.split(";", 1)[-1].strip().strip("<>").lower()
            why = str(fields.get("Diagnostic-Code") or fields.get("Status") or "")
            why = why.split(";", 1)[-1] if why.lower().startswith("smtp;") else why
            action = str(fields["Action"]).strip().lower()
            if action == "failed":
                failed.append((address, " ".join(why.split())))
            elif action == "delayed":
                delayed.append((address, " ".join(why.split())))
    chosen = failed or delayed
    if not chosen:
        return None
    reason = "; ".join(f"{a}: {w}" if w else a for a, w in chosen)[:REASON_LIMIT]
    return Automatic(
        "bounce" if failed else "delay",
        reason,
        tuple(sorted({a for a, _ in chosen if a})),
        returned_message_id(message),
    )


def returned_message_id(message: Message) -> str:
    """The Message-ID of the email that bounced: from the returned message or its headers, else
    from headers quoted in the report's text (what non-standard bounces do)."""
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload()
            returned = inner[0] if isinstance(inner, list) and inner else None
            if isinstance(returned, Message) and returned.get("Message-ID"):
                return " ".join(str(returned["Message-ID"]).split())
        if kind == "text/rfc822-headers":
            headers = message_from_string(text_of(part))
            if headers.get("Message-ID"):
                return " ".join(str(headers["Message-ID"]).split())
    for part in message.walk():
        if part.get_content_maintype() == "text":
            found = MESSAGE_ID.search(text_of(part))
            if found:
                return found.group(1)
    return ""


def smtp_reason(message: Message) -> str:
    """The first line of a non-standard report that reads like an SMTP refusal (``550 …``)."""
    for part in message.walk():
        if part.get_content_type() != "text/plain":
            continue
        for line in text_of(part).splitlines():
            if re.search(r"\b5\d\d[ -]|#?5\.\d{1,3}\.\d{1,3}", line):
                return " ".join(line.split())[:REASON_LIMIT]
    return ""


def text_of(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        try:
            return payload.decode(part.get_content_charset() or "utf-8", "replace")
        except LookupError:  # a charset Python does not know
            return payload.decode("utf-8", "replace")
    return str(part.get_payload()) if isinstance(part.get_payload(), str) else ""


def auto_reply(message: Message) -> Automatic | None:
    """An auto-reply by its headers (RFC 3834 and the common non-standard ones) or subject."""
    submitted = str(message.get("Auto-Submitted", "")).strip().lower()
    if submitted and submitted != "no":
        return Automatic("auto-reply", f"Auto-Submitted: {submitted}")
    for header in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply"):
        if message.get(header) is not None:
            return Automatic("auto-reply", f"{header}: {message[header]}")
    precedence = str(message.get("Precedence", "")).strip().lower()
    if precedence in AUTO_PRECEDENCE:
        return Automatic("auto-reply", f"Precedence: {precedence}")
    subject = decoded(message.get("Subject"))
    if VACATION_SUBJECTS.search(plain_words(subject)):
        return Automatic("auto-reply", f"vacation subject: {subject}")
    return None


def decoded(header: object) -> str:
    """A header as a person reads it: RFC 2047 words decoded, folding undone."""
    if header is None:
        return ""
    try:
        return " ".join(str(make_header(decode_header(str(header)))).split())
    except (HeaderParseError, LookupError, UnicodeDecodeError):
        return " ".join(str(header).split())


def plain_words(text: str) -> str:
    """Lower case without accents: «Respuesta automática» → «respuesta automatica»."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def record(
    db: Session, message_id: str, sender: str, subject: str, automatic: Automatic, arrived: datetime
) -> None:
    """Keep the automatic message; a bounce marks the email it bounces ``bounced`` with the
    reason, in the same transaction as the message is stored."""
    email = bounced_email(db, automatic) if automatic.kind == "bounce" else None
    db.add(
        AutomaticMessage(
            message_id=message_id,
            kind=automatic.kind,
            sender=sender,
            subject=subject[:500],
            reason=automatic.reason,
            addresses=", ".join(automatic.addresses),
            original_message_id=automatic.original_message_id,
            email_key=email.key if email else None,
            received_at=arrived,
        )
    )
    if email is not None:
        db.execute(
            update(Email)
            .where(Email.key == email.key)
            .values(status="bounced", error=automatic.reason)
        )


def recorded_after(settings: Settings, last_id: int | None) -> tuple[list[AutomaticMessage], int]:
    """Automatic messages recorded after the one numbered ``last_id`` (none when None), and the
    newest number: what one intake run recorded, for the operator."""
    with session(settings.database) as db:
        newest = db.scalar(select(func.max(AutomaticMessage.id))) or 0
        if last_id is None:
            return [], newest
        rows = db.scalars(
            select(AutomaticMessage)
            .where(AutomaticMessage.id > last_id)
            .order_by(AutomaticMessage.id)
        ).all()
        return list(rows), newest


def bounced_email(db: Session, automatic: Automatic) -> Email | None:
    """The email a bounce returns: by its Message-ID, else the newest sent to a failed address."""
    if automatic.original_message_id:
        found = db.scalars(
            select(Email).where(Email.message_id == automatic.original_message_id)
        ).first()
        if found is not None:
            return found
    for address in automatic.addresses:
        candidates = db.scalars(
            select(Email)
            .where(Email.to.contains(address), Email.status.in_(("sent", "bounced")))
            .order_by(Email.sent_at.desc(), Email.claimed_at.desc())
        ).all()
        for candidate in candidates:
            if address in {a.lower() for _, a in getaddresses([candidate.to])}:
                return candidate
    return None


def known_institution(plan: Plan, code: str | None) -> Institution | None:
    try:
        return plan.institution(code) if code else None
    except KeyError:
        return None


def notice_key(bounce: AutomaticMessage, email: Email | None) -> str:
    plan = email.plan_id if email and email.plan_id else "-"
    cycle = email.cycle_id if email and email.cycle_id else "-"
    institution = email.institution if email and email.institution else "-"
    return f"{plan}/{cycle}/{institution}/bounce/{bounce.id}"


def bounce_notices(settings: Settings, plan: Plan) -> list[Outgoing]:
    """One email to the plan's director per bounce of the plan's mail not yet told (a bounced
    notice is not noticed); a bounce of no plan's mail goes to the settings' plan's director."""
    director = plan.coordinator.director.email
    language = language_of(settings, plan)
    with session(settings.database) as db:
        told = set(
            db.scalars(
                select(Email.key).where(
                    Email.kind == "bounce-notice", Email.status.in_(("sent", "refused"))
                )
            )
        )
        bounces = db.scalars(
            select(AutomaticMessage)
            .where(AutomaticMessage.kind == "bounce")
            .order_by(AutomaticMessage.id)
        ).all()
        owed = []
        for item in bounces:
            email = db.get(Email, item.email_key) if item.email_key else None
            if email is not None and email.kind == "bounce-notice":
                continue
            owner = email.plan_id if email is not None and email.plan_id else settings.plan_id
            if owner != plan.id:
                continue
            if notice_key(item, email) not in told:
                owed.append((item, email))
    mails = []
    for item, email in owed:
        institution = known_institution(plan, email.institution if email else None)
        subject = text(
            language, "subject.bounce_notice", institution=institution.code if institution else ""
        )
        mails.append(
            compose(
                "bounce_notice",
                key=notice_key(item, email),
                kind="bounce-notice",
                language=language,
                to=[director],
                subject=subject,
                cycle_id=email.cycle_id if email else None,
                institution_code=institution.code if institution else None,
                plan=plan,
                bounce=item,
                email=email,
                institution=institution,
                console=settings.console,
            )
        )
    return mails
