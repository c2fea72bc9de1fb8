"""The file store: bytes by sha256 in the ledger, local copies in the workspace for people.

One home for every file Hitos keeps or makes. ``put`` inside the same transaction as the row
that names the file, ``get`` wherever the step runs (another worker, another machine), and
``local_copy`` when a person needs a path to open. The ledger never holds a machine's path.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from tasks.settings import Settings
from tasks.storage.ledger import Blob, insert_or_ignore, utcnow


def digest(data: bytes) -> str:
    """The key a file is stored under."""
    return hashlib.sha256(data).hexdigest()


def put(db: Session, data: bytes) -> str:
    """Store the bytes (once, however many runs store them at the same time); their sha256."""
    key = digest(data)
    db.execute(
        insert_or_ignore(db, Blob, "sha256").values(
            sha256=key, size=len(data), data=data, created_at=utcnow()
        )
    )
    return key


def put_many(db: Session, files: list[bytes]) -> list[str]:
    """Store many files in one statement (a batch's Data Docs results); their sha256, in order."""
    keys = [digest(data) for data in files]
    if files:
        now = utcnow()
        rows = {
            k: {"sha256": k, "size": len(d), "data": d, "created_at": now}
            for k, d in zip(keys, files, strict=True)
        }
        db.execute(insert_or_ignore(db, Blob, "sha256"), list(rows.values()))
    return keys


def get(db: Session, sha256: str) -> bytes:
    """The stored bytes; KeyError when nothing is stored under that key."""
    data = db.scalar(select(Blob.data).where(Blob.sha256 == sha256))
    if data is None:
        raise KeyError(sha256)
    return bytes(data)


def get_many(db: Session, keys: set[str]) -> dict[str, bytes]:
    """The stored bytes of many keys in one query (a batch of submissions); missing keys absent."""
    rows = db.execute(select(Blob.sha256, Blob.data).where(Blob.sha256.in_(keys)))
    return {key: bytes(data) for key, data in rows}


def exists(db: Session, sha256: str) -> bool:
    """Whether the store holds that key."""
    return db.scalar(select(Blob.sha256).where(Blob.sha256 == sha256)) is not None


PUBLIC = 0o644
"""A published file: a web server running as another user serves it."""
PRIVATE = 0o600
"""Everything else (received files, drafts, requests): only the workspace's owner reads it."""


def local_copy(settings: Settings, data: bytes, *parts: str, public: bool = False) -> Path:
    """Write a copy for people under the workspace (``parts`` are Hitos-made names); its path.

    Written through a temporary name and renamed, so a reader never sees half a file; an
    existing copy with the same bytes is left alone (made readable by all once ``public``: a
    draft's files become public when the director publishes it).
    """
    path = settings.folder(*parts[:-1]) / parts[-1]
    mode = PUBLIC if public else PRIVATE
    if path.exists() and path.stat().st_size == len(data) and path.read_bytes() == data:
        if public:
            path.chmod(mode)
        return path
    # A name of its own per writer: two runs copying the same file at once must not rename
    # each other's partial copy away (seen with two open-cycles on one workspace).
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    with os.fdopen(handle, "wb") as partial:
        partial.write(data)
    os.chmod(name, mode)
    Path(name).replace(path)
    return path
