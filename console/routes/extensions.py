"""Extensions (the director): an institution's own deadline, with its reason."""

from __future__ import annotations

from datetime import date

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
from tasks.cycle.extensions import ExtensionRefused, extend, extensions
from tasks.people.accounts import Account
from tasks.portal.notices import tell_liaisons
from tasks.storage.ledger import Cycle

router = APIRouter()


@router.get("/ciclos/{cycle_id}/prorrogas")
def extensions_page(request: Request, here: Here, cycle_id: str, account: Director) -> Response:
    return _page(request, here, cycle_or_404(here, cycle_id), account)


@router.post("/ciclos/{cycle_id}/prorrogas")
def grant_extension(
    request: Request,
    here: Here,
    cycle_id: str,
    account: Director,
    csrf: Csrf = "",
    institution: Text = "",
    until: Text = "",
    reason: Text = "",
) -> Response:
    checked(account, csrf)
    cycle = cycle_or_404(here, cycle_id)
    try:
        day = date.fromisoformat(until)
    except ValueError:
        return _page(request, here, cycle, account, "bad-date", 400)
    try:
        extend(here.settings, here.plan, cycle.id, institution, day, reason, account.email)
    except ExtensionRefused as exc:
        return _page(request, here, cycle, account, exc.code, 400)
    tell_liaisons(here.settings, here.plan)  # the liaison learns the new date by email
    return redirect(f"/ciclos/{cycle.id}/prorrogas?hecho=extended")


def _page(
    request: Request,
    here: ConsoleState,
    cycle: Cycle,
    account: Account,
    error: str = "",
    status: int = 200,
) -> Response:
    return cycle_page(
        request,
        "extensions.html",
        account,
        cycle,
        status,
        granted=extensions(here.settings, cycle.id),
        institutions=here.plan.reporting_institutions(),
        error=error,
        done=request.query_params.get("hecho", ""),
    )
