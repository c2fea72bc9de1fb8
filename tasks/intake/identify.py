"""Which plan, institution and cycle a file is for: its signed ``_meta``, else the thread it
answers, else its content, sender or name in the one plan with an open cycle they point to."""

from __future__ import annotations

from tasks.catalogues import language_of
from tasks.core.findings import Finding, finding
from tasks.intake.lookups import Lookups
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage.ledger import Submission
from tasks.workbooks.reading import ReadResult
from tasks.workbooks.signing import verify

Identified = tuple[str | None, str | None, str | None, list[Finding]]
"""Plan, institution and cycle of a file (None where not known), and the notes on how."""


def identify(
    settings: Settings, default: Plan, read: ReadResult, sub: Submission, lookups: Lookups
) -> Identified:
    """Plan, institution and cycle of a file.

    A liaison of two plans whose file says nothing and answers no request is not guessed at:
    the file is quarantined rather than given to the wrong plan. Whether its sender may send
    for the institution found is ``tasks.intake.senders``' question, asked after this one.
    """
    notes: list[Finding] = []
    meta = read.meta
    language = language_of(settings, default)
    if meta.get("signature"):
        if verify(meta, settings.signing_key.get_secret_value()) and meta.get("plan") in (
            lookups.plans
        ):
            return meta.get("plan"), meta.get("institution"), meta.get("cycle"), notes
        notes.append(finding("signature-invalid", "warning", language=language))
    if (answered := lookups.threads.get(sub.source_ref)) is not None:
        plan_id, cycle_id, institution = answered
        plan = lookups.plans.get(plan_id)
        found = plan and institution_in(plan, read, sub)
        return plan_id, found or institution or None, cycle_id, notes
    candidates = [
        (plan_id, found, cycle_id)
        for plan_id, cycle_id in lookups.open_cycles.items()
        if (found := institution_in(lookups.plans[plan_id], read, sub))
    ]
    if len(candidates) == 1:
        plan_id, found, cycle_id = candidates[0]
        return plan_id, found, cycle_id, notes
    if not candidates and default.id in lookups.open_cycles:
        return default.id, None, lookups.open_cycles[default.id], notes
    return None, None, None, notes


def institution_in(plan: Plan, read: ReadResult, sub: Submission) -> str | None:
    """The plan's institution a file names in its rows, else its sender's, else its name's."""
    codes = {i.code for i in plan.reporting_institutions()}
    named = {str(v).strip().upper() for v in read.rows.get("institucion", [])} & codes
    if len(named) == 1:
        return named.pop()
    by_sender = plan.institutions_writing_from(sub.sender)
    if len(by_sender) == 1:
        return by_sender[0]
    in_name = [c for c in codes if c.lower() in sub.filename.lower()]
    if len(in_name) == 1:
        return in_name[0]
    return None
