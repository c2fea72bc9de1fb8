"""Archived copies of evidence pages: a local copy to open (named ``LinkState.file_name``).

The copy is the page as fetched, bytes in the file store under their sha256 (so one page linked
by many milestones, or unchanged between checks, is stored once). A PDF of the page was left
aside: printing it would take a browser per link (about a second each here) that loads the
page's images and scripts from wherever they point, past the address checks every fetch passes.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from tasks.settings import Settings
from tasks.storage import filestore
from tasks.storage.queries import LinkState


def local_copy(settings: Settings, db: Session, state: LinkState) -> Path | None:
    """The link's newest archived copy under ``archive/`` in the workspace (written from the
    file store when this machine has none yet); None when it was never archived."""
    if not state.sha256:
        return None
    return filestore.local_copy(
        settings,
        filestore.get(db, state.sha256),
        "archive",
        state.sha256[:2],
        state.file_name,
    )
