"""Consolidation and publication (the director): make a draft, look at it, confirm, publish."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console.site import (
    ConsoleState,
    Csrf,
    Director,
    Here,
    Text,
    checked,
    cycle_or_404,
    cycle_page,
    redirect,
)
from tasks.people.accounts import Account
from tasks.publication.approval import PublicationRefused, consolidate_draft, publish_draft
from tasks.publication.report import KINDS
from tasks.storage.ledger import Cycle

router = APIRouter()


@router.get("/ciclos/{cycle_id}/consolidacion")
def consolidation_page(
    request: Request, here: Here, cycle_id: str, account: Director, error: str = ""
) -> Response:
    cycle = cycle_or_404(here, cycle_id)
    found = here.rows.of(cycle.id)
    return cycle_page(
        request,
        "consolidation.html",
        account,
        cycle,
        publication=found.publication,
        pending=found.pending,
        kinds=KINDS,
        error=error,
        done=request.query_params.get("hecho", ""),
    )


@router.post("/ciclos/{cycle_id}/consolidar")
def start_consolidation(here: Here, cycle_id: str, account: Director, csrf: Csrf = "") -> Response:
    checked(account, csrf)
    cycle = cycle_or_404(here, cycle_id)
    consolidate_draft(here.settings, here.plan, cycle.id, account.email)
    return redirect(f"/ciclos/{cycle.id}/consolidacion?hecho=consolidated")


@router.get("/ciclos/{cycle_id}/publicar")
def publish_page(request: Request, here: Here, cycle_id: str, account: Director) -> Response:
    """What publishing the draft makes public, and a confirmation naming its version."""
    return _confirmation(request, here, cycle_or_404(here, cycle_id), account)


@router.post("/ciclos/{cycle_id}/publicar")
def publish(
    request: Request,
    here: Here,
    cycle_id: str,
    account: Director,
    csrf: Csrf = "",
    version: Text = "",
    confirm: Text = "",
) -> Response:
    """Publish the draft the director confirmed: refused when the box is unticked or when the
    draft is no longer the version the page named (a consolidation in between)."""
    checked(account, csrf)
    cycle = cycle_or_404(here, cycle_id)
    draft = here.rows.of(cycle.id).publication.draft
    if draft is not None and version != str(draft.version):
        return _confirmation(request, here, cycle, account, "draft-changed", 409)
    if draft is not None and confirm != version:
        return _confirmation(request, here, cycle, account, "confirm-needed", 400)
    try:
        named = int(version) if version.isdigit() else None
        publish_draft(here.settings, here.plan, cycle.id, account.email, named)
    except PublicationRefused as exc:
        return redirect(f"/ciclos/{cycle.id}/consolidacion?error={exc.code}")
    return redirect(f"/ciclos/{cycle.id}/consolidacion?hecho=published")


def _confirmation(
    request: Request,
    here: ConsoleState,
    cycle: Cycle,
    account: Account,
    error: str = "",
    status: int = 200,
) -> Response:
    publication = here.rows.of(cycle.id).publication
    if publication.draft is None:
        return redirect(f"/ciclos/{cycle.id}/consolidacion?error=no-draft")
    base = here.settings.report_base_url.rstrip("/")
    return cycle_page(
        request,
        "publish.html",
        account,
        cycle,
        status,
        draft=publication.draft,
        published=publication.published,
        kinds=KINDS,
        public_folder=f"{base}/{here.plan.id}/{cycle.id}/latest/" if base else "",
        error=error,
    )
