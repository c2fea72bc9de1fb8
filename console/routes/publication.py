"""Consolidation and publication (the director): make a draft, look at it, publish it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console.site import Csrf, Director, Here, checked, cycle_or_404, cycle_page, redirect
from tasks.publication.approval import PublicationRefused, consolidate_draft, publish_draft
from tasks.publication.report import KINDS

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
    consolidate_draft(here.settings, here.plan, cycle.id)
    return redirect(f"/ciclos/{cycle.id}/consolidacion?hecho=consolidated")


@router.post("/ciclos/{cycle_id}/publicar")
def publish(here: Here, cycle_id: str, account: Director, csrf: Csrf = "") -> Response:
    checked(account, csrf)
    cycle = cycle_or_404(here, cycle_id)
    try:
        publish_draft(here.settings, here.plan, cycle.id, account.email)
    except PublicationRefused as exc:
        return redirect(f"/ciclos/{cycle.id}/consolidacion?error={exc.code}")
    return redirect(f"/ciclos/{cycle.id}/consolidacion?hecho=published")
