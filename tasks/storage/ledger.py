"""The one ledger: what was opened, sent, received, found and published, in SQL.

SQLite in the workspace by default, PostgreSQL (or any SQLAlchemy URL) by setting. Every
side effect of Hitos is written here under a deterministic key, so a re-run can ask "already
done?" before doing anything again.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    and_,
    create_engine,
    event,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from tasks.core.cycles import cycle_label
from tasks.core.findings import Finding


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Blob(Base):
    """The bytes of every file one step hands to another, by sha256: every worker reaches them.

    Raw submissions, request workbooks, marked replies, evidence and report files live here, so
    a file and the row that names it commit together and no row holds a machine's path. The
    workspace folders are local copies for people to open (``tasks.storage.filestore.local_copy``).
    """

    __tablename__ = "blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Cycle(Base):
    """One reporting round of a plan: ``2023-03`` of ``gt-pan5``, shown ``gt-pan5/2023-03``.

    A cycle is its plan and its id: two plans may both have 2023-08 open at once (the 5th
    plan's close-out overlaps the 6th plan's first cycles), so every row that belongs to a cycle
    carries both, and every query by cycle asks for both.
    """

    __tablename__ = "cycles"
    plan_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(7), primary_key=True)
    opened_on: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(12), default="open")

    @property
    def label(self) -> str:
        """How people see the cycle: ``gt-pan5/2023-03``."""
        return cycle_label(self.plan_id, self.id)


def _of_cycle() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["plan_id", "cycle_id"], ["cycles.plan_id", "cycles.id"])


class Request(Base):
    """Cycle × institution: the workbook built for it (``workbook``: its file-store key)."""

    __tablename__ = "requests"
    __table_args__ = (UniqueConstraint("plan_id", "cycle_id", "institution"), _of_cycle())
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(40))
    cycle_id: Mapped[str] = mapped_column(String(7))
    institution: Mapped[str] = mapped_column(String(20))
    workbook: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(64))
    filled: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """Digest of what the institution fills, as sent (``tasks.workbooks.untouched``): intake
    tells an untouched return without reading the request again."""
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Email(Base):
    """An email Hitos sends, claimed under its key before sending so it is never sent twice."""

    __tablename__ = "emails"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    plan_id: Mapped[str | None] = mapped_column(String(40))
    cycle_id: Mapped[str | None] = mapped_column(String(7))
    institution: Mapped[str | None] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    to: Mapped[str] = mapped_column(Text)
    cc: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(250))
    status: Mapped[str] = mapped_column(String(12), default="sending")
    error: Mapped[str] = mapped_column(Text, default="")
    claimed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    kept: Mapped[str] = mapped_column(String(64), default="")
    """File-store key of the message as it would be sent again, kept when it did not go out
    (``tasks.mail.outgoing.retry``)."""
    alerted_at: Mapped[datetime | None] = mapped_column(DateTime)
    """When the operator was told this email was refused (``tasks.operations.alerts``)."""


class InboundMessage(Base):
    """A received email, by Message-ID: its attachments are stored once, whatever the UID."""

    __tablename__ = "inbound_messages"
    message_id: Mapped[str] = mapped_column(String(250), primary_key=True)
    channel: Mapped[str] = mapped_column(String(12))
    sender: Mapped[str] = mapped_column(String(250))
    subject: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # A message intake could not take apart (kind "malformed"): why, for the operator, and its
    # raw bytes in the file store.
    problem: Mapped[str] = mapped_column(Text, default="")
    raw_sha256: Mapped[str] = mapped_column(String(64), default="")
    references: Mapped[str] = mapped_column(Text, default="")  # its thread, for In-Reply-To
    kind: Mapped[str] = mapped_column(String(16), default="files")  # see tasks.intake.arrivals


class Submission(Base):
    """One received file, kept forever; stored before it is parsed (bytes: the file store's
    ``sha256``)."""

    __tablename__ = "submissions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(250))
    sender: Mapped[str] = mapped_column(String(250), default="")
    channel: Mapped[str] = mapped_column(String(12))
    source_ref: Mapped[str] = mapped_column(String(250), default="")
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    plan_id: Mapped[str | None] = mapped_column(String(40))
    cycle_id: Mapped[str | None] = mapped_column(String(7))
    institution: Mapped[str | None] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str] = mapped_column(String(24), default="received")
    processed_at: Mapped[datetime | None] = mapped_column(DateTime)
    review: Mapped[str] = mapped_column(String(12), default="pending")
    """An accepted file's review: ``pending``, ``approved`` or ``returned``
    (``tasks.people.review``)."""
    claim: Mapped[str] = mapped_column(String(32), default="")
    """The validator run that took this file (``tasks.intake.process.claim_received``); empty:
    nobody."""
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    findings: Mapped[list[FindingRow]] = relationship(
        back_populates="submission", cascade="all, delete-orphan", order_by="FindingRow.id"
    )
    values: Mapped[list[MilestoneValue]] = relationship(
        back_populates="submission", cascade="all, delete-orphan", order_by="MilestoneValue.id"
    )


class FindingRow(Base):
    """One problem in a submission."""

    __tablename__ = "findings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    milestone: Mapped[str] = mapped_column(String(20), default="")
    column: Mapped[str] = mapped_column(String(40), default="")
    row: Mapped[int | None] = mapped_column(Integer)
    rule: Mapped[str] = mapped_column(String(60))
    severity: Mapped[str] = mapped_column(String(8))
    message: Mapped[str] = mapped_column(Text)
    submission: Mapped[Submission] = relationship(back_populates="findings")

    def as_finding(self) -> Finding:
        return Finding(
            self.milestone,
            self.column,
            self.rule,
            self.severity,  # type: ignore[arg-type]
            self.message,
            self.row,
        )


class MilestoneValue(Base):
    """What an accepted submission reported for one milestone."""

    __tablename__ = "milestone_values"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    milestone: Mapped[str] = mapped_column(String(20))
    estado: Mapped[str] = mapped_column(String(20))
    avance_pct: Mapped[float] = mapped_column(Float)
    descripcion_avance: Mapped[str] = mapped_column(Text, default="")
    evidencia_url: Mapped[str] = mapped_column(Text, default="")
    observaciones: Mapped[str] = mapped_column(Text, default="")
    submission: Mapped[Submission] = relationship(back_populates="values")


class AutomaticMessage(Base):
    """A bounce or an auto-reply: recorded, never read as a submission, never answered."""

    __tablename__ = "automatic_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(250), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # bounce, delay, auto-reply
    sender: Mapped[str] = mapped_column(String(250), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    addresses: Mapped[str] = mapped_column(Text, default="")  # the failed recipients
    original_message_id: Mapped[str] = mapped_column(String(250), default="")
    email_key: Mapped[str | None] = mapped_column(String(200))  # the email it bounces
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Evidence(Base):
    """A file sent beside a workbook (PDF, image, office document), kept in the file store."""

    __tablename__ = "evidence"
    __table_args__ = (UniqueConstraint("message_id", "sha256"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(250), index=True)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(250))
    size: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ContactChange(Base):
    """One institution's liaison or head from a date on: the history ``hitos contacts`` shows.

    The plan file is the initial source; the first change of an institution records the plan's
    contacts first, so the history starts where the plan did.
    """

    __tablename__ = "contact_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution: Mapped[str] = mapped_column(String(20), index=True)
    role: Mapped[str] = mapped_column(String(8))  # liaison, head
    name: Mapped[str] = mapped_column(String(250))
    email: Mapped[str] = mapped_column(String(250))
    valid_from: Mapped[date] = mapped_column(Date)
    changed_by: Mapped[str] = mapped_column(String(120), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Report(Base):
    """One consolidation of a cycle: a new version when its sources change (``files``: each
    kind of output, ``html``…, to its file-store key)."""

    __tablename__ = "reports"
    __table_args__ = (
        UniqueConstraint("plan_id", "cycle_id", "version"),
        UniqueConstraint("plan_id", "cycle_id", "sources"),
        _of_cycle(),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(40))
    cycle_id: Mapped[str] = mapped_column(String(7))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    submissions: Mapped[list[int]] = mapped_column(JSON)
    sources: Mapped[str] = mapped_column(String(64), default="")
    """``tasks.storage.queries.Sources.key``: one version per set of publishable files,
    deliveries and deadlines, however many runs; a published version whose key is no longer
    the ledger's is out of date."""
    institutions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """Each institution's delivery as this version shows it (``consolidation.snapshot``): the
    board shows a published version's deliveries as they were, not as they are now."""
    files: Mapped[dict[str, str]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(12), default="draft")
    """``draft`` until the director publishes it (``tasks.publication.approval``), then
    ``published``;
    ``superseded`` once a later version is published."""
    published_at: Mapped[datetime | None] = mapped_column(DateTime)
    published_by: Mapped[str] = mapped_column(String(250), default="")
    outdated_at: Mapped[datetime | None] = mapped_column(DateTime)
    """When a file or a review changed what this published version used (the director told)."""


class Decision(Base):
    """One human decision, for the audit trail: who, when, what and why.

    Reviews (approve, return), extensions and publications; never updated, never deleted.
    """

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(250))
    action: Mapped[str] = mapped_column(String(20))
    plan_id: Mapped[str] = mapped_column(String(40), default="")
    cycle_id: Mapped[str] = mapped_column(String(7), index=True)
    institution: Mapped[str | None] = mapped_column(String(20))
    submission_id: Mapped[int | None] = mapped_column(Integer)
    report_version: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")


class Extension(Base):
    """More time for one institution in one cycle: its own deadline and the reason."""

    __tablename__ = "extensions"
    __table_args__ = (UniqueConstraint("plan_id", "cycle_id", "institution"), _of_cycle())
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(40))
    cycle_id: Mapped[str] = mapped_column(String(7))
    institution: Mapped[str] = mapped_column(String(20))
    until: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    granted_by: Mapped[str] = mapped_column(String(250))
    granted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class PortalLink(Base):
    """A liaison's personal link to their institution's page in one cycle
    (``tasks.storage.links``): the row is what the signed token names, so revoking is a date."""

    __tablename__ = "portal_links"
    __table_args__ = (_of_cycle(),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(40))
    cycle_id: Mapped[str] = mapped_column(String(7))
    institution: Mapped[str] = mapped_column(String(20), index=True)
    email: Mapped[str] = mapped_column(String(250))
    """The liaison it was made for: files sent through it come from this address."""
    issued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_why: Mapped[str] = mapped_column(String(40), default="")


class ConsoleUser(Base):
    """An account of the directorate's console: ``director`` or ``reviewer``, argon2 hash."""

    __tablename__ = "console_users"
    email: Mapped[str] = mapped_column(String(250), primary_key=True)
    role: Mapped[str] = mapped_column(String(12))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ConsoleSession(Base):
    """A signed-in browser: the sha256 of its cookie's token, and its CSRF token."""

    __tablename__ = "console_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(ForeignKey("console_users.email"))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class SignInEvent(Base):
    """One sign-in to the console, failed, refused, ended or cleared: the sign-in audit log, and
    what the throttle counts (``tasks.people.accounts``). Never updated once decided.

    ``outcome``: ``attempt`` while the password is being checked (a crash leaves it, and it
    counts as a failure), then ``signed-in``, ``wrong`` or ``throttled`` (refused unchecked);
    ``signed-out``; ``unlocked`` (an operator, ``by``, cleared the account's throttle).
    """

    __tablename__ = "sign_in_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    email: Mapped[str] = mapped_column(String(250), index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(12))
    by: Mapped[str] = mapped_column(String(250), default="")


class ValidationRun(Base):
    """A submission's part of the suite run that validated it (``tasks.checks.data_docs``): its
    own Great Expectations result and, once someone asked for it, its Data Docs page, both in
    the file store. A file validated again replaces its row."""

    __tablename__ = "validation_runs"
    __table_args__ = (_of_cycle(),)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(40))
    cycle_id: Mapped[str] = mapped_column(String(7))
    run_time: Mapped[datetime] = mapped_column(DateTime)
    """When the suite ran (UTC)."""
    status: Mapped[str] = mapped_column(String(12))
    """``succeeded``, ``warnings`` (only warning rules failed) or ``failed``."""
    language: Mapped[str] = mapped_column(String(8))
    """The language the result's rules are described in, and its page is written in."""
    result: Mapped[str] = mapped_column(String(64))
    """The file-store key of the result (Great Expectations' JSON)."""
    page: Mapped[str | None] = mapped_column(String(64))
    """The file-store key of its Data Docs page; None until someone asked for it."""


class DocsFile(Base):
    """A file of a cycle's Data Docs site that is no run's page: the index, the suite's page, a
    static asset. ``name`` is its path in the site; ``source`` says what it was made from (the
    runs the index lists, the suite and language of the suite's page), so a stale one is made
    again."""

    __tablename__ = "data_docs_files"
    __table_args__ = (_of_cycle(),)
    plan_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    cycle_id: Mapped[str] = mapped_column(String(7), primary_key=True)
    name: Mapped[str] = mapped_column(String(250), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64), default="")
    written_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class LinkCheck(Base):
    """One check of an evidence link (``tasks.evidence``): whether it answered, when, and the
    page as fetched (``sha256``: its file-store key) when it did.

    A link's checks are facts about the web at a moment, shared by every file that names the
    link: the newest one says where it stands (``tasks.storage.queries.link_states``).
    """

    __tablename__ = "link_checks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    """As the liaison typed it (what ``MilestoneValue.evidencia_url`` holds)."""
    url_key: Mapped[str] = mapped_column(String(64), index=True)
    """``key_of(url)``: a link may be longer than PostgreSQL indexes text."""
    checked_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    reachable: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[int | None] = mapped_column(Integer)
    """The last HTTP status received, after redirects (None: no server answered)."""
    problem: Mapped[str] = mapped_column(String(24), default="")
    """``tasks.evidence.problems.Problem``, or empty."""
    sha256: Mapped[str] = mapped_column(String(64), default="")
    """The archived copy in the file store; empty when there is none."""
    media_type: Mapped[str] = mapped_column(String(100), default="")

    @staticmethod
    def key_of(url: str) -> str:
        return hashlib.sha256(url.encode("utf-8")).hexdigest()


class LinksChecked(Base):
    """An accepted file whose evidence links were checked after intake accepted it, its
    unreachable links recorded as warnings: the check's "already done?"."""

    __tablename__ = "links_checked"
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), primary_key=True)
    checked_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


# The Mesa Técnica (tasks/mesa/): its sessions, agreements, civil society's assessments, the
# communiqué, the plan changes it approves and the console's civil-society accounts.


class MesaSession(Base):
    """The Mesa's session of a cycle: when and where (local time of the plan), and its minutes.

    ``uid`` and ``sequence`` are the invitation's iCalendar UID and SEQUENCE: a change or a
    cancellation is sent again under the same UID with a higher SEQUENCE.
    """

    __tablename__ = "mesa_sessions"
    __table_args__ = (UniqueConstraint("plan_id", "cycle_id"), _of_cycle())
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(40))
    cycle_id: Mapped[str] = mapped_column(String(7))
    uid: Mapped[str] = mapped_column(String(120), unique=True)
    day: Mapped[date] = mapped_column(Date)
    starts: Mapped[str] = mapped_column(String(5))  # HH:MM, the plan's local time
    minutes_long: Mapped[int] = mapped_column(Integer, default=120)
    place: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), default="scheduled")  # or cancelled
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(Text, default="")  # why it was changed or cancelled
    present: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Codes of the members present, once the minutes are recorded."""
    minutes_by: Mapped[str] = mapped_column(String(250), default="")
    scheduled_by: Mapped[str] = mapped_column(String(250), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Agreement(Base):
    """An agreement (*acuerdo*) of a session: a tracked item with an owner and a due date."""

    __tablename__ = "mesa_agreements"
    __table_args__ = (UniqueConstraint("plan_id", "cycle_id", "number"), _of_cycle())
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(40))
    cycle_id: Mapped[str] = mapped_column(String(7))
    """The cycle of the session that made it."""
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(40))  # an institution or a member of the Mesa
    due: Mapped[date] = mapped_column(Date)
    milestone: Mapped[str] = mapped_column(String(20), default="")
    state: Mapped[str] = mapped_column(String(12), default="open")  # open, done, dropped
    note: Mapped[str] = mapped_column(Text, default="")  # how it was closed
    recorded_by: Mapped[str] = mapped_column(String(250), default="")
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    closed_by: Mapped[str] = mapped_column(String(250), default="")
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)


class Assessment(Base):
    """A civil-society organisation's view of a reported milestone; the newest one counts."""

    __tablename__ = "mesa_assessments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(40))
    cycle_id: Mapped[str] = mapped_column(String(7))
    milestone: Mapped[str] = mapped_column(String(20))
    organisation: Mapped[str] = mapped_column(String(40))  # the member's code
    verdict: Mapped[str] = mapped_column(String(16))  # agree, disagree, cannot-verify
    note: Mapped[str] = mapped_column(Text)
    evidence_url: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(250), default="")
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CommuniqueRow(Base):
    """A cycle's communiqué: the director's own words and whether it is approved for the board."""

    __tablename__ = "mesa_communiques"
    __table_args__ = (UniqueConstraint("plan_id", "cycle_id"), _of_cycle())
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(40))
    cycle_id: Mapped[str] = mapped_column(String(7))
    texts: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    """The paragraphs the director edited (``context``, ``presented``, ``closing``)."""
    report_version: Mapped[int | None] = mapped_column(Integer)
    """The published version it was approved on."""
    state: Mapped[str] = mapped_column(String(12), default="draft")  # or approved
    published_html: Mapped[str] = mapped_column(Text, default="")
    """Its text as approved, for the board (``board/mesa/<cycle>.html``): what the director
    approved is what stays public, however often the board is rebuilt."""
    approved_by: Mapped[str] = mapped_column(String(250), default="")
    approved_at: Mapped[datetime | None] = mapped_column(DateTime)


class PlanChange(Base):
    """A change to a milestone the Mesa approved in a session: the plan's next version.

    ``kind``: ``dates``, ``wording`` or ``withdrawal``; the new values are in the columns the
    kind uses. In force from ``valid_from`` (the session's day) on.
    """

    __tablename__ = "plan_changes"
    __table_args__ = (UniqueConstraint("plan_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    milestone: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(12))
    start: Mapped[date | None] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text, default="")
    expected_result: Mapped[str] = mapped_column(Text, default="")
    before: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    """The milestone's values just before this change (what the history shows it replaced)."""
    session_cycle: Mapped[str] = mapped_column(String(7))
    """The cycle whose session approved it."""
    valid_from: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(250), default="")
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CivilSocietyAccount(Base):
    """A console account of the civil-society role: the member organisation it speaks for."""

    __tablename__ = "civil_society_accounts"
    email: Mapped[str] = mapped_column(ForeignKey("console_users.email"), primary_key=True)
    organisation: Mapped[str] = mapped_column(String(40))


SCHEMA_LOCK = 0x48_69_74_6F_73
"""PostgreSQL advisory lock held while the tables are created: two workers starting on a fresh
ledger at once would otherwise both issue CREATE TABLE, and one would fail."""

_engines = threading.Lock()


def engine(url: str) -> Engine:
    """One engine per ledger URL, with the tables created (once, whichever thread asks first)."""
    with _engines:
        return _engine(url)


@cache
def _engine(url: str) -> Engine:
    # SQLite: a writer waits up to 30 s for another's write lock (decisions hold it while they
    # decide, ``hold``) instead of failing with "database is locked" after pysqlite's 5 s.
    sqlite = url.startswith("sqlite")
    eng = create_engine(url, connect_args={"timeout": 30} if sqlite else {})
    if eng.dialect.name == "sqlite":
        event.listen(eng, "connect", _write_ahead_log)
    with eng.begin() as connection:
        if eng.dialect.name == "postgresql":
            connection.execute(select(func.pg_advisory_xact_lock(SCHEMA_LOCK)))
        Base.metadata.create_all(connection)
    return eng


def _write_ahead_log(connection: Any, record: Any) -> None:
    """SQLite in WAL mode: a commit is one fsync of the log instead of the rollback journal's
    several (1 ms instead of 5–9 ms here), still fully durable; readers no longer block on a
    writer. Every email costs two commits and every received file two, so this bounds
    throughput at N = 1,000."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def insert_or_ignore(db: Session, model: type[Base], *conflict: str) -> Any:
    """``INSERT … ON CONFLICT (conflict) DO NOTHING`` in the ledger's dialect: a row two runs
    write at the same moment is written once, and neither sees an IntegrityError."""
    dialect = db.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return insert(model).on_conflict_do_nothing(index_elements=list(conflict))


def inserted(
    db: Session, model: type[Base], conflict: str, rows: list[dict[str, object]], *returned: Any
) -> list[Any]:
    """Insert the rows (all with the same keys) in one statement, ignoring those another run
    wrote first; the ``returned`` column (default: the conflict column) of the rows written.
    One statement for many rows matters: SQLAlchemy compiles a dialect's ON CONFLICT insert
    anew at every execution (it does not cache them)."""
    if not rows:
        return []
    column = returned[0] if returned else getattr(model, conflict)
    return list(db.scalars(insert_or_ignore(db, model, conflict).returning(column), rows))


@contextmanager
def session(url: str) -> Iterator[Session]:
    """A unit of work: committed when the block ends, rolled back if it raises."""
    with Session(engine(url), expire_on_commit=False) as db, db.begin():
        yield db


def hold(db: Session, model: type[Base], *where: Any) -> None:
    """Hold these rows until the transaction ends, before deciding from them: a second decision
    on the same rows waits, then reads what the first wrote (two people acting at once get one
    result and one refusal, never two results).

    An UPDATE that changes nothing: PostgreSQL locks the rows; SQLite, which ignores
    ``SELECT … FOR UPDATE``, takes its write lock for the rest of the transaction.
    """
    key = model.__mapper__.primary_key[0]
    db.execute(
        update(model)
        .where(*where)
        .values({key.name: key})
        .execution_options(synchronize_session=False)
    )


def of_cycle(model: Any, plan_id: str, cycle_id: str) -> Any:
    """The condition "this row belongs to the plan's cycle", for any table with both columns."""
    return and_(model.plan_id == plan_id, model.cycle_id == cycle_id)


def of_plan(model: Any, plan_id: str, settings_plan_id: str) -> Any:
    """The condition "this row is the plan's": files intake could not tie to any plan count as
    the settings' plan's (someone must answer them, and only once)."""
    if plan_id == settings_plan_id:
        return or_(model.plan_id == plan_id, model.plan_id.is_(None))
    return model.plan_id == plan_id
