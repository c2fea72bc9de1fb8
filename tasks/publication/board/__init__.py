"""The public board: a static site of every published cycle, its history, downloads, OGP view.

``build_board(settings, plan)`` writes ``<workspace>/board/<plan>/``, a folder any web server can
serve as is: a home page, a list of every milestone, a page per commitment and per institution,
the OGP view, the downloads and the open-data package (``datos/datapackage.json``). Its parts:

- ``cycles``: what is shown, read from the published reports (every figure as consolidation
  computed it for the version shown; the board computes no progress of its own);
- ``downloads``: each public version's report files, copied from the file store;
- ``pages``: the pages, in the language people read (``language_of``), their words from the
  catalogue (``board_page.*``), their addresses the same in every language;
- ``swap``: builds of a plan take turns, each in a private folder swapped in by renaming a
  symbolic link (``board/<plan>`` points at the board being served), so a web server never serves
  half a board.

The pages load nothing from outside: one local stylesheet and one local script (``tablero.js``,
search, filters and sort over what the page already shows; every page is whole without it). The
only addresses are the institutions' own evidence links. Contacts and senders never reach them:
the templates are given institution codes and names, never an ``Institution``.

The board is derived data, rebuilt from the ledger at every publication, and so it is not kept in
the file store; the report files it offers for download are read from it.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tasks.catalogues import language_of
from tasks.plans.plan import Plan
from tasks.publication.board.cycles import PublishedCycle, public_versions, published_cycles
from tasks.publication.board.downloads import DOWNLOADS, copy_downloads
from tasks.publication.board.pages import write_pages
from tasks.publication.board.swap import one_build_at_a_time, swap
from tasks.publication.datapackage import write_package
from tasks.settings import Settings
from tasks.storage.ledger import session

__all__ = [
    "DOWNLOADS",
    "BoardResult",
    "PublishedCycle",
    "build_board",
    "public_versions",
    "published_cycles",
]


@dataclass
class BoardResult:
    """What ``build_board`` wrote, for the CLI's summary and the benchmark."""

    folder: Path
    cycles: list[str]
    pages: int = 0
    files: int = 0
    size: int = 0
    published: dict[str, int] = field(default_factory=dict)
    """Cycle → the report version the board shows."""


def _size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def build_board(settings: Settings, plan: Plan) -> BoardResult:
    """Write the plan's public board of every published cycle to ``<workspace>/board/<plan>/``;
    what it wrote (each plan has its own board: its own commitments, its own history).

    Called after each publication (and by ``hitos board``); safe to run at any time, it always
    rebuilds the whole folder from the ledger.
    """
    root = settings.folder("board")
    target = root / plan.id
    language = language_of(settings, plan)
    with one_build_at_a_time(root, plan.id):
        built = Path(tempfile.mkdtemp(dir=root, prefix=f".{plan.id}-"))
        built.chmod(0o755)  # mkdtemp's 0700 would hide the board from the web server
        with session(settings.database) as db:
            cycles = published_cycles(db, plan)
            offered = copy_downloads(db, plan, cycles, built)
        result = BoardResult(target, [p.cycle.id for p in cycles])
        result.published = {p.cycle.id: p.report.version for p in cycles}
        package = None
        if cycles:
            package = write_package(settings, plan, language, cycles, offered, built / "datos")
        result.pages = write_pages(settings, plan, language, cycles, offered, package, built)
        result.files, result.size = _size(built)
        swap(built, target)
    return result
