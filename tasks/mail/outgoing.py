"""Outgoing mail: render an email from its templates and send it once, through yagmail.

Every email has a deterministic key (cycle, institution, kind, sequence). It is claimed in the
ledger before it is sent and marked sent after, so re-running a flow after a crash, or running it
twice at once, sends nothing already sent. The one unavoidable window (the SMTP server accepted the
message, the ledger was not yet updated) falls on the side of sending again: a claim left in
"sending" longer than ``claim_timeout_minutes`` is retried with the same Message-ID, which mail
clients use to fold duplicates. A lost request is worse than a duplicate one.

An email that did not go out is never silent: the message as it would be sent again is kept in
the file store (``Email.kept``); a temporary failure is sent again by the next run of the step
that owes it, a refusal only when an operator says so (``retry``), and both show in
``hitos status``.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr
from functools import partial
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
from tasks.core.states import EmailStatus
from tasks.rendering import render
from tasks.settings import Settings, secret
from tasks.storage import filestore
from tasks.storage.ledger import Email, session, utcnow

if TYPE_CHECKING:
    from tasks.plans.plan import Plan

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


def message_id(key: str, sender: str) -> str:
    """A Message-ID derived from the email's key: the same email always has the same id."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<{digest}@{sender.split('@')[-1]}>"


class Mailer(yagmail.SMTP):
    """yagmail with a real plain-text alternative and one connection reused for many emails.

    yagmail writes its HTML into the text/plain part too and opens a new connection on every
    ``send``; Hitos renders its own plain text and keeps the connection while it is alive.
    """

    last_used = 0.0  # time.monotonic() of the connection's last command
    display_name = ""  # the directorate's name on From

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
            message_id=message_id(mail.key, sender),
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
        return self.send_raw(recipients, raw)

    def send_raw(self, recipients: list[str], raw: str) -> dict[str, tuple[int, bytes]]:
        """Send a message already built (``deliver``'s, or one kept for ``retry``)."""
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
    try:
        yield client
    finally:
        client.close()


@dataclass(frozen=True)
class SendResult:
    """How delivering one email ended, to be written to the ledger."""

    key: str
    status: str
    error: str = ""
    raw: str = ""
    """The message as it would be sent again, kept when it did not go out."""


def _record(db: Session, result: SendResult) -> None:
    values: dict[str, Any] = {"status": result.status, "error": result.error}
    if result.status == EmailStatus.SENT:
        values["sent_at"] = utcnow()
    elif result.raw:
        values["kept"] = filestore.put(db, result.raw.encode("utf-8"))
    db.execute(update(Email).where(Email.key == result.key).values(**values))


def record(settings: Settings, result: SendResult) -> None:
    """Write one email's outcome in its own transaction."""
    with session(settings.database) as db:
        _record(db, result)


def claim(settings: Settings, mail: Outgoing, previous: SendResult | None = None) -> bool:
    """Reserve the email's key; False when it was sent, refused, or is being sent right now.

    A failed email (the server never took it) is claimed again at once; one left "sending"
    only after ``claim_timeout_minutes``, since the server may have taken it before a crash.
    ``previous``, the outcome of the email delivered just before, is written in the same
    transaction: one commit per email instead of two, and still at most one email in doubt.
    """
    now = utcnow()
    try:
        with session(settings.database) as db:
            if previous is not None:
                _record(db, previous)
            if db.get(Email, mail.key) is not None:
                return _reclaim(db, mail.key, now, _in_doubt(settings))
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
                    message_id=message_id(mail.key, settings.sender),
                    claimed_at=now,
                )
            )
        return True
    except IntegrityError:  # another run inserted the key between our read and our insert
        if previous is not None:
            record(settings, previous)
        with session(settings.database) as db:
            return _reclaim(db, mail.key, now, _in_doubt(settings))


def _in_doubt(settings: Settings) -> timedelta:
    """How long a claim may sit in "sending" before a crashed run's email is sent again. Shorter
    means a slow SMTP server's email may go out twice (with the same Message-ID)."""
    return timedelta(minutes=settings.claim_timeout_minutes)


def _reclaim(
    db: Session, key: str, now: datetime, in_doubt: timedelta, statuses: tuple[str, ...] = ()
) -> bool:
    """Take over an existing key when it failed (or is in ``statuses``), or when its claim is
    stale."""
    stale = db.execute(
        update(Email)
        .where(
            Email.key == key,
            or_(
                Email.status.in_((EmailStatus.FAILED, *statuses)),
                and_(Email.status == EmailStatus.SENDING, Email.claimed_at < now - in_doubt),
            ),
        )
        .values(claimed_at=now, status=EmailStatus.SENDING)
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
    pending: SendResult | None = None
    try:
        with mailer(settings) as client:
            for mail in mails:
                claimed, pending = claim(settings, mail, pending), None
                if not claimed:
                    statuses[mail.key] = "skipped"
                    continue
                if unreachable:
                    not_tried = "not attempted: SMTP server unreachable"
                    raw = kept(client, mail, settings.sender)
                    pending = SendResult(mail.key, EmailStatus.FAILED, not_tried, raw)
                    statuses[mail.key] = EmailStatus.FAILED
                    continue
                started = time.monotonic()
                pending = deliver_with_retries(settings, client, mail)
                statuses[mail.key] = pending.status
                unreachable = pending.status == "failed" and bool(client.is_closed)
                wait = interval - (time.monotonic() - started)
                if wait > 0:  # rate-limited: record now rather than after the pause
                    record(settings, pending)
                    pending = None
                    time.sleep(wait)
    finally:
        if pending is not None:
            record(settings, pending)
    return statuses


def kept(client: Mailer, mail: Outgoing, sender: str) -> str:
    """The message as it would be sent again (for ``retry``); empty if it cannot be built."""
    try:
        return client.message(mail, sender)[1]
    except Exception:  # an email that cannot even be built has nothing to keep
        return ""


def deliver_with_retries(settings: Settings, client: Mailer, mail: Outgoing) -> SendResult:
    """Deliver, retrying temporary refusals (4xx) with growing delays; the outcome (with the
    message kept when it did not go out)."""
    recipients = len(mail.to + mail.cc)
    result = _delivered(settings, client, mail.key, recipients, partial(client.deliver, mail))
    if result.status == EmailStatus.SENT:
        return result
    return SendResult(result.key, result.status, result.error, kept(client, mail, settings.sender))


def _delivered(
    settings: Settings,
    client: Mailer,
    key: str,
    recipients: int,
    send: Callable[[str], dict[str, tuple[int, bytes]]],
) -> SendResult:
    """One email through ``send`` (given the envelope sender), classified: sent, refused for
    good (5xx, or it cannot be built), or failed for now (4xx, the server unreachable)."""
    error = ""
    for attempt in range(settings.smtp_retries):
        try:
            refused = send(settings.sender)
        except Undeliverable as exc:
            return SendResult(key, EmailStatus.REFUSED, f"undeliverable: {exc}")
        except smtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                error = f"{exc.smtp_code} {exc.smtp_error!r}"
                time.sleep(0.2 * 2**attempt)
                continue
            return SendResult(key, EmailStatus.REFUSED, f"{exc.smtp_code} {exc.smtp_error!r}")
        except (smtplib.SMTPException, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"
            client.is_closed = True
            time.sleep(0.2 * 2**attempt)
            continue
        except Exception as exc:  # building or encoding this one email: never the whole batch
            client.is_closed = True  # the SMTP dialogue may be mid-transaction: start afresh
            failure = f"undeliverable: {type(exc).__name__}: {exc}"
            return SendResult(key, EmailStatus.REFUSED, failure)
        temporary = {r: c for r, c in refused.items() if 400 <= c[0] < 500}
        if temporary and len(temporary) == len(refused) == recipients:
            error = "; ".join(f"{r}: {c[0]}" for r, c in temporary.items())
            time.sleep(0.2 * 2**attempt)
            continue
        if refused and len(refused) == recipients:
            detail = "; ".join(f"{r}: {c[0]} {c[1]!r}" for r, c in refused.items())
            return SendResult(key, EmailStatus.REFUSED, detail)
        detail = "; ".join(f"{r}: {c[0]} {c[1]!r}" for r, c in refused.items())
        return SendResult(key, EmailStatus.SENT, detail)
    return SendResult(key, EmailStatus.FAILED, error)


def retry(settings: Settings, keys: list[str]) -> dict[str, str]:
    """Send again, exactly as kept (the same Message-ID, which mail clients fold), emails that
    did not go out: failed ones (the next run of their step would too) and refused ones, which
    only an operator sends again (after fixing what the server refused). The status of each
    key: its new status, or ``skipped`` when it went out meanwhile or was never kept."""
    statuses: dict[str, str] = {}
    with mailer(settings) as client:
        for key in keys:
            with session(settings.database) as db:
                email = db.get(Email, key)
                again = email is not None and bool(email.kept)
                again = again and _reclaim(
                    db, key, utcnow(), _in_doubt(settings), (EmailStatus.REFUSED,)
                )
                raw = filestore.get(db, email.kept).decode() if again and email is not None else ""
                recipients = _addresses(email) if email is not None else []
            if not again:
                statuses[key] = "skipped"
                continue
            send = partial(_send_kept, client, recipients, raw)
            result = _delivered(settings, client, key, len(recipients), send)
            record(settings, result)
            statuses[key] = result.status
    return statuses


def _send_kept(
    client: Mailer, recipients: list[str], raw: str, sender: str
) -> dict[str, tuple[int, bytes]]:
    return client.send_raw(recipients, raw)


def _addresses(email: Email) -> list[str]:
    return [a.strip() for a in f"{email.to},{email.cc}".split(",") if a.strip()]


def write_preview(mail: Outgoing, settings: Settings, folder: Path) -> Path:
    """The email as an .eml file, without sending (for dry runs)."""
    client = Mailer(user=settings.sender, smtp_skip_login=True, soft_email_validation=False)
    client.display_name = settings.sender_name
    _, raw = client.message(mail, settings.sender)
    path = folder / (mail.key.replace("/", "_") + ".eml")
    path.write_text(raw, encoding="utf-8")
    return path
