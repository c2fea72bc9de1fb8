"""The cycle's Great Expectations Data Docs, served by id from the shared store.

A submission's run page is found by its submission id, the site's index and suite pages by
cycle id, its static files by their name in the site (``tasks.checks.data_docs.store``, which
makes a page the first time anyone asks for it): the request never names a path, and the
pages come from the ledger, whichever worker validated the files. The pages link to each other
and to ``static/`` with relative paths; here those links become the console's own routes.
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import unquote

from tasks.checks.data_docs.results import SUITE_PAGE
from tasks.checks.data_docs.store import (
    INDEX,
    STATIC,
    has_runs,
    run_of,
    run_page,
    runs,
    site_file,
)
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage.ledger import session

_LINK = re.compile(
    r"(?P<before>(?:href|src)=\"|'_table_row_link_path': ')(?P<target>[^\"'#:]+)(?=[\"'#])"
)
"""A relative link: an attribute's, or a clickable row's of the index (its table's data)."""


def has_site(settings: Settings, plan: Plan, cycle_id: str) -> bool:
    """Whether any run of the cycle kept Data Docs (its index can be shown)."""
    with session(settings.database) as db:
        return has_runs(db, plan.id, cycle_id)


def has_run_page(settings: Settings, plan: Plan, submission_id: int) -> bool:
    """Whether a run of the plan kept a submission's Data Docs (its page can be shown)."""
    return run_of(settings, plan, submission_id) is not None


def run_page_html(settings: Settings, plan: Plan, submission_id: int) -> str | None:
    """A submission's run page, its links pointed at the console; None when it has none."""
    found = run_page(settings, plan, submission_id)
    if found is None:
        return None
    run, data = found
    return routed(data.decode(), run.page_name, run.cycle_id, {})


def site_page_html(
    settings: Settings, plan: Plan, cycle_id: str, suite: bool = False
) -> str | None:
    """The cycle's index (or, with ``suite``, the suite's page), its links pointed at the
    console; None before any run of the cycle kept Data Docs."""
    name = SUITE_PAGE if suite else INDEX
    data = site_file(settings, plan, cycle_id, name)
    if data is None:
        return None
    with session(settings.database) as db:
        pages = {run.page_name: run.submission_id for run in runs(db, plan.id, cycle_id)}
    return routed(data.decode(), name, cycle_id, pages)


def static_file(settings: Settings, plan: Plan, cycle_id: str, name: str) -> bytes | None:
    """A file of the site's ``static/`` by its name there; None for any other name."""
    if ".." in name.split("/") or name.startswith("/"):
        return None
    return site_file(settings, plan, cycle_id, STATIC + name)


def routed(html: str, name: str, cycle_id: str, pages: dict[str, int]) -> str:
    """A page of the site (``name``: its path there) with its relative links pointed at the
    console's routes; ``pages`` names each run's page by its submission."""
    base = f"/ciclos/{cycle_id}/data-docs"

    def route(match: re.Match[str]) -> str:
        target = posixpath.normpath(
            posixpath.join(posixpath.dirname(name), unquote(match["target"]))
        )
        if target == INDEX:
            url = base
        elif target == SUITE_PAGE:
            url = f"{base}/reglas"
        elif target.startswith(STATIC):
            url = f"{base}/estatico/{target.removeprefix(STATIC)}"
        elif target in pages:
            url = f"/envios/{pages[target]}/data-docs"
        else:
            return match.group(0)
        return match["before"] + url

    return _LINK.sub(route, html)
