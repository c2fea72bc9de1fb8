"""Great Expectations' Data Docs of a cycle, kept in the ledger by intake, served by id to staff."""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from console.data_docs import has_site, run_page_html, site_page_html, static_file
from console.site import (
    SECURITY_HEADERS,
    ConsoleState,
    Here,
    Id,
    Refused,
    Staff,
    cycle_or_404,
    submission_or_404,
)

DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; form-action 'none'"
)
"""Data Docs pages run one inline script of Great Expectations' (their tables); every value an
institution typed is escaped in them (``tasks.checks.data_docs.shown``)."""

router = APIRouter()


def has_docs(here: ConsoleState, cycle_id: str) -> bool:
    """Whether intake kept Data Docs for any file of the cycle (one row looked up: cheap
    enough for the dashboard)."""
    return has_site(here.settings, here.plan, cycle_id)


def _docs_page(html: str) -> HTMLResponse:
    return HTMLResponse(html, headers={**SECURITY_HEADERS, "Content-Security-Policy": DOCS_CSP})


@router.get("/envios/{submission_id}/data-docs")
def submission_docs(here: Here, submission_id: Id, account: Staff) -> Response:
    html = run_page_html(here.settings, here.plan, submission_or_404(here, submission_id).id)
    if html is None:
        raise Refused(404, "not-found")
    return _docs_page(html)


@router.get("/ciclos/{cycle_id}/data-docs")
def cycle_docs(here: Here, cycle_id: str, account: Staff) -> Response:
    html = site_page_html(here.settings, here.plan, cycle_or_404(here, cycle_id).id)
    if html is None:
        raise Refused(404, "not-found")
    return _docs_page(html)


@router.get("/ciclos/{cycle_id}/data-docs/reglas")
def suite_docs(here: Here, cycle_id: str, account: Staff) -> Response:
    html = site_page_html(here.settings, here.plan, cycle_or_404(here, cycle_id).id, suite=True)
    if html is None:
        raise Refused(404, "not-found")
    return _docs_page(html)


@router.get("/ciclos/{cycle_id}/data-docs/estatico/{name:path}")
def docs_static(here: Here, cycle_id: str, name: str, account: Staff) -> Response:
    found = static_file(here.settings, here.plan, cycle_or_404(here, cycle_id).id, name)
    if found is None:
        raise Refused(404, "not-found")
    media = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Response(
        found,
        media_type=media,
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"},
    )
