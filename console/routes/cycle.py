"""The cycle: its dashboard (the newest cycle at ``/``) and its audit trail."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console.dashboard import FILTERS, page_of
from console.site import Here, Staff, cycle_or_404, cycle_page, page
from tasks.storage.ledger import cycles_of, session
from tasks.storage.queries import cycle_decisions

router = APIRouter()


@router.get("/")
def home(request: Request, here: Here, account: Staff) -> Response:
    with session(here.settings.database) as db:
        cycles = cycles_of(db, here.plan.id)
    if not cycles:
        return page(request, "empty.html", account)
    return dashboard(request, here, cycles[-1].id, account)


@router.get("/ciclos/{cycle_id}")
def dashboard(
    request: Request,
    here: Here,
    cycle_id: str,
    account: Staff,
    estado: str = "",
    buscar: str = "",
    pagina: int = 1,
) -> Response:
    cycle = cycle_or_404(here, cycle_id)
    found = here.rows.of(cycle.id)
    return cycle_page(
        request,
        "dashboard.html",
        account,
        cycle,
        page=page_of(found, estado, buscar[:100], pagina),
        counts=found.counts,
        filters=FILTERS,
        pending=found.pending,
        publication=found.publication,
        done=request.query_params.get("hecho", ""),
    )


@router.get("/ciclos/{cycle_id}/historial")
def history(request: Request, here: Here, cycle_id: str, account: Staff) -> Response:
    cycle = cycle_or_404(here, cycle_id)
    with session(here.settings.database) as db:
        decisions = cycle_decisions(db, here.plan.id, cycle.id)
    return cycle_page(request, "history.html", account, cycle, decisions=decisions)
