"""The liaison's own page, opened by the personal link in their emails (no password): their
institution's milestones, deadline and files, and the door that checks a workbook and sends it
through intake (``tasks.portal``).

The token in the path is the only credential: a tampered or unknown one is 404, one that no
longer works (revoked, expired, its cycle closed) 403, each with a page in the plan's language.
A form posts back to the same token, so another site cannot post without knowing it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from console.routes.submission import finding_cells
from console.site import SECURITY_HEADERS, ConsoleState, Here, Id, redirect
from tasks.catalogues import text
from tasks.core.calendar import local_today
from tasks.core.states import Outcome
from tasks.intake.arrivals import EVIDENCE_SUFFIXES
from tasks.mail.inbox import Attachment
from tasks.portal.overview import overview
from tasks.portal.upload import MAX_EVIDENCE_FILES, UploadRefused, send_through_portal
from tasks.rendering import render
from tasks.storage import filestore
from tasks.storage.ledger import Submission, session
from tasks.storage.links import PATH, LinkRefused, Opened, opened
from tasks.workbooks.marking import mark_findings, marked_name

router = APIRouter()
HEADERS = {**SECURITY_HEADERS, "X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"}
"""The console's headers; a personal page is never indexed nor named to another site."""
UPLOAD_STATUS = {
    "empty": 400,
    "too-large": 413,
    "too-many": 429,
    "too-often": 429,
    "too-much-evidence": 400,
    "not-evidence": 415,
}


def portal_page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    here: ConsoleState = request.app.state.console
    html = render(f"portal/{template}", here.language, plan=here.plan, **context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def refused(request: Request, status: int, why: str, **values: object) -> Response:
    return portal_page(request, "refused.html", status, why=why, values=values)


def open_link(here: ConsoleState, token: str) -> Opened:
    """What the token opens in this console's plan, or ``LinkRefused``."""
    if len(token) > 80:
        raise LinkRefused(404, "unknown")
    with session(here.settings.database) as db:
        found = opened(db, here.settings, token)
    if found.link.plan_id != here.plan.id:
        raise LinkRefused(404, "unknown")
    return found


def own_submission(here: ConsoleState, found: Opened, submission_id: int) -> Submission | None:
    """A file of the link's institution and cycle (its findings loaded), else None."""
    link = found.link
    with session(here.settings.database) as db:
        sub = db.get(Submission, submission_id)
        if sub is None or (sub.plan_id, sub.cycle_id, sub.institution) != (
            link.plan_id,
            link.cycle_id,
            link.institution,
        ):
            return None
        sub.findings  # noqa: B018 (loaded while the session is open)
        return sub


def show(
    request: Request,
    here: ConsoleState,
    token: str,
    found: Opened,
    shown: Submission | None = None,
    status: int = 200,
    error: str = "",
    values: dict[str, object] | None = None,
) -> Response:
    """The page, with the result of one upload when ``shown`` (or why an upload was refused)."""
    values = values or {}
    with session(here.settings.database) as db:
        page = overview(
            db, here.plan, found.cycle, found.link.institution, local_today(here.plan.timezone)
        )
    findings = [f.as_finding() for f in shown.findings] if shown else []
    cells = finding_cells(here, shown, findings) if shown else []
    return portal_page(
        request,
        "page.html",
        status,
        page=page,
        token=token,
        base=f"{PATH}/{token}",
        shown=shown,
        findings=list(zip(findings, cells, strict=True)),
        error=error,
        error_text=text(here.language, f"portal.refused.{error}", **values) if error else "",
        limit_mb=here.settings.max_file_mb,
        evidence_suffixes=EVIDENCE_SUFFIXES,
        evidence_limit=MAX_EVIDENCE_FILES,
    )


@router.get(PATH + "/{token}")
def liaison_page(request: Request, here: Here, token: str, envio: int = 0) -> Response:
    try:
        found = open_link(here, token)
    except LinkRefused as exc:
        return refused(request, exc.status, exc.why)
    shown = own_submission(here, found, envio) if 0 < envio < 2**31 else None
    return show(request, here, token, found, shown)


@router.post(PATH + "/{token}")
def upload(
    request: Request,
    here: Here,
    token: str,
    archivo: Annotated[UploadFile, File()],
    evidencias: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    """Check the uploaded workbook and, when it passes, send it with its evidence files: then
    back to the page, which shows the result (a reload does not upload again)."""
    try:
        found = open_link(here, token)
    except LinkRefused as exc:
        return refused(request, exc.status, exc.why)
    limit = here.settings.max_file_mb * 1024 * 1024
    data = archivo.file.read(limit + 1)  # never more than the limit in memory
    name = archivo.filename or "archivo.xlsx"
    evidence = [  # a browser sends an empty part when no evidence file was chosen
        Attachment(item.filename, item.file.read(limit + 1))
        for item in evidencias or []
        if item.filename
    ]
    try:
        result = send_through_portal(
            here.settings, here.plan, found.link, name, data, evidence=evidence
        )
    except UploadRefused as exc:
        status = UPLOAD_STATUS.get(exc.code, 400)
        return show(request, here, token, found, status=status, error=exc.code, values=exc.values)
    return redirect(f"{PATH}/{token}?envio={result.submission_id}#resultado")


@router.get(PATH + "/{token}/envios/{submission_id}/marcado")
def marked_copy(request: Request, here: Here, token: str, submission_id: Id) -> Response:
    """The liaison's rejected file with each finding marked on its cell."""
    try:
        found = open_link(here, token)
    except LinkRefused as exc:
        return refused(request, exc.status, exc.why)
    sub = own_submission(here, found, submission_id)
    if sub is None or sub.outcome != Outcome.REJECTED:
        return refused(request, 404, "not-found")
    with session(here.settings.database) as db:
        data = filestore.get(db, sub.sha256)
    marked = mark_findings(
        data, sub.filename, [f.as_finding() for f in sub.findings], here.language
    )
    if marked is None:
        return refused(request, 404, "not-found")
    name = marked_name(sub.id, sub.filename, here.language)
    return Response(
        marked,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={**HEADERS, "Content-Disposition": f'attachment; filename="{name}"'},
    )
