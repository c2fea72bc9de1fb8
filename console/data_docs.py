"""The cycle's Great Expectations Data Docs (``tasks.checks.data_docs`` builds them), served by id.

A submission's validation page is found by its submission id (the site's ``envios/<id>.html``
pointers, ``tasks.checks.data_docs.run_pages``), the site's index and suite pages by cycle id,
its static files by their name in a listing of the site's ``static/`` folder: the request never
names a path on disk. The pages link to each other and to ``static/`` with relative paths; here
those links become the console's own routes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from tasks.checks.data_docs import run_pages, site_folder
from tasks.checks.validation import SUITE_NAME
from tasks.settings import Settings

_LINK = re.compile(r"(?P<attr>(?:href|src)=\")(?P<target>[^\"#:]+)(?=[\"#])")


@dataclass(frozen=True)
class Site:
    """What one cycle's site holds, as the console's routes address it."""

    cycle_id: str
    root: Path
    runs: dict[int, Path]
    """Submission id → the page of the suite run that checked it."""
    static: dict[str, Path]
    """Name under ``static/`` → the file."""


def site_of(settings: Settings, cycle_id: str, plan_id: str) -> Site:
    """The cycle's site as it is on disk now (a few folders: cheap enough per request)."""
    root = site_folder(settings, cycle_id, plan_id).resolve()
    pages = run_pages(settings, cycle_id, plan_id)
    runs = {sub_id: page.resolve() for sub_id, page in pages.items()}
    static_root = root / "static"
    static = {
        path.relative_to(static_root).as_posix(): path
        for path in static_root.rglob("*")
        if path.is_file()
    }
    return Site(cycle_id, root, runs, static)


def page_html(site: Site, page: Path) -> str:
    """A page of the site with its relative links pointed at the console's routes."""
    runs_by_page = {path: sub_id for sub_id, path in sorted(site.runs.items(), reverse=True)}
    base = f"/ciclos/{site.cycle_id}/data-docs"

    def route(match: re.Match[str]) -> str:
        target = (page.parent / unquote(match.group("target"))).resolve()
        if not target.is_relative_to(site.root):
            return match.group(0)
        name = target.relative_to(site.root).as_posix()
        if name == "index.html":
            url = base
        elif name == f"expectations/{SUITE_NAME}.html":
            url = f"{base}/reglas"
        elif name.startswith("static/"):
            url = f"{base}/estatico/{name.removeprefix('static/')}"
        elif target in runs_by_page:
            url = f"/envios/{runs_by_page[target]}/data-docs"
        else:
            return match.group(0)
        return match.group("attr") + url

    return _LINK.sub(route, page.read_text(encoding="utf-8"))
