"""Great Expectations' Data Docs of a cycle (built by intake), served by id to staff only."""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from console.data_docs import page_html, site_of
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
from tasks.checks.data_docs import site_folder
from tasks.checks.validation import SUITE_NAME

DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; form-action 'none'"
)
"""Data Docs pages run one inline script of Great Expectations' (their tables); every value an
institution typed is escaped in them (``tasks.checks.data_docs.inert``)."""

router = APIRouter()


def has_docs(here: ConsoleState, cycle_id: str) -> bool:
    """Whether intake has built the cycle's Data Docs (its index page; cheap enough for the
    dashboard, unlike listing every run)."""
    return (site_folder(here.settings, cycle_id, here.plan.id) / "index.html").is_file()


def _docs_page(html: str) -> HTMLResponse:
    return HTMLResponse(html, headers={**SECURITY_HEADERS, "Content-Security-Policy": DOCS_CSP})


@router.get("/envios/{submission_id}/data-docs")
def submission_docs(here: Here, submission_id: Id, account: Staff) -> Response:
    sub = submission_or_404(here, submission_id)
    site = site_of(here.settings, sub.cycle_id or "", here.plan.id) if sub.cycle_id else None
    if site is None or sub.id not in site.runs:
        raise Refused(404, "not-found")
    return _docs_page(page_html(site, site.runs[sub.id]))


@router.get("/ciclos/{cycle_id}/data-docs")
def cycle_docs(here: Here, cycle_id: str, account: Staff) -> Response:
    site = site_of(here.settings, cycle_or_404(here, cycle_id).id, here.plan.id)
    if not (site.root / "index.html").is_file():
        raise Refused(404, "not-found")
    return _docs_page(page_html(site, site.root / "index.html"))


@router.get("/ciclos/{cycle_id}/data-docs/reglas")
def suite_docs(here: Here, cycle_id: str, account: Staff) -> Response:
    site = site_of(here.settings, cycle_or_404(here, cycle_id).id, here.plan.id)
    suite = site.root / "expectations" / f"{SUITE_NAME}.html"
    if not suite.is_file():
        raise Refused(404, "not-found")
    return _docs_page(page_html(site, suite))


@router.get("/ciclos/{cycle_id}/data-docs/estatico/{name:path}")
def docs_static(here: Here, cycle_id: str, name: str, account: Staff) -> Response:
    found = site_of(here.settings, cycle_or_404(here, cycle_id).id, here.plan.id).static.get(name)
    if found is None:
        raise Refused(404, "not-found")
    media = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
    return Response(
        found.read_bytes(),
        media_type=media,
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"},
    )
