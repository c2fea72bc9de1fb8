"""The directorate's console: reviewers review files, the director grants extensions and publishes.

A thin web layer over the same task functions the CLI calls (``tasks.people.review``,
``tasks.cycle.extensions``, ``tasks.publication.approval``): every rule lives there, every page is
a Jinja2 template of ``templates/console/``. Every route checks the signed-in account's role on the
server; every form carries the session's CSRF token; files are downloaded by submission or report
id from the file store, never by a path from the request.
"""

import mimetypes
import re
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.exceptions import HTTPException as StarletteHTTPException

from console.dashboard import FILTERS, DashboardRows, page_of
from console.data_docs import page_html, site_of
from tasks.catalogues import language_of
from tasks.checks.validation import SUITE_NAME
from tasks.cycle.extensions import ExtensionRefused, extend, extensions
from tasks.cycle.intake import as_outcome
from tasks.people.accounts import Account, account_of, limited, sign_in, sign_out
from tasks.people.contacts import with_current_contacts
from tasks.people.review import ReviewRefused, approve, return_submission, review_list
from tasks.plans.plan import Plan, load_plan
from tasks.publication.approval import (
    PublicationRefused,
    consolidate_draft,
    publish_draft,
)
from tasks.publication.report import KINDS, evidence_link, report_name
from tasks.rendering import environment, render
from tasks.settings import Settings
from tasks.storage import filestore
from tasks.storage.ledger import (
    Cycle,
    Decision,
    MilestoneValue,
    Report,
    Submission,
    of_cycle,
    session,
)
from tasks.storage.queries import cycle_of, cycles_of
from tasks.workbooks.contract import COLUMNS
from tasks.workbooks.marking import mark_findings

SESSION_COOKIE = "hitos_sesion"
LOGIN_COOKIE = "hitos_ingreso"
CYCLE_ID = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
MEDIA = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; form-action 'none'"
)
"""Data Docs pages run one inline script of Great Expectations' (their tables); every value an
institution typed is escaped in them (``tasks.checks.data_docs.inert``)."""
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class NotSignedIn(Exception):
    """Anonymous: every page but the sign-in page sends the browser there."""


class Refused(Exception):
    """A page or action the account may not use, or a form without its CSRF token."""

    def __init__(self, status: int, code: str) -> None:
        self.status, self.code = status, code


def signed_in(request: Request) -> Account:
    """The account of the session cookie; anonymous requests go to the sign-in page."""
    settings: Settings = request.app.state.settings
    account = account_of(settings, request.cookies.get(SESSION_COOKIE, ""))
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
Csrf = Annotated[str, Form()]
Text = Annotated[str, Form()]


def create_app(settings: Settings, plan: Plan) -> FastAPI:
    """The console on one workspace and plan."""
    language = language_of(settings, plan)
    rows = DashboardRows(settings, plan)

    @asynccontextmanager
    async def ready(app: FastAPI) -> AsyncIterator[None]:
        """Each worker computes the newest cycle's dashboard and compiles its template before it
        takes requests: a worker just started made the first people wait seconds."""
        with session(settings.database) as db:
            cycles = cycles_of(db, plan.id)
        if cycles:
            rows.warm(cycles[-1].id)
        environment(language).get_template("console/dashboard.html")
        yield

    app = FastAPI(title="Hitos", docs_url=None, redoc_url=None, openapi_url=None, lifespan=ready)
    app.state.settings = settings

    def page(
        request: Request, template: str, account: Account | None, status: int = 200, **context: Any
    ) -> HTMLResponse:
        html = render(
            f"console/{template}",
            language,
            account=account,
            plan=plan,
            path=request.url.path,
            **context,
        )
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def checked(account: Account, token: str) -> None:
        if not account.csrf or not secrets.compare_digest(account.csrf, token):
            raise Refused(403, "csrf")

    def cycle_or_404(cycle_id: str) -> Cycle:
        if not CYCLE_ID.fullmatch(cycle_id):
            raise Refused(404, "not-found")
        with session(settings.database) as db:
            cycle = cycle_of(db, plan.id, cycle_id)
        if cycle is None:
            raise Refused(404, "not-found")
        return cycle

    @app.exception_handler(NotSignedIn)
    def to_login(request: Request, exc: NotSignedIn) -> Response:
        return RedirectResponse("/login", status_code=303, headers=SECURITY_HEADERS)

    @app.exception_handler(Refused)
    def refused(request: Request, exc: Refused) -> Response:
        account = account_of(settings, request.cookies.get(SESSION_COOKIE, ""))
        return page(request, "refused.html", account, exc.status, code=exc.code)

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        account = account_of(settings, request.cookies.get(SESSION_COOKIE, ""))
        code = "not-found" if exc.status_code in (404, 405, 422) else "error"
        return page(request, "refused.html", account, exc.status_code, code=code)

    @app.exception_handler(RequestValidationError)
    def invalid(request: Request, exc: RequestValidationError) -> Response:
        account = account_of(settings, request.cookies.get(SESSION_COOKIE, ""))
        return page(request, "refused.html", account, 422, code="invalid")

    @app.get("/estilo.css")
    def stylesheet() -> Response:
        css = render("console/console.css", language)
        return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=3600"})

    # Signing in and out.

    @app.get("/login")
    def login_form(request: Request) -> Response:
        if account_of(settings, request.cookies.get(SESSION_COOKIE, "")):
            return RedirectResponse("/", status_code=303)
        token = secrets.token_urlsafe(32)
        response = page(request, "login.html", None, csrf=token, error="")
        response.set_cookie(
            LOGIN_COOKIE, token, max_age=3600, secure=True, httponly=True, samesite="strict"
        )
        return response

    @app.post("/login")
    def login(
        request: Request,
        email: Text = "",
        password: Text = "",
        csrf: Csrf = "",
    ) -> Response:
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if not expected or not secrets.compare_digest(expected, csrf):
            raise Refused(403, "csrf")
        client = request.client.host if request.client else "-"
        if limited(settings, email, client):
            return page(request, "login.html", None, 429, csrf=csrf, error="limited", email=email)
        try:
            _, token = sign_in(settings, email, password, client)
        except PermissionError:
            return page(request, "login.html", None, 401, csrf=csrf, error="wrong", email=email)
        response = RedirectResponse("/", status_code=303, headers=SECURITY_HEADERS)
        response.set_cookie(
            SESSION_COOKIE, token, max_age=12 * 3600, secure=True, httponly=True, samesite="lax"
        )
        response.delete_cookie(LOGIN_COOKIE)
        return response

    @app.post("/salir")
    def logout(request: Request, account: Staff, csrf: Csrf = "") -> Response:
        checked(account, csrf)
        sign_out(settings, request.cookies.get(SESSION_COOKIE, ""))
        response = RedirectResponse("/login", status_code=303, headers=SECURITY_HEADERS)
        response.delete_cookie(SESSION_COOKIE)
        return response

    # The cycle.

    @app.get("/")
    def home(request: Request, account: Staff) -> Response:
        with session(settings.database) as db:
            cycles = cycles_of(db, plan.id)
        if not cycles:
            return page(request, "empty.html", account)
        return dashboard(request, cycles[-1].id, account)

    @app.get("/ciclos/{cycle_id}")
    def dashboard(
        request: Request,
        cycle_id: str,
        account: Staff,
        estado: str = "",
        buscar: str = "",
        pagina: int = 1,
    ) -> Response:
        cycle = cycle_or_404(cycle_id)
        found = rows.of(cycle.id)
        return page(
            request,
            "dashboard.html",
            account,
            cycle=cycle,
            page=page_of(found, estado, buscar[:100], pagina),
            counts=found.counts,
            filters=FILTERS,
            pending=found.pending,
            publication=found.publication,
            done=request.query_params.get("hecho", ""),
        )

    @app.get("/ciclos/{cycle_id}/historial")
    def history(request: Request, cycle_id: str, account: Staff) -> Response:
        cycle = cycle_or_404(cycle_id)
        with session(settings.database) as db:
            decisions = list(
                db.scalars(
                    select(Decision)
                    .where(of_cycle(Decision, plan.id, cycle.id))
                    .order_by(Decision.id.desc())
                )
            )
        return page(request, "history.html", account, cycle=cycle, decisions=decisions)

    # A submission and its review.

    def submission_or_404(submission_id: int) -> Submission:
        with session(settings.database) as db:
            sub = db.get(Submission, submission_id)
            if sub is None or sub.plan_id not in (None, plan.id):  # another plan's console
                raise Refused(404, "not-found")
            sub.findings  # noqa: B018 (loaded while the session is open)
            return sub

    @app.get("/envios/{submission_id}")
    def submission_page(
        request: Request, submission_id: int, account: Staff, error: str = ""
    ) -> Response:
        sub = submission_or_404(submission_id)
        outcome = as_outcome(sub)
        with session(settings.database) as db:
            values = list(
                db.scalars(
                    select(MilestoneValue)
                    .where(MilestoneValue.submission_id == sub.id)
                    .order_by(MilestoneValue.id)
                )
            )
            decisions = list(
                db.scalars(
                    select(Decision)
                    .where(Decision.submission_id == sub.id)
                    .order_by(Decision.id.desc())
                )
            )
            siblings = list(
                db.scalars(
                    select(Submission).where(
                        Submission.source_ref == sub.source_ref,
                        Submission.source_ref != "",
                        Submission.id != sub.id,
                    )
                )
            )
        item = next(
            (
                i
                for i in review_list(
                    settings, sub.cycle_id or "", plan.id, institution=sub.institution or ""
                )
                if i.submission_id == sub.id
            ),
            None,
        )
        findings = [
            {
                "finding": f,
                "cell": f"{_letter(f.column)}{f.row}" if f.row and _letter(f.column) else "",
            }
            for f in outcome.findings
        ]
        evidence = [(v.milestone, v.evidencia_url, evidence_link(v.evidencia_url)) for v in values]
        return page(
            request,
            "submission.html",
            account,
            sub=sub,
            findings=findings,
            evidence=[e for e in evidence if e[1]],
            decisions=decisions,
            siblings=siblings,
            item=item,
            error=error,
            marked=sub.outcome == "rejected",
            data_docs=bool(sub.cycle_id)
            and sub.id in site_of(settings, sub.cycle_id or "", plan.id).runs,
        )

    # Great Expectations' Data Docs of the cycle (built by intake), by id.

    def docs_page(html: str) -> HTMLResponse:
        return HTMLResponse(html, headers={**SECURITY_HEADERS, "Content-Security-Policy": DOCS_CSP})

    @app.get("/envios/{submission_id}/data-docs")
    def submission_docs(submission_id: int, account: Staff) -> Response:
        sub = submission_or_404(submission_id)
        site = site_of(settings, sub.cycle_id or "", plan.id) if sub.cycle_id else None
        if site is None or sub.id not in site.runs:
            raise Refused(404, "not-found")
        return docs_page(page_html(site, site.runs[sub.id]))

    @app.get("/ciclos/{cycle_id}/data-docs")
    def cycle_docs(cycle_id: str, account: Staff) -> Response:
        site = site_of(settings, cycle_or_404(cycle_id).id, plan.id)
        if not (site.root / "index.html").is_file():
            raise Refused(404, "not-found")
        return docs_page(page_html(site, site.root / "index.html"))

    @app.get("/ciclos/{cycle_id}/data-docs/reglas")
    def suite_docs(cycle_id: str, account: Staff) -> Response:
        site = site_of(settings, cycle_or_404(cycle_id).id, plan.id)
        suite = site.root / "expectations" / f"{SUITE_NAME}.html"
        if not suite.is_file():
            raise Refused(404, "not-found")
        return docs_page(page_html(site, suite))

    @app.get("/ciclos/{cycle_id}/data-docs/estatico/{name:path}")
    def docs_static(cycle_id: str, name: str, account: Staff) -> Response:
        found = site_of(settings, cycle_or_404(cycle_id).id, plan.id).static.get(name)
        if found is None:
            raise Refused(404, "not-found")
        media = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        return Response(
            found.read_bytes(),
            media_type=media,
            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"},
        )

    @app.get("/envios/{submission_id}/archivo/{kind}")
    def download(submission_id: int, kind: str, account: Staff) -> Response:
        if kind not in ("original", "marcado"):
            raise Refused(404, "not-found")
        sub = submission_or_404(submission_id)
        with session(settings.database) as db:
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
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                **SECURITY_HEADERS,
            },
        )

    def review_action(
        submission_id: int, account: Account, csrf: str, act: Callable[[], Any]
    ) -> Response:
        checked(account, csrf)
        try:
            done = act()
        except ReviewRefused as exc:
            return RedirectResponse(f"/envios/{submission_id}?error={exc.code}", status_code=303)
        return RedirectResponse(f"/ciclos/{done.cycle_id}?hecho={done.review}", status_code=303)

    @app.post("/envios/{submission_id}/aprobar")
    def approve_submission(
        submission_id: int, account: Staff, csrf: Csrf = "", note: Text = ""
    ) -> Response:
        return review_action(
            submission_id,
            account,
            csrf,
            lambda: approve(settings, plan, submission_id, account.email, note),
        )

    @app.post("/envios/{submission_id}/devolver")
    def return_to_institution(
        submission_id: int, account: Staff, csrf: Csrf = "", note: Text = ""
    ) -> Response:
        return review_action(
            submission_id,
            account,
            csrf,
            lambda: return_submission(settings, plan, submission_id, account.email, note),
        )

    # Extensions (the director).

    @app.get("/ciclos/{cycle_id}/prorrogas")
    def extensions_page(request: Request, cycle_id: str, account: Director) -> Response:
        return extensions_view(request, cycle_or_404(cycle_id), account)

    def extensions_view(
        request: Request, cycle: Cycle, account: Account, error: str = "", status: int = 200
    ) -> Response:
        return page(
            request,
            "extensions.html",
            account,
            status,
            cycle=cycle,
            granted=extensions(settings, cycle.id),
            institutions=plan.reporting_institutions(),
            error=error,
            done=request.query_params.get("hecho", ""),
        )

    @app.post("/ciclos/{cycle_id}/prorrogas")
    def grant_extension(
        request: Request,
        cycle_id: str,
        account: Director,
        csrf: Csrf = "",
        institution: Text = "",
        until: Text = "",
        reason: Text = "",
    ) -> Response:
        checked(account, csrf)
        cycle = cycle_or_404(cycle_id)
        try:
            day = date.fromisoformat(until)
        except ValueError:
            return extensions_view(request, cycle, account, "bad-date", 400)
        try:
            extend(settings, plan, cycle.id, institution, day, reason, account.email)
        except ExtensionRefused as exc:
            return extensions_view(request, cycle, account, exc.code, 400)
        return RedirectResponse(f"/ciclos/{cycle.id}/prorrogas?hecho=extended", status_code=303)

    # Consolidation and publication (the director).

    @app.get("/ciclos/{cycle_id}/consolidacion")
    def consolidation_page(
        request: Request, cycle_id: str, account: Director, error: str = ""
    ) -> Response:
        cycle = cycle_or_404(cycle_id)
        found = rows.of(cycle.id)
        return page(
            request,
            "consolidation.html",
            account,
            cycle=cycle,
            publication=found.publication,
            pending=found.pending,
            kinds=KINDS,
            error=error,
            done=request.query_params.get("hecho", ""),
        )

    @app.post("/ciclos/{cycle_id}/consolidar")
    def start_consolidation(cycle_id: str, account: Director, csrf: Csrf = "") -> Response:
        checked(account, csrf)
        cycle = cycle_or_404(cycle_id)
        consolidate_draft(settings, plan, cycle.id, account.email)
        return RedirectResponse(
            f"/ciclos/{cycle.id}/consolidacion?hecho=consolidated", status_code=303
        )

    @app.post("/ciclos/{cycle_id}/publicar")
    def publish(cycle_id: str, account: Director, csrf: Csrf = "") -> Response:
        checked(account, csrf)
        cycle = cycle_or_404(cycle_id)
        try:
            publish_draft(settings, plan, cycle.id, account.email)
        except PublicationRefused as exc:
            return RedirectResponse(
                f"/ciclos/{cycle.id}/consolidacion?error={exc.code}", status_code=303
            )
        return RedirectResponse(
            f"/ciclos/{cycle.id}/consolidacion?hecho=published", status_code=303
        )

    @app.get("/ciclos/{cycle_id}/informes/{version}/{kind}")
    def report_file(cycle_id: str, version: int, kind: str, account: Director) -> Response:
        cycle = cycle_or_404(cycle_id)
        if kind not in KINDS:
            raise Refused(404, "not-found")
        with session(settings.database) as db:
            report = db.scalars(
                select(Report).where(of_cycle(Report, plan.id, cycle.id), Report.version == version)
            ).first()
            if report is None or kind not in report.files:
                raise Refused(404, "not-found")
            data = filestore.get(db, report.files[kind])
        name = report_name(plan, cycle.id, kind)
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

    return app


def from_environment() -> FastAPI:
    """The console as each worker of ``hitos serve`` builds it: the workspace and plan of the
    ``HITOS_`` settings in the environment, contacts as currently recorded."""
    settings = Settings()
    return create_app(settings, with_current_contacts(settings, load_plan(settings.plan)))


def _letter(column: str) -> str:
    """The column's letter in the request workbook (where the contract puts it)."""
    if column not in COLUMNS:
        return ""
    index = COLUMNS.index(column)
    return chr(ord("A") + index) if index < 26 else ""


def _safe_name(filename: str) -> str:
    """A file name fit for a Content-Disposition header: no path, quotes or control characters."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return re.sub(r"[^\w.\- ]", "_", base)[:120]
