"""File downloads, by submission or report id from the file store, never by a path."""

from __future__ import annotations

import re

from fastapi import APIRouter
from fastapi.responses import Response

from console.site import (
    SECURITY_HEADERS,
    Here,
    Id,
    Refused,
    Staff,
    cycle_or_404,
    submission_or_404,
)
from tasks.publication.report import KINDS, report_name
from tasks.storage import filestore
from tasks.storage.ledger import session
from tasks.storage.queries import report_version
from tasks.workbooks.marking import mark_findings

MEDIA = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

router = APIRouter()


@router.get("/envios/{submission_id}/archivo/{kind}")
def submission_file(here: Here, submission_id: Id, kind: str, account: Staff) -> Response:
    """The file as received (``original``) or the copy with its cells marked (``marcado``)."""
    if kind not in ("original", "marcado"):
        raise Refused(404, "not-found")
    sub = submission_or_404(here, submission_id)
    with session(here.settings.database) as db:
        data = filestore.get(db, sub.sha256)
    name = _safe_name(sub.filename) or f"envio-{sub.id}"
    if kind == "marcado":
        marked = mark_findings(data, sub.filename, [f.as_finding() for f in sub.findings])
        if marked is None:
            raise Refused(404, "not-found")
        data, name = marked, f"corregir-{sub.id}-{name.rsplit('.', 1)[0]}.xlsx"
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{name}"', **SECURITY_HEADERS},
    )


@router.get("/ciclos/{cycle_id}/informes/{version}/{kind}")
def report_file(here: Here, cycle_id: str, version: Id, kind: str, account: Staff) -> Response:
    """One file of one version of the cycle's report: a version once published to all staff,
    a draft to the director only (the public sees nothing of it either)."""
    cycle = cycle_or_404(here, cycle_id)
    if kind not in KINDS:
        raise Refused(404, "not-found")
    with session(here.settings.database) as db:
        report = report_version(db, here.plan.id, cycle.id, version)
        if report is None or kind not in report.files:
            raise Refused(404, "not-found")
        if report.state == "draft" and not account.is_director:
            raise Refused(403, "forbidden-role")
        data = filestore.get(db, report.files[kind])
    name = report_name(here.plan, cycle.id, kind)
    disposition = "inline" if kind in ("html", "pdf") else "attachment"
    return Response(
        data,
        media_type=MEDIA[kind],
        headers={
            "Content-Disposition": f'{disposition}; filename="{name}"',
            **SECURITY_HEADERS,
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
            "img-src data:",
        },
    )


def _safe_name(filename: str) -> str:
    """A file name fit for a Content-Disposition header: no path, quotes or control characters."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return re.sub(r"[^\w.\- ]", "_", base)[:120]
