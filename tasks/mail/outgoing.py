"""Outgoing mail: render an email from its templates and send it once, through yagmail.

Every email has a deterministic key (cycle, institution, kind, sequence). It is claimed in the
ledger before it is sent and marked sent after, so re-running a flow after a crash, or running it
twice at once, sends nothing already sent. The one unavoidable window (the SMTP server accepted the
message, the ledger was not yet updated) falls on the side of sending again: a claim left in
"sending" longer than ``STALE_CLAIM`` is retried with the same Message-ID, which mail clients use
to fold duplicates. A lost request is worse than a duplicate one.
"""

from __future__ import annotations

import hashlib
import hmac
import smtplib
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import yagmail
from sqlalchemy import and_, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from yagmail.headers import resolve_addresses
from yagmail.message import prepare_message

from tasks.catalogues import text
from tasks.rendering import render
from tasks.settings import Settings, secret
from tasks.storage.ledger import Email, session, utcnow

if TYPE_CHECKING:
    from tasks.plans.plan import Plan

STALE_CLAIM = timedelta(minutes=15)
WIRE = compat32.clone(linesep="\r\n")
SMTP_TIMEOUT = 60
IDLE_CHECK = 10.0  # seconds a connection may sit unused before it is checked with NOOP
ALTERNATIVE = "multipart/alternative"
RELATED = "multipart/related"


def headers(message: Message, mail: Outgoing, sender: str, display_name: str) -> None:
    """From with the directorate's name, Date in the plan's time zone, threading and RFC 3834."""
    if display_name:
        del message["From"]
        message["From"] = formataddr((display_name, sender), charset="utf-8")
    moment = mail.date
    if mail.timezone:
        moment = moment or datetime.now(UTC)
        moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(
            ZoneInfo(mail.timezone)
        )
    if moment is not None:
        del message["Date"]
        message["Date"] = format_datetime(moment)
    if mail.in_reply_to:
        message["In-Reply-To"] = mail.in_reply_to
        message["References"] = mail.references or mail.in_reply_to
    if mail.auto_submitted:
        message["Auto-Submitted"] = mail.auto_submitted


@dataclass
class Outgoing:
    """One email ready to send: both bodies rendered, attachments on disk."""

    key: str
    kind: str
    to: list[str]
    subject: str
    html: str
    text: str
    cc: list[str] = field(default_factory=list)
    attachments: list[Path] = field(default_factory=list)
    cycle_id: str | None = None
    institution: str | None = None
    plan_id: str | None = None  # the plan of the ``plan`` the email was composed for
    date: datetime | None = None  # the Date header; None is now (only the demo replays the past)
    timezone: str = ""  # the plan's: the Date header reads in the directorate's own time
    in_reply_to: str = ""  # the institution's Message-ID, when this answers it
    references: str = ""
    auto_submitted: str = ""  # RFC 3834: compose makes it auto-generated, replies auto-replied


def plan_subject(plan: Plan, language: str, kind: str, **values: Any) -> str:
    """The subject of one of a plan's emails (``subject.<kind>`` of the catalogue), with the
    plan's short name beside the cycle when it has one: one place, so no email forgets it."""
    return text(language, f"subject.{kind}", plan_name=plan.short_name, **values)


def compose(
    template: str,
    *,
    key: str,
    kind: str,
    to: list[str],
    subject: str,
    cc: list[str] | None = None,
    attachments: list[Path] | None = None,
    cycle_id: str | None = None,
    institution_code: str | None = None,
    language: str = "es",
    in_reply_to: str = "",
    references: str = "",
    auto_submitted: str = "auto-generated",
    **context: Any,
) -> Outgoing:
    """An email from ``templates/email/<template>.html`` and ``.txt`` (the plain alternative),
    in ``language`` (the words from its catalogue), dated in the time zone
    of the ``plan`` in the context."""
    plan = context.get("plan")
    return Outgoing(
        key=key,
        kind=kind,
        to=to,
        subject=subject,
        html=render(f"email/{template}.html", language, subject=subject, **context),
        text=render(f"email/{template}.txt", language, subject=subject, **context),
        cc=cc or [],
        attachments=attachments or [],
        cycle_id=cycle_id,
        institution=institution_code,
        plan_id=getattr(plan, "id", None),
        timezone=getattr(plan, "timezone", ""),
        in_reply_to=in_reply_to,
        references=references,
        auto_submitted=auto_submitted,
    )


def message_id(key: str, sender: str, secret: str = "") -> str:
    """A Message-ID derived from the email's key: the same email always has the same id.

    Keyed with the settings' secret (HMAC), so that nobody who has not seen an email can write
    its id: answering in the thread of a request lets a file in from an address Hitos does not
    know (``tasks.intake.senders``), and keys such as ``gt-pan5/2023-03/MINGOB/request/1`` are
    easy to guess.
    """
    digest = hmac.new(secret.encode(), key.encode(), hashlib.sha256).hexdigest()[:32]
    return f"<{digest}@{sender.split('@')[-1]}>"


def id_secret(settings: Settings) -> str:
    """The secret Hitos' Message-IDs are keyed with: the one that signs request workbooks."""
    return settings.signing_key.get_secret_value()


class Mailer(yagmail.SMTP):
    """yagmail with a real plain-text alternative and one connection reused for many emails.

    yagmail writes its HTML into the text/plain part too and opens a new connection on every
    ``send``; Hitos renders its own plain text and keeps the connection while it is alive.
    """

    last_used = 0.0  # time.monotonic() of the connection's last command
    display_name = ""  # the directorate's name on From
    id_secret = ""  # what keys the Message-IDs (``message_id``): the settings' signing key

    def login(self) -> None:
        """Reuse the open connection; check it with NOOP only after ``IDLE_CHECK`` unused.

        A NOOP per email was a round trip per email; a connection the server dropped while
        busy shows up as an error on the send itself, which ``deliver_with_retries`` retries.
        """
        if self.smtp is not None and not self.is_closed:
            if time.monotonic() - self.last_used < IDLE_CHECK:
                return
            try:
                if self.smtp.noop()[0] == 250:
                    return
            except (smtplib.SMTPException, OSError):
                pass
        super().login()

    def message(self, mail: Outgoing, sender: str) -> tuple[list[str], str]:
        """Recipients and the MIME text: yagmail's message with our plain-text part.

        yagmail's ``prepare_send`` returns text, which had to be parsed again to replace its
        plain part (two MIME serialisations and a parse per email, half the cost of sending);
        its ``prepare_message`` gives the message object, serialised once here.
        """
        addresses = resolve_addresses(self.user, self.useralias, mail.to, mail.cc or None, None)
        message = prepare_message(
            self.user,
            self.useralias,
            addresses,
            mail.subject,
            [mail.html],
            [str(p) for p in mail.attachments] or None,
            None,
            self.encoding,
            prettify_html=False,
            message_id=message_id(mail.key, sender, self.id_secret),
            dkim=self.dkim,
        )
        headers(message, mail, sender, self.display_name)
        alternative = next(p for p in message.walk() if p.get_content_type() == ALTERNATIVE)
        parts = alternative.get_payload()
        plain = next(i for i, p in enumerate(parts) if p.get_content_type() == "text/plain")
        parts[plain] = MIMEText(mail.text, "plain", "utf-8")
        # yagmail turns every newline of the HTML into <br> (hundreds of pixels of blank space
        # inside tables) and wraps it in a <div>: the part goes out as the template rendered it.
        related = next(p for p in message.walk() if p.get_content_type() == RELATED)
        related.get_payload()[0] = MIMEText(mail.html, "html", "utf-8")
        # yagmail builds a compat32 message: its own policy encodes non-ASCII headers (RFC 2047),
        # which the modern SMTP policy would send as raw UTF-8.
        return addresses["recipients"], message.as_string(policy=WIRE)

    def deliver(self, mail: Outgoing, sender: str) -> dict[str, tuple[int, bytes]]:
        """Send one email on the open connection; returns the recipients the server refused.

        An address that is not ASCII (``ñandú@gae.example``) needs SMTPUTF8 (RFC 6531): asked
        for when the server offers it, else ``Undeliverable`` before anything is sent.
        """
        recipients, raw = self.message(mail, sender)
        self.login()
        options = []
        if not all(address.isascii() for address in [self.user, *recipients]):
            if not self.smtp.has_extn("smtputf8"):
                raise Undeliverable(
                    "address is not ASCII and the SMTP server does not offer SMTPUTF8 (RFC 6531)"
                )
            options = ["SMTPUTF8"]
        try:
            return self.smtp.sendmail(self.user, recipients, raw.encode("utf-8"), options)
        finally:
            self.last_used = time.monotonic()


class Undeliverable(Exception):
    """An email that cannot be sent to its addresses by this server, whatever the retries."""


def tls_context(settings: Settings) -> ssl.SSLContext:
    """Certificate and host name verified, against the system's CAs or the configured file.

    smtplib's own STARTTLS default verifies nothing, so Hitos always passes this context.
    """
    cafile = str(settings.smtp_ca_file) if settings.smtp_ca_file else None
    return ssl.create_default_context(cafile=cafile)


@contextmanager
def mailer(settings: Settings) -> Iterator[Mailer]:
    """A yagmail connection configured from the settings; the password is never logged."""
    password = secret("HITOS_SMTP_PASSWORD", settings.smtp_password) if settings.smtp_user else ""
    if settings.smtp_user and not password:
        raise RuntimeError(
            f"SMTP login {settings.smtp_user!r} has no password: set HITOS_SMTP_PASSWORD "
            "or a Prefect Secret block named hitos-smtp-password"
        )
    security = settings.smtp_security
    context = tls_context(settings) if security != "plain" else None
    client = Mailer(
        user=settings.smtp_user or settings.sender,
        password=password or None,
        host=settings.smtp_host,
        port=settings.smtp_port,
        smtp_ssl=security == "ssl",
        smtp_starttls={"context": context} if security == "starttls" else False,
        smtp_skip_login=not settings.smtp_user,
        soft_email_validation=False,
        timeout=SMTP_TIMEOUT,
        **({"context": context} if security == "ssl" else {}),
    )
    client.display_name = settings.sender_name
    client.id_secret = id_secret(settings)
    try:
        yield client
    finally:
        client.close()


@dataclass(frozen=True)
class Attempt:
    """How one attempt to deliver an email ended (sent, refused, failed), for the ledger."""

    key: str
    status: str
    error: str = ""


def _record(db: Session, ended: Attempt) -> None:
    sent_at = {"sent_at": utcnow()} if ended.status == "sent" else {}
    db.execute(
        update(Email)
        .where(Email.key == ended.key)
        .values(status=ended.status, error=ended.error, **sent_at)
    )


def record(settings: Settings, key: str, status: str, error: str = "") -> None:
    """Write one email's outcome in its own transaction."""
    with session(settings.database) as db:
        _record(db, Attempt(key, status, error))


def claim(settings: Settings, mail: Outgoing, previous: Attempt | None = None) -> bool:
    """Reserve the email's key; False when it was sent, refused, or is being sent right now.

    A failed email (the server never took it) is claimed again at once; one left "sending"
    only after ``STALE_CLAIM``, since the server may have taken it before a crash.
    ``previous``, how delivering the email just before ended, is written in the same
    transaction: one commit per email instead of two, and still at most one email in doubt.
    """
    now = utcnow()
    try:
        with session(settings.database) as db:
            if previous is not None:
                _record(db, previous)
            if db.get(Email, mail.key) is not None:
                return _reclaim(db, mail.key, now)
            db.add(
                Email(
                    key=mail.key,
                    plan_id=mail.plan_id,
                    cycle_id=mail.cycle_id,
                    institution=mail.institution,
                    kind=mail.kind,
                    to=", ".join(mail.to),
                    cc=", ".join(mail.cc),
                    subject=mail.subject,
                    message_id=message_id(mail.key, settings.sender, id_secret(settings)),
                    claimed_at=now,
                )
            )
        return True
    except IntegrityError:  # another run inserted the key between our read and our insert
        if previous is not None:
            record(settings, previous.key, previous.status, previous.error)
        with session(settings.database) as db:
            return _reclaim(db, mail.key, now)


def _reclaim(db: Session, key: str, now: datetime) -> bool:
    """Take over an existing key when it failed, or when its claim is stale."""
    stale = db.execute(
        update(Email)
        .where(
            Email.key == key,
            or_(
                Email.status == "failed",
                and_(Email.status == "sending", Email.claimed_at < now - STALE_CLAIM),
            ),
        )
        .values(claimed_at=now, status="sending")
    )
    return bool(getattr(stale, "rowcount", 0))


def send_all(settings: Settings, mails: list[Outgoing]) -> dict[str, str]:
    """Send each email not sent before; the status of every key (sent, skipped, refused, failed).

    Each email is claimed just before it is delivered and its outcome written with the next
    claim (or alone after the last), so a crash leaves at most one claim in doubt. Once the
    server is unreachable the rest are recorded as failed, not attempted.
    """
    statuses: dict[str, str] = {}
    interval = 60 / settings.smtp_per_minute if settings.smtp_per_minute else 0.0
    unreachable = False
    pending: Attempt | None = None
    try:
        with mailer(settings) as client:
            for mail in mails:
                claimed, pending = claim(settings, mail, pending), None
                if not claimed:
                    statuses[mail.key] = "skipped"
                    continue
                if unreachable:
                    pending = Attempt(mail.key, "failed", "not attempted: SMTP server unreachable")
                    statuses[mail.key] = "failed"
                    continue
                started = time.monotonic()
                pending = deliver_with_retries(settings, client, mail)
                statuses[mail.key] = pending.status
                unreachable = pending.status == "failed" and bool(client.is_closed)
                wait = interval - (time.monotonic() - started)
                if wait > 0:  # rate-limited: record now rather than after the pause
                    record(settings, pending.key, pending.status, pending.error)
                    pending = None
                    time.sleep(wait)
    finally:
        if pending is not None:
            record(settings, pending.key, pending.status, pending.error)
    return statuses


def deliver_with_retries(settings: Settings, client: Mailer, mail: Outgoing) -> Attempt:
    """Deliver, retrying temporary refusals (4xx) with growing delays; how it ended."""
    error = ""
    for attempt in range(settings.smtp_retries):
        try:
            refused = client.deliver(mail, settings.sender)
        except Undeliverable as exc:
            return Attempt(mail.key, "refused", f"undeliverable: {exc}")
        except smtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                error = f"{exc.smtp_code} {exc.smtp_error!r}"
                time.sleep(0.2 * 2**attempt)
                continue
            return Attempt(mail.key, "refused", f"{exc.smtp_code} {exc.smtp_error!r}")
        except (smtplib.SMTPException, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"
            client.is_closed = True
            time.sleep(0.2 * 2**attempt)
            continue
        except Exception as exc:  # building or encoding this one email: never the whole batch
            client.is_closed = True  # the SMTP dialogue may be mid-transaction: start afresh
            return Attempt(mail.key, "refused", f"undeliverable: {type(exc).__name__}: {exc}")
        temporary = {r: c for r, c in refused.items() if 400 <= c[0] < 500}
        if temporary and len(temporary) == len(refused) == len(mail.to + mail.cc):
            error = "; ".join(f"{r}: {c[0]}" for r, c in temporary.items())
            time.sleep(0.2 * 2**attempt)
            continue
        if refused and len(refused) == len(mail.to + mail.cc):
            detail = "; ".join(f"{r}: {c[0]} {c[1]!r}" for r, c in refused.items())
            return Attempt(mail.key, "refused", detail)
        detail = "; ".join(f"{r}: {c[0]} {c[1]!r}" for r, c in refused.items())
        return Attempt(mail.key, "sent", detail)
    return Attempt(mail.key, "failed", error)


def write_preview(mail: Outgoing, settings: Settings, folder: Path) -> Path:
    """The email as an .eml file, without sending (for dry runs)."""
    client = Mailer(user=settings.sender, smtp_skip_login=True, soft_email_validation=False)
    client.display_name = settings.sender_name
    client.id_secret = id_secret(settings)
    _, raw = client.message(mail, settings.sender)
    path = folder / (mail.key.replace("/", "_") + ".eml")
    path.write_text(raw, encoding="utf-8")
    return path
