"""The directorate's console: reviewers review files, the director grants extensions and publishes.

A thin web layer over the same task functions the CLI calls (``tasks.people.review``,
``tasks.cycle.extensions``, ``tasks.publication.approval``): every rule lives there, every page is
a Jinja2 template of ``templates/console/``. One router per area (``console.routes``), standing on
``console.site``: every route checks the signed-in account's role on the server; every form
carries the session's CSRF token; files are downloaded by submission or report id from the file
store, never by a path from the request.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import Response

from console.dashboard import DashboardRows
from console.routes import (
    board,
    cycle,
    data_docs,
    downloads,
    extensions,
    mesa,
    portal,
    publication,
    sign_in,
    submission,
)
from console.site import ConsoleState, install_error_pages
from tasks.catalogues import language_of
from tasks.people.contacts import current_plan
from tasks.plans.plan import Plan
from tasks.rendering import environment, render
from tasks.settings import Settings
from tasks.storage.ledger import session
from tasks.storage.links import PATH as LINKS
from tasks.storage.queries import cycles_of

ROUTERS = (
    sign_in,
    cycle,
    submission,
    extensions,
    publication,
    data_docs,
    downloads,
    board,
    mesa,
    portal,
)


def create_app(settings: Settings, plan: Plan) -> FastAPI:
    """The console on one workspace and plan."""
    state = ConsoleState(settings, plan, language_of(settings, plan), DashboardRows(settings, plan))

    @asynccontextmanager
    async def ready(app: FastAPI) -> AsyncIterator[None]:
        """Each worker computes the newest cycle's dashboard and compiles its template before it
        takes requests: a worker just started made the first people wait seconds."""
        with session(settings.database) as db:
            cycles = cycles_of(db, plan.id)
        if cycles:
            state.rows.warm(cycles[-1].id)
        environment(state.language).get_template("console/dashboard.html")
        yield

    app = FastAPI(title="Hitos", docs_url=None, redoc_url=None, openapi_url=None, lifespan=ready)
    app.state.console = state
    install_error_pages(app)

    @app.get("/estilo.css")
    def stylesheet() -> Response:
        css = render("console/console.css", state.language)
        return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=3600"})

    for area in ROUTERS:
        app.include_router(area.router)
    return app


_TOKEN = re.compile(re.escape(LINKS) + r"/[^/?\s]+")


class HiddenLinks(logging.Filter):
    """A liaison's personal link is a password: an access log line shows ``/enlace/…``, never
    the token (uvicorn logs each request's path when ``--log-level info`` or lower)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN.sub(LINKS + "/…", a) if isinstance(a, str) else a for a in record.args
            )
        return True


def from_environment() -> FastAPI:
    """The console as each worker of ``hitos serve`` builds it: the workspace and plan of the
    ``HITOS_`` settings in the environment, contacts as currently recorded."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, HiddenLinks) for f in access.filters):
        access.addFilter(HiddenLinks())
    settings = Settings()
    return create_app(settings, current_plan(settings))  # contacts and plan changes in force
