"""The cycle: its dashboard (the newest cycle at ``/``) and its audit trail."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console.dashboard import FILTERS, page_of
from console.routes.board import has_board
from console.routes.data_docs import has_docs
from console.site import ConsoleState, Here, Staff, cycle_or_404, cycle_page, page
from tasks.publication.publishing import links
from tasks.publication.report import report_name
from tasks.storage.ledger import Report, session
from tasks.storage.queries import cycle_decisions, cycles_of

router = APIRouter()


@router.get("/")
def home(
    request: Request,
    here: Here,
    account: Staff,
    estado: str = "",
    buscar: str = "",
    pagina: int = 1,
) -> Response:
    """The newest cycle's dashboard, filtered as ``/ciclos/<id>`` is."""
    with session(here.settings.database) as db:
        cycles = cycles_of(db, here.plan.id)
    if not cycles:
        return page(request, "empty.html", account)
    return dashboard(request, here, cycles[-1].id, account, estado, buscar, pagina)


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
        public_page=_public_page(here, found.publication.published),
        board=has_board(here),
        data_docs=has_docs(here, cycle.id),
        done=request.query_params.get("hecho", ""),
    )


def _public_page(here: ConsoleState, published: Report | None) -> str:
    """The published report's page at its public address (``HITOS_REPORT_BASE_URL``), if set."""
    if published is None or not here.settings.report_base_url:
        return ""
    name = Path(report_name(here.plan, published.cycle_id, "html"))
    return links(here.settings, published, {"latest_html": name})["latest_html"]


@router.get("/ciclos/{cycle_id}/historial")
def history(request: Request, here: Here, cycle_id: str, account: Staff) -> Response:
    cycle = cycle_or_404(here, cycle_id)
    with session(here.settings.database) as db:
        decisions = cycle_decisions(db, here.plan.id, cycle.id)
    return cycle_page(request, "history.html", account, cycle, decisions=decisions)
