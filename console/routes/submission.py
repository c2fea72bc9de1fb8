"""A submission and its review: what the file says and what the rules found, approve or return."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from openpyxl.utils import get_column_letter

from console.data_docs import has_run_page
from console.reported import reported, tally
from console.site import (
    ConsoleState,
    Csrf,
    Here,
    Id,
    Staff,
    Text,
    checked,
    page,
    redirect,
    submission_or_404,
)
from tasks.core.contract import finding_cell
from tasks.core.findings import Finding
from tasks.core.states import Review
from tasks.people.accounts import Account
from tasks.people.review import Reviewed, ReviewRefused, approve, return_submission, review_list
from tasks.portal.notices import tell_liaisons
from tasks.storage import filestore
from tasks.storage.ledger import Submission, session
from tasks.storage.queries import (
    previous_file,
    reported_values,
    same_message_files,
    standing_before,
    submission_decisions,
)
from tasks.workbooks.reading import UnreadableFile, read_submission

router = APIRouter()


@router.get("/envios/{submission_id}")
def submission_page(
    request: Request, here: Here, submission_id: Id, account: Staff, error: str = ""
) -> Response:
    sub = submission_or_404(here, submission_id)
    found = [f.as_finding() for f in sub.findings]
    with session(here.settings.database) as db:
        previous, before = previous_file(db, sub), standing_before(db, sub)
        rows = reported(
            reported_values(db, sub.id),
            reported_values(db, previous.id if previous else None),
            reported_values(db, before.id if before else None),
        )
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
    return page(
        request,
        "submission.html",
        account,
        sub=sub,
        findings=[
            {"finding": f, "cell": cell}
            for f, cell in zip(found, finding_cells(here, sub, found), strict=True)
        ],
        rows=rows,
        tally=tally(rows),
        previous=previous,
        before=before,
        titles={m.code: m.description for m in here.plan.milestones_of(sub.institution or "")},
        decisions=decisions,
        siblings=siblings,
        item=item,
        error=error,
        marked=sub.outcome == "rejected",
        data_docs=has_run_page(here.settings, here.plan, sub.id),
    )


def _review(submission_id: int, account: Account, csrf: str, act: Callable[[], Any]) -> Response:
    checked(account, csrf)
    try:
        done = act()
    except ReviewRefused as exc:
        return redirect(f"/envios/{submission_id}?error={exc.code}")
    return redirect(f"/ciclos/{done.cycle_id}?hecho={done.review}")


def _seen(visto: str) -> Review:
    """The review the page showed when the person decided (a file awaiting review when the form
    does not say): someone else's decision in between refuses this one."""
    return Review(visto) if visto in tuple(Review) else Review.PENDING


@router.post("/envios/{submission_id}/aprobar")
def approve_submission(
    here: Here,
    submission_id: Id,
    account: Staff,
    csrf: Csrf = "",
    note: Text = "",
    visto: Text = "",
) -> Response:
    def approve_and_tell() -> Reviewed:
        done = approve(here.settings, here.plan, submission_id, account.email, note, _seen(visto))
        tell_liaisons(here.settings, here.plan)  # the liaison learns of the approval
        return done

    return _review(submission_id, account, csrf, approve_and_tell)


@router.post("/envios/{submission_id}/devolver")
def return_to_institution(
    here: Here,
    submission_id: Id,
    account: Staff,
    csrf: Csrf = "",
    note: Text = "",
    visto: Text = "",
) -> Response:
    return _review(
        submission_id,
        account,
        csrf,
        lambda: return_submission(
            here.settings, here.plan, submission_id, account.email, note, _seen(visto)
        ),
    )


def finding_cells(here: ConsoleState, sub: Submission, findings: list[Finding]) -> list[str]:
    """The cell each finding points at in the file as sent («G12»; '' for none): the cell its
    marked copy marks (``contract.finding_cell``), found under the file's own header, wherever
    the liaison moved the columns."""
    if not any(f.row is not None or f.column for f in findings):
        return ["" for _ in findings]
    header_row, positions = _layout(here.settings.database, sub.sha256, sub.filename)
    cells = []
    for f in findings:
        found = finding_cell(header_row, positions, f.row, f.column)
        cells.append(f"{get_column_letter(found[1])}{found[0]}" if found else "")
    return cells


@lru_cache(maxsize=256)
def _layout(database: str, sha256: str, filename: str) -> tuple[int | None, dict[str, int]]:
    """A stored file's header row and column positions (a file never changes under its sha256:
    read once per worker, about a millisecond with calamine)."""
    try:
        with session(database) as db:
            data = filestore.get(db, sha256)
        read = read_submission(data, filename)
    except (KeyError, UnreadableFile):
        return None, {}
    return read.header_row, read.positions
