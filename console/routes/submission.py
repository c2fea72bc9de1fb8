"""A submission and its review: what the file says and what the rules found, approve or return."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console.data_docs import site_of
from console.site import Csrf, Here, Id, Staff, Text, checked, page, redirect, submission_or_404
from tasks.cycle.intake import as_outcome
from tasks.people.accounts import Account
from tasks.people.review import ReviewRefused, approve, return_submission, review_list
from tasks.publication.report import evidence_link
from tasks.storage.ledger import session
from tasks.storage.queries import reported_values, same_message_files, submission_decisions
from tasks.workbooks.request_workbook import COLUMNS

router = APIRouter()


@router.get("/envios/{submission_id}")
def submission_page(
    request: Request, here: Here, submission_id: Id, account: Staff, error: str = ""
) -> Response:
    sub = submission_or_404(here, submission_id)
    outcome = as_outcome(sub)
    with session(here.settings.database) as db:
        values = list(reported_values(db, sub.id).values())
        decisions = submission_decisions(db, sub.id)
        siblings = same_message_files(db, sub)
    item = next(
        (
            i
            for i in review_list(
                here.settings, sub.cycle_id or "", here.plan.id, institution=sub.institution or ""
            )
            if i.submission_id == sub.id
        ),
        None,
    )
    findings = [
        {
            "finding": f,
            "cell": f"{_letter(f.column)}{f.row}" if f.row and _letter(f.column) else "",
        }
        for f in outcome.findings
    ]
    evidence = [(v.milestone, v.evidencia_url, evidence_link(v.evidencia_url)) for v in values]
    return page(
        request,
        "submission.html",
        account,
        sub=sub,
        findings=findings,
        evidence=[e for e in evidence if e[1]],
        decisions=decisions,
        siblings=siblings,
        item=item,
        error=error,
        marked=sub.outcome == "rejected",
        data_docs=bool(sub.cycle_id)
        and sub.id in site_of(here.settings, sub.cycle_id or "", here.plan.id).runs,
    )


def _review(submission_id: int, account: Account, csrf: str, act: Callable[[], Any]) -> Response:
    checked(account, csrf)
    try:
        done = act()
    except ReviewRefused as exc:
        return redirect(f"/envios/{submission_id}?error={exc.code}")
    return redirect(f"/ciclos/{done.cycle_id}?hecho={done.review}")


@router.post("/envios/{submission_id}/aprobar")
def approve_submission(
    here: Here, submission_id: Id, account: Staff, csrf: Csrf = "", note: Text = ""
) -> Response:
    return _review(
        submission_id,
        account,
        csrf,
        lambda: approve(here.settings, here.plan, submission_id, account.email, note),
    )


@router.post("/envios/{submission_id}/devolver")
def return_to_institution(
    here: Here, submission_id: Id, account: Staff, csrf: Csrf = "", note: Text = ""
) -> Response:
    return _review(
        submission_id,
        account,
        csrf,
        lambda: return_submission(here.settings, here.plan, submission_id, account.email, note),
    )


def _letter(column: str) -> str:
    """The column's letter in the request workbook (where the contract puts it)."""
    if column not in COLUMNS:
        return ""
    index = COLUMNS.index(column)
    return chr(ord("A") + index) if index < 26 else ""
