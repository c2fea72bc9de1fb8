"""What every page of the console stands on: its state, the page renderer, the guards, the errors.

Each area's router (``console.routes``) asks for these and nothing else: the settings, plan and
language on ``app.state`` (``Here``), the signed-in account with its role (``Staff``,
``Director``), the session's CSRF token (``checked``), ids bounded to what the ledger can hold
(``Id``), a cycle or a file of this console's plan or a 404, and ``page``, which renders a
template of ``templates/console/`` with the security headers every answer carries.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from console.dashboard import DashboardRows
from tasks.people.accounts import Account, account_of
from tasks.plans.plan import Plan
from tasks.rendering import render
from tasks.settings import Settings
from tasks.storage.ledger import Cycle, Submission, session
from tasks.storage.queries import cycle_of, cycles_of

SESSION_COOKIE = "hitos_sesion"
CYCLE_ID = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
MAX_ID = 2**31 - 1
"""The largest id the ledger holds (PostgreSQL's INTEGER); a larger one in a path overflowed
SQLite's integers and answered 500 (#22). Every id in a path is bounded to 1…MAX_ID: 404 beyond."""
SWITCHED = {"publicar": "consolidacion"}
"""Cycle pages whose counterpart in another cycle is another page (a confirmation names one
cycle's draft: switching cycles goes back to that cycle's consolidation)."""
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class ConsoleState:
    """One console's workspace and plan, the language its pages speak, the dashboard's rows."""

    settings: Settings
    plan: Plan
    language: str
    rows: DashboardRows


def state_of(request: Request) -> ConsoleState:
    state: ConsoleState = request.app.state.console
    return state


Here = Annotated[ConsoleState, Depends(state_of)]
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Csrf = Annotated[str, Form()]
Text = Annotated[str, Form()]


class NotSignedIn(Exception):
    """Anonymous: every page but the sign-in page sends the browser there."""


class Refused(Exception):
    """A page or action the account may not use, or a form without its CSRF token."""

    def __init__(self, status: int, code: str) -> None:
        self.status, self.code = status, code


def signed_in(request: Request) -> Account:
    """The account of the session cookie; anonymous requests go to the sign-in page."""
    account = account_of(state_of(request).settings, request.cookies.get(SESSION_COOKIE, ""))
    if account is None:
        raise NotSignedIn()
    return account


def role(*roles: str) -> Callable[[Account], Account]:
    """A dependency that lets only these roles through (403 for the others)."""

    def check(account: Annotated[Account, Depends(signed_in)]) -> Account:
        if account.role not in roles:
            raise Refused(403, "forbidden-role")
        return account

    return check


Staff = Annotated[Account, Depends(role("director", "reviewer"))]
Director = Annotated[Account, Depends(role("director"))]


def checked(account: Account, token: str) -> None:
    """The form carries the session's CSRF token, or it is refused (403)."""
    if not account.csrf or not secrets.compare_digest(account.csrf, token):
        raise Refused(403, "csrf")


def client_of(request: Request) -> str:
    """The address a request comes from (the proxy's, unless uvicorn trusts its headers)."""
    return request.client.host if request.client else "-"


def page(
    request: Request, template: str, account: Account | None, status: int = 200, **context: Any
) -> HTMLResponse:
    """A page of ``templates/console/`` in the console's language, with the security headers."""
    here = state_of(request)
    html = render(
        f"console/{template}",
        here.language,
        account=account,
        plan=here.plan,
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def cycle_page(
    request: Request,
    template: str,
    account: Account,
    cycle: Cycle,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page about one cycle, with the switcher to the plan's other cycles (two a year: a
    handful of links), each pointing at the same page of that cycle."""
    here = state_of(request)
    with session(here.settings.database) as db:
        cycles = [c.id for c in cycles_of(db, cycle.plan_id)]
    parts = request.url.path.split("/")  # /ciclos/<id>/<page>: the same page of another cycle
    same = SWITCHED.get(parts[3], parts[3]) if len(parts) > 3 and parts[1] == "ciclos" else ""
    links = [(other, f"/ciclos/{other}" + (f"/{same}" if same else "")) for other in cycles]
    return page(request, template, account, status, cycle=cycle, cycle_links=links, **context)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)


def cycle_or_404(here: ConsoleState, cycle_id: str) -> Cycle:
    """The plan's cycle named in the path, or 404."""
    if not CYCLE_ID.fullmatch(cycle_id):
        raise Refused(404, "not-found")
    with session(here.settings.database) as db:
        cycle = cycle_of(db, here.plan.id, cycle_id)
    if cycle is None:
        raise Refused(404, "not-found")
    return cycle


def submission_or_404(here: ConsoleState, submission_id: int) -> Submission:
    """A file of this console's plan (or of no plan yet), its findings loaded, or 404."""
    with session(here.settings.database) as db:
        sub = db.get(Submission, submission_id)
        if sub is None or sub.plan_id not in (None, here.plan.id):  # another plan's console
            raise Refused(404, "not-found")
        sub.findings  # noqa: B018 (loaded while the session is open)
        return sub


def install_error_pages(app: FastAPI) -> None:
    """Every refusal as a page of the console: sign-in, 403, 404 (ids out of range too), 422."""

    def account(request: Request) -> Account | None:
        return account_of(state_of(request).settings, request.cookies.get(SESSION_COOKIE, ""))

    @app.exception_handler(NotSignedIn)
    def to_login(request: Request, exc: NotSignedIn) -> Response:
        return redirect("/login")

    @app.exception_handler(Refused)
    def refused(request: Request, exc: Refused) -> Response:
        return page(request, "refused.html", account(request), exc.status, code=exc.code)

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = "not-found" if exc.status_code in (404, 405, 422) else "error"
        return page(request, "refused.html", account(request), exc.status_code, code=code)

    @app.exception_handler(RequestValidationError)
    def invalid(request: Request, exc: RequestValidationError) -> Response:
        if any(error.get("loc", ("",))[0] == "path" for error in exc.errors()):
            return page(request, "refused.html", account(request), 404, code="not-found")
        return page(request, "refused.html", account(request), 422, code="invalid")
