"""The Mesa Técnica in the console: its session of a cycle, civil society's assessments, the
minutes and agreements, and the communiqué.

Civil society's accounts (role ``cso``) read the cycle here and assess its milestones, always in
the name of their own organisation (``tasks.mesa.accounts``); they reach no other page. The
director schedules, moves or cancels the session (invitations go out as ``hitos session`` sends
them), records the minutes and agreements, and edits and approves the communiqué. Every rule
lives in ``tasks.mesa``; refusals come back as the page with their code.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from console.site import (
    ConsoleState,
    Csrf,
    Director,
    Here,
    Id,
    Text,
    checked,
    cycle_or_404,
    page,
    redirect,
    role,
)
from tasks.core.mesa import DONE, VERDICTS
from tasks.core.refusals import DecisionRefused
from tasks.mesa import agreements, communique, invitations, sessions
from tasks.mesa.accounts import ROLE as CSO
from tasks.mesa.accounts import organisation_of
from tasks.mesa.agenda import build_agenda
from tasks.mesa.assessments import assess
from tasks.people.accounts import Account
from tasks.storage.ledger import Cycle, session
from tasks.storage.queries import cycles_of

router = APIRouter()
Reader = Annotated[Account, Depends(role("director", "reviewer", CSO))]
"""Everyone who reads the Mesa's pages: the directorate and civil society."""
Society = Annotated[Account, Depends(role(CSO))]
Present = Annotated[list[str], Form()]


@router.get("/mesa")
def mesa_home(here: Here, account: Reader) -> Response:
    """The newest cycle's Mesa page (where a civil-society account lands after signing in)."""
    with session(here.settings.database) as db:
        cycles = cycles_of(db, here.plan.id)
    if not cycles:
        return redirect("/")
    return redirect(f"/mesa/{cycles[-1].id}")


@router.get("/mesa/{cycle_id}")
def mesa_page(request: Request, here: Here, cycle_id: str, account: Reader) -> Response:
    return _page(request, here, cycle_or_404(here, cycle_id), account)


@router.post("/mesa/{cycle_id}/valoraciones/{milestone}")
def assess_milestone(
    request: Request,
    here: Here,
    cycle_id: str,
    milestone: str,
    account: Society,
    csrf: Csrf = "",
    verdict: Text = "",
    note: Text = "",
    evidence: Text = "",
) -> Response:
    """A civil-society account's assessment, in the name of its own organisation only."""
    checked(account, csrf)
    cycle = cycle_or_404(here, cycle_id)
    org = organisation_of(here.settings, account.email)
    try:
        assess(
            here.settings,
            here.plan,
            cycle.id,
            milestone,
            verdict,
            org,
            note,
            evidence,
            account.email,
        )
    except DecisionRefused as exc:
        return _page(request, here, cycle, account, exc.code, 400)
    return redirect(f"/mesa/{cycle.id}?hecho=assessed#hito-{milestone}")


@router.post("/mesa/{cycle_id}/sesion")
def schedule_session(
    request: Request,
    here: Here,
    cycle_id: str,
    account: Director,
    csrf: Csrf = "",
    day: Text = "",
    at: Text = "",
    place: Text = "",
    reason: Text = "",
) -> Response:
    """Schedule or move the session; every member is sent the invitation (or its update)."""
    checked(account, csrf)
    cycle = cycle_or_404(here, cycle_id)
    try:
        on = date.fromisoformat(day)
    except ValueError:
        return _page(request, here, cycle, account, "bad-date", 400)
    try:
        sessions.schedule(here.settings, here.plan, cycle.id, on, at, place, account.email,
                          reason=reason)  # fmt: skip
    except DecisionRefused as exc:
        return _page(request, here, cycle, account, exc.code, 400)
    invitations.invite(here.settings, here.plan, cycle.id)
    return redirect(f"/mesa/{cycle.id}?hecho=scheduled")


@router.post("/mesa/{cycle_id}/cancelar")
def cancel_session(
    request: Request, here: Here, cycle_id: str, account: Director, csrf: Csrf = "",
    reason: Text = "",
) -> Response:  # fmt: skip
    checked(account, csrf)
    cycle = cycle_or_404(here, cycle_id)
    try:
        sessions.cancel(here.settings, here.plan, cycle.id, reason, account.email)
    except DecisionRefused as exc:
        return _page(request, here, cycle, account, exc.code, 400)
    invitations.invite(here.settings, here.plan, cycle.id)
    return redirect(f"/mesa/{cycle.id}?hecho=cancelled")


@router.post("/mesa/{cycle_id}/acta")
def record_minutes(
    request: Request,
    here: Here,
    cycle_id: str,
    account: Director,
    csrf: Csrf = "",
    present: Present = [],  # noqa: B006 (FastAPI reads the default, never mutates it)
) -> Response:
    checked(account, csrf)
    cycle = cycle_or_404(here, cycle_id)
    try:
        sessions.record_minutes(here.settings, here.plan, cycle.id, present, account.email)
    except DecisionRefused as exc:
        return _page(request, here, cycle, account, exc.code, 400)
    return redirect(f"/mesa/{cycle.id}?hecho=minutes")


@router.post("/mesa/{cycle_id}/acuerdos")
def add_agreement(
    request: Request,
    here: Here,
    cycle_id: str,
    account: Director,
    csrf: Csrf = "",
    text: Text = "",
    owner: Text = "",
    due: Text = "",
    milestone: Text = "",
) -> Response:
    """An agreement of the session: its owner is emailed it."""
    checked(account, csrf)
    cycle = cycle_or_404(here, cycle_id)
    try:
        until = date.fromisoformat(due)
    except ValueError:
        return _page(request, here, cycle, account, "bad-date", 400)
    try:
        agreements.add(here.settings, here.plan, cycle.id, text, owner, until, milestone,
                       account.email)  # fmt: skip
    except DecisionRefused as exc:
        return _page(request, here, cycle, account, exc.code, 400)
    return redirect(f"/mesa/{cycle.id}?hecho=agreed")


@router.post("/mesa/{cycle_id}/acuerdos/{number}/cerrar")
def close_agreement(
    request: Request,
    here: Here,
    cycle_id: str,
    number: Id,
    account: Director,
    csrf: Csrf = "",
    note: Text = "",
    state: Text = DONE,
) -> Response:
    checked(account, csrf)
    cycle = cycle_or_404(here, cycle_id)
    try:
        agreements.close(here.settings, here.plan, f"{cycle.id}/{number}", note, account.email,
                         state)  # fmt: skip
    except DecisionRefused as exc:
        return _page(request, here, cycle, account, exc.code, 400)
    return redirect(f"/mesa/{cycle.id}?hecho=closed")


@router.get("/mesa/{cycle_id}/comunicado")
def communique_page(request: Request, here: Here, cycle_id: str, account: Director) -> Response:
    return _communique(request, here, cycle_or_404(here, cycle_id), account)


@router.post("/mesa/{cycle_id}/comunicado")
def edit_communique(
    request: Request,
    here: Here,
    cycle_id: str,
    account: Director,
    csrf: Csrf = "",
    context: Text = "",
    presented: Text = "",
    closing: Text = "",
) -> Response:
    """The director's own paragraphs (an approved communiqué edited is a draft again)."""
    checked(account, csrf)
    cycle = cycle_or_404(here, cycle_id)
    texts = {"context": context, "presented": presented, "closing": closing}
    try:
        communique.edit(here.settings, here.plan, cycle.id, texts)
    except DecisionRefused as exc:
        return _communique(request, here, cycle, account, exc.code, 400)
    return redirect(f"/mesa/{cycle.id}/comunicado?hecho=edited")


@router.post("/mesa/{cycle_id}/comunicado/aprobar")
def approve_communique(
    request: Request, here: Here, cycle_id: str, account: Director, csrf: Csrf = ""
) -> Response:
    """Approve the communiqué as it reads now: the board publishes it."""
    checked(account, csrf)
    cycle = cycle_or_404(here, cycle_id)
    try:
        communique.approve(here.settings, here.plan, cycle.id, account.email)
    except DecisionRefused as exc:
        return _communique(request, here, cycle, account, exc.code, 400)
    return redirect(f"/mesa/{cycle.id}/comunicado?hecho=approved")


def _page(
    request: Request,
    here: ConsoleState,
    cycle: Cycle,
    account: Account,
    error: str = "",
    status: int = 200,
) -> Response:
    agenda = build_agenda(here.settings, here.plan, cycle.id, here.language)
    context: dict[str, Any] = {
        "agenda": agenda,
        "verdicts": VERDICTS,
        "organisation": organisation_of(here.settings, account.email),
        "agreements": agreements.agreements(here.settings, here.plan.id),
        "owners": _owners(here),
        "error": error,
        "done": request.query_params.get("hecho", ""),
    }  # fmt: skip
    return _mesa_page(request, "mesa.html", account, cycle, status, **context)


def _owners(here: ConsoleState) -> list[Any]:
    """Who may own an agreement: the plan's institutions, then the Mesa's organisations that are
    not one."""
    codes = {i.code for i in here.plan.institutions}
    return [*here.plan.institutions, *[m for m in here.plan.civil_society() if m.code not in codes]]


def _communique(
    request: Request,
    here: ConsoleState,
    cycle: Cycle,
    account: Account,
    error: str = "",
    status: int = 200,
) -> Response:
    try:
        drafted = communique.draft(here.settings, here.plan, cycle.id)
    except DecisionRefused as exc:
        drafted, error, status = None, error or exc.code, status if error else 409
    return _mesa_page(
        request,
        "mesa_communique.html",
        account,
        cycle,
        status,
        c=drafted,
        files=[],
        error=error,
        done=request.query_params.get("hecho", ""),
    )


def _mesa_page(
    request: Request, template: str, account: Account, cycle: Cycle, status: int, **context: Any
) -> Response:
    """A page of the Mesa about one cycle, with the switcher to the same page of the others."""
    here: ConsoleState = request.app.state.console
    with session(here.settings.database) as db:
        cycles = [c.id for c in cycles_of(db, cycle.plan_id)]
    rest = request.url.path.split("/")[3:]
    same = "/comunicado" if rest[:1] == ["comunicado"] else ""
    links = [(other, f"/mesa/{other}{same}") for other in cycles]
    return page(request, template, account, status, cycle=cycle, cycle_links=links, **context)
