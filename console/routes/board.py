"""The plan's public board as the public sees it, for staff to check before and after they
publish: the folder every publication rebuilds in the workspace (``board/<plan>/``, see
``tasks.publication.board``), served by name from a listing of it, never by a path from the
request. The board's pages link each other relatively, so they work under ``/tablero/`` as is.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from console.site import SECURITY_HEADERS, ConsoleState, Here, Refused, Staff

BOARD_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; "
    "form-action 'none'"
)
"""The board loads nothing from outside: its stylesheet and its one script (``tablero.js``, search,
filters and sort) are its own files (``tasks.publication.board``)."""

router = APIRouter()


def board_root(here: ConsoleState) -> Path:
    return here.settings.home / "board" / here.plan.id


def has_board(here: ConsoleState) -> bool:
    """Whether a publication has built the plan's board in this workspace."""
    return (board_root(here) / "index.html").is_file()


@router.get("/tablero")
def board_home(account: Staff) -> Response:
    return RedirectResponse("/tablero/", status_code=303)


@router.get("/tablero/{name:path}")
def board_file(here: Here, name: str, account: Staff) -> Response:
    root = board_root(here).resolve()
    files = (
        {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()}
        if root.is_dir()
        else {}
    )
    found = files.get(name) or files.get(f"{name.rstrip('/')}/index.html" if name else "index.html")
    if found is None:
        raise Refused(404, "not-found")
    media = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
    return Response(
        found.read_bytes(),
        media_type=media,
        headers={**SECURITY_HEADERS, "Content-Security-Policy": BOARD_CSP},
    )
