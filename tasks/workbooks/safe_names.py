"""Names Hitos gives files and header text it keeps: made here, never taken as a sender wrote them.

A sender controls an attachment's name and every header of a message. Those go into the ledger,
into file names of copies for people, into emails and logs. NUL or control characters, path
separators, or a thousand bytes of name broke intake for the whole batch (``embedded null
byte``, ``File name too long``); here they become a short, printable name with its extension.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath, PureWindowsPath

NAME_BYTES = 150
"""Longest name Hitos keeps, in UTF-8 bytes: file systems allow 255 per component, and a
stored copy adds a prefix (``corregir-123-``) and another extension."""
TEXT_CHARS = 250
"""Longest header text (sender, subject) kept in the ledger's columns."""
EXTENSION_CHARS = 10
_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f<>:"/\\|?*]')
_SPACES = re.compile(r"\s+")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def printable(text: object, limit: int = TEXT_CHARS) -> str:
    """Header text with control characters (NUL, CR, LF, escapes) and undecodable bytes turned
    into spaces or ``?``, collapsed and cut to ``limit`` characters."""
    value = str(text or "")
    value = value.encode("utf-8", "replace").decode("utf-8", "replace")
    value = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in value)
    return _SPACES.sub(" ", value).strip()[:limit]


def _fit(text: str, budget: int) -> str:
    """``text`` cut to at most ``budget`` UTF-8 bytes, never inside a character."""
    return text.encode("utf-8")[:budget].decode("utf-8", "ignore")


def safe_filename(name: object, fallback: str = "archivo", limit: int = NAME_BYTES) -> str:
    """A name safe on any file system: the last path component, printable, no reserved
    characters, at most ``limit`` UTF-8 bytes, its extension kept.

    ``../../x.xlsx`` → ``x.xlsx``; ``avances\\x00x.xlsx`` → ``avances_x.xlsx``; 300 ``ñ`` plus
    ``.xlsx`` → about 70 ``ñ`` plus ``.xlsx``. An empty result becomes ``fallback``.
    """
    text = printable(_CONTROLS.sub("_", str(name or "")), limit=10_000)
    text = PureWindowsPath(PurePosixPath(text).name).name
    text = unicodedata.normalize("NFC", _UNSAFE.sub("_", text)).strip(" .")
    stem, dot, extension = text.rpartition(".")
    if not dot or not stem or len(extension) > EXTENSION_CHARS or " " in extension:
        stem, extension = text, ""
    extension = f".{extension}" if extension else ""
    stem = _fit(stem, limit - len(extension.encode("utf-8"))).strip(" .") or fallback
    return stem + extension


def safe_stem(name: object, limit: int = 60) -> str:
    """A short stem for a generated file's name (``corregir-12-<stem>.xlsx``)."""
    stem = safe_filename(name, limit=limit + EXTENSION_CHARS + 1)
    return _fit(stem.rsplit(".", 1)[0] if "." in stem else stem, limit) or "archivo"
