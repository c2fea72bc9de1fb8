"""Review: a person approves each accepted file, or returns it to the institution with a comment.

The rules accept a file that is well formed; a reviewer decides whether it says something
sensible. Only approved files feed a publication (``tasks.publication.consolidation``); a returned
file counts as not delivered (``tasks.core.delivery``: the standing-file rule), so reminders
resume, and its liaison gets the reviewer's comment as a reply. Every decision goes to the audit
trail (``Decision``). The CLI (``hitos review``) and the console call these same functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tasks.catalogues import language_of
from tasks.core.refusals import DecisionRefused
from tasks.core.states import ACCEPTED, REPORTED, CycleState, Review
from tasks.intake.arrivals import thread
from tasks.mail.outgoing import Outgoing, compose, plan_subject, send_all
from tasks.plans.plan import Plan
from tasks.publication.approval import notify_if_outdated
from tasks.settings import Settings
from tasks.storage import filestore, queries
from tasks.storage.ledger import Decision, FindingRow, Submission, hold, of_cycle, session
from tasks.storage.links import personal_url
from tasks.storage.queries import cycle_of, cycles_of
from tasks.workbooks.marking import mark_findings, marked_name
from tasks.workbooks.safe_names import safe_filename


class ReviewRefused(DecisionRefused):
    """A review decision that cannot be taken."""


@dataclass(frozen=True)
class ReviewItem:
    """One accepted file of a cycle and where its review stands."""

    submission_id: int
    cycle_id: str
    institution: str
    filename: str
    received_at: datetime
    outcome: str
    review: str
    warnings: int
    superseded: bool
    """A newer accepted file of the same institution exists: this one no longer counts
    (``tasks.core.delivery.superseded``)."""
    decided_by: str = ""
    decided_at: datetime | None = None
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "submission": self.submission_id,
            "cycle": self.cycle_id,
            "institution": self.institution,
            "filename": self.filename,
            "received_at": self.received_at.isoformat(timespec="minutes"),
            "outcome": self.outcome,
            "review": self.review,
            "warnings": self.warnings,
            "superseded": self.superseded,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat(timespec="minutes") if self.decided_at else "",
            "note": self.note,
        }


@dataclass(frozen=True)
class Reviewed:
    """What a decision did: the new state, and the emails it sent (a return's reply)."""

    submission_id: int
    institution: str
    cycle_id: str
    review: str
    changed: bool
    emails: dict[str, str]


def review_list(
    settings: Settings, cycle_id: str, plan_id: str = "", institution: str | None = None
) -> list[ReviewItem]:
    """Every accepted file of the plan's cycle (the settings' plan unless ``plan_id`` says), or
    of one institution in it, by institution then newest first, with its review."""
    plan_id = plan_id or settings.plan_id
    query = select(Submission).where(
        of_cycle(Submission, plan_id, cycle_id), Submission.outcome.in_(ACCEPTED)
    )
    if institution is not None:  # a submission's page: its institution's files, not 1,000
        query = query.where(Submission.institution == institution)
    with session(settings.database) as db:
        subs = db.scalars(query.order_by(Submission.institution, Submission.version.desc())).all()
        ids = [s.id for s in subs]
        last = _last_decisions(db, ids)
        # Counted by the database: loading 2,000 findings to count them was half the cost of
        # the console's dashboard at 1,000 institutions.
        warnings: dict[int, int] = {
            submission_id: count
            for submission_id, count in db.execute(
                select(FindingRow.submission_id, func.count())
                .where(FindingRow.submission_id.in_(ids), FindingRow.severity == "warning")
                .group_by(FindingRow.submission_id)
            )
        }
        newest: dict[str, int] = {}  # the newest accepted file replaces the others (core rule)
        for s in subs:
            newest.setdefault(str(s.institution), s.version)
        return [
            ReviewItem(
                submission_id=s.id,
                cycle_id=cycle_id,
                institution=str(s.institution),
                filename=s.filename,
                received_at=s.received_at,
                outcome=s.outcome,
                review=s.review,
                warnings=warnings.get(s.id, 0),
                superseded=s.version < newest.get(str(s.institution), 0),
                decided_by=last[s.id].actor if s.id in last else "",
                decided_at=last[s.id].at if s.id in last else None,
                note=last[s.id].note if s.id in last else "",
            )
            for s in subs
        ]


def _last_decisions(db: Session, ids: list[int]) -> dict[int, Decision]:
    """Submission id → the latest decision on it."""
    found: dict[int, Decision] = {}
    if not ids:
        return found
    for decision in db.scalars(
        select(Decision).where(Decision.submission_id.in_(ids)).order_by(Decision.id)
    ):
        found[int(decision.submission_id or 0)] = decision
    return found


def pending_reviews(settings: Settings, plan_id: str = "") -> list[ReviewItem]:
    """Files awaiting review in every cycle of the plan not yet closed: what the reviewers'
    digest lists."""
    plan_id = plan_id or settings.plan_id
    with session(settings.database) as db:
        cycles = [c.id for c in cycles_of(db, plan_id, *REPORTED)]
    return [
        item
        for cycle_id in cycles
        for item in review_list(settings, cycle_id, plan_id)
        if item.review == Review.PENDING and not item.superseded
    ]


def _decide(
    settings: Settings,
    plan: Plan,
    submission_id: int,
    review: Review,
    actor: str,
    note: str,
    seen: Review | None,
) -> tuple[Submission, bool]:
    """Record one decision on a submission of the plan; (the submission, whether its state
    changed).

    The file's row is held while deciding (``hold``): two decisions at once on one file give one
    result and one refusal. ``seen`` is the review the person saw when deciding (a file awaiting
    review, by default): when someone else decided in between, the decision is refused instead of
    silently overriding theirs. ``None``: whatever it is now (an operator's ``--reconsider``).
    """
    with session(settings.database) as db:
        hold(db, Submission, Submission.id == submission_id)
        sub = db.get(Submission, submission_id)
        if sub is None:
            raise ReviewRefused("unknown-submission", f"there is no submission {submission_id}")
        if sub.plan_id is not None and sub.plan_id != plan.id:
            raise ReviewRefused(
                "other-plan",
                f"submission {submission_id} belongs to plan {sub.plan_id}, not {plan.id}: "
                f"review it with --plan {sub.plan_id}",
            )
        if sub.outcome not in ACCEPTED or sub.cycle_id is None or sub.institution is None:
            raise ReviewRefused(
                "not-accepted",
                f"submission {submission_id} was {sub.outcome}: only accepted files are reviewed",
            )
        newer = db.scalars(
            select(Submission.id).where(
                of_cycle(Submission, plan.id, sub.cycle_id),
                Submission.institution == sub.institution,
                Submission.outcome.in_(ACCEPTED),
                Submission.version > sub.version,
            )
        ).first()
        if newer is not None:
            raise ReviewRefused(
                "superseded",
                f"submission {submission_id} was replaced by submission {newer}: review that one",
            )
        if sub.review == review:
            return sub, False
        if sub.review == Review.RETURNED:
            raise ReviewRefused(
                "already-returned",
                f"submission {submission_id} was returned to {sub.institution}: await its new file",
            )
        if seen is not None and sub.review != seen:
            raise ReviewRefused(
                "already-decided",
                f"submission {submission_id} is {sub.review} now (someone decided meanwhile): "
                "to change that decision, say so (--reconsider)",
            )
        sub.review = review
        db.add(
            Decision(
                actor=actor,
                action="approve" if review == Review.APPROVED else "return",
                plan_id=plan.id,
                cycle_id=sub.cycle_id,
                institution=sub.institution,
                submission_id=sub.id,
                note=note,
            )
        )
        if review == Review.RETURNED:
            cycle = cycle_of(db, plan.id, sub.cycle_id)
            if cycle is not None and cycle.state == CycleState.CONSOLIDATED:
                cycle.state = CycleState.OPEN  # the institution owes a file: reminders resume
        return sub, True


def approve(
    settings: Settings,
    plan: Plan,
    submission_id: int,
    actor: str,
    note: str = "",
    seen: Review | None = Review.PENDING,
) -> Reviewed:
    """Approve an accepted file: it may feed the next publication."""
    sub, changed = _decide(
        settings, plan, submission_id, Review.APPROVED, actor, note.strip(), seen
    )
    emails = notify_if_outdated(settings, plan, str(sub.cycle_id)) if changed else {}
    return Reviewed(sub.id, str(sub.institution), str(sub.cycle_id), "approved", changed, emails)


def return_submission(
    settings: Settings,
    plan: Plan,
    submission_id: int,
    actor: str,
    note: str,
    seen: Review | None = Review.PENDING,
) -> Reviewed:
    """Return an accepted file with the reviewer's comment; the liaison is told, once."""
    note = note.strip()
    if not note:
        raise ReviewRefused(
            "return-needs-note", "a returned file needs a comment for the institution (--note)"
        )
    sub, changed = _decide(settings, plan, submission_id, Review.RETURNED, actor, note, seen)
    emails: dict[str, str] = {}
    if changed:
        emails = send_all(settings, [returned_email(settings, plan, sub, note)])
        emails |= notify_if_outdated(settings, plan, str(sub.cycle_id))
    return Reviewed(sub.id, str(sub.institution), str(sub.cycle_id), "returned", changed, emails)


def returned_email(settings: Settings, plan: Plan, sub: Submission, note: str) -> Outgoing:
    """The reply that tells the sender (or the liaison, for a dropped file) why it came back,
    in the thread of the sender's message, with the file attached (its warnings marked when
    it had any, so the liaison corrects the very file that came back)."""
    institution = plan.institution(str(sub.institution))
    language = language_of(settings, plan)
    to = sub.sender or institution.liaison.email
    with session(settings.database) as db:
        cycle = cycle_of(db, plan.id, str(sub.cycle_id))
        deadline = queries.deadline_of(db, cycle, institution.code) if cycle else None
        stored = db.get(Submission, sub.id)
        assert stored is not None
        findings = [f.as_finding() for f in stored.findings]
        data = filestore.get(db, stored.sha256)
        threading = thread(db, stored.source_ref) if stored.sender == to else ("", "")
    marked = mark_findings(data, str(sub.filename), findings, language) if findings else None
    # The liaison's own file name; a folder per file keeps two files of one name apart.
    folder = ("replies", plan.id, str(sub.cycle_id), f"devuelto-{sub.id}")
    name = (
        marked_name(sub.id, str(sub.filename), language)
        if marked is not None
        else safe_filename(sub.filename)
    )
    attached = filestore.local_copy(settings, marked or data, *folder, name)
    return compose(
        "returned",
        key=_returned_key(sub),
        kind="returned",
        to=[to],
        subject=plan_subject(
            plan, language, "returned", cycle_id=sub.cycle_id, institution=institution.code
        ),
        language=language,
        attachments=[attached],
        cycle_id=sub.cycle_id,
        institution_code=institution.code,
        in_reply_to=threading[0],
        references=threading[1],
        plan=plan,
        institution=institution,
        filename=sub.filename,
        version=sub.version,
        period=sub.cycle_id,
        note=note,
        deadline=deadline,
        attached=True,
        marked=marked is not None,
        link=personal_url(
            settings, plan.id, str(sub.cycle_id), institution.code, institution.liaison.email
        ),
    )


def unsent_returns(settings: Settings, plan: Plan) -> list[Outgoing]:
    """Returns whose reply never went out (the SMTP server was down when the reviewer decided):
    owed until the mail ledger says sent or refused, like intake's replies."""
    with session(settings.database) as db:
        done = queries.settled_email_keys(db, "returned")
        returned = db.scalars(
            select(Submission).where(
                Submission.review == Review.RETURNED, Submission.plan_id == plan.id
            )
        ).all()
        notes = _last_decisions(db, [s.id for s in returned])
    return [
        returned_email(settings, plan, sub, notes[sub.id].note)
        for sub in returned
        if sub.id in notes and _returned_key(sub) not in done
    ]


def _returned_key(sub: Submission) -> str:
    return f"{sub.plan_id}/{sub.cycle_id}/{sub.institution}/returned/{sub.id}"
