"""Where returned files come from: the local Maildir, an IMAP mailbox, or a drop folder.

Each source yields ``Received`` messages and is told, after their files are stored, that a
message is done; only then does it mark, move or delete anything.
"""

from __future__ import annotations

import hashlib
import imaplib
import mailbox
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from itertools import islice
from pathlib import Path
from typing import Any

from tasks.mail.parts import raw_bytes, read_parts
from tasks.settings import Settings, secret

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv")
IMAP_TIMEOUT = 60  # seconds a silent IMAP server may take before intake gives up on this run


@dataclass
class Attachment:
    filename: str
    data: bytes


@dataclass
class Received:
    """One incoming message (or dropped file): who sent it and the files it carried."""

    message_id: str
    channel: str
    sender: str
    subject: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    done: Callable[[], None] = lambda: None
    arrived: datetime | None = None  # when the mail server filed it (UTC); None: now
    message: Message | None = None  # the email itself, for tasks.intake.arrivals (None: drop, CLI)
    problem: str = ""  # why the message could not be taken apart (tasks.mail.parts); "" if it could
    raw: bytes = b""  # the whole message, kept when it is malformed


def received(message: Message, channel: str, raw: bytes = b"", **more: Any) -> Received:
    """A message's fields and files read defensively (``tasks.mail.parts``): never raises."""
    parts = read_parts(message, raw)
    return Received(
        message_id=parts.message_id,
        channel=channel,
        sender=parts.sender,
        subject=parts.subject,
        attachments=[Attachment(name, data) for name, data in parts.attachments],
        problem=parts.problem,
        raw=raw if parts.problem else b"",
        message=message,
        **more,
    )


def open_maildir(path: Path) -> mailbox.Maildir:
    """A Maildir, with its tmp/new/cur folders made even when the folder already existed."""
    for sub in ("tmp", "new", "cur"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return mailbox.Maildir(path, create=False)


def from_maildir(path: Path) -> Iterator[Received]:
    """Messages in a Maildir not yet marked seen; done marks them seen (flag S)."""
    box = open_maildir(path)
    seen = seen_keys(path, box.colon)
    for key in sorted(box.keys()):
        if key in seen:
            continue
        # The raw bytes are the file as it came (writing the parsed message out again, as
        # ``raw_message`` must for IMAP, cost more than parsing it).
        try:
            message = box[key]
            raw = box.get_bytes(key)
        except (KeyError, FileNotFoundError):  # another intake took it meanwhile
            continue

        def done(key: str = key, message: mailbox.MaildirMessage = message) -> None:
            mark_seen(path, key, message, box.colon)

        yield received(
            message,
            "mail",
            raw or raw_message(message),
            done=done,
            arrived=datetime.fromtimestamp(message.get_date(), UTC).replace(tzinfo=None),
        )


def raw_message(message: Message) -> bytes:
    """The message's bytes (what its digest and a malformed message's raw copy are made of)."""
    return raw_bytes(message)


def seen_keys(path: Path, colon: str) -> set[str]:
    """Keys of the messages flagged seen, read from their file names in ``cur/`` (Maildir's
    ``:2,FLAGS``): parsing every message already handled, to learn its flags, grew with the
    mailbox's whole history."""
    seen = set()
    for name in os.listdir(path / "cur"):
        key, _, info = name.partition(colon)
        if info.startswith("2,") and "S" in info[2:]:
            seen.add(key)
    return seen


def mark_seen(path: Path, key: str, message: mailbox.MaildirMessage, colon: str) -> None:
    """Move the message into ``cur/`` with flag S by renaming its file, as mail clients do.

    ``box[key] = message`` rewrote the whole message (attachments included) to change its
    name; a rename is atomic, keeps the file's delivery time, and costs nothing per byte.
    """
    info = message.get_info()
    current = path / message.get_subdir() / (f"{key}{colon}{info}" if info else key)
    flags = "".join(sorted(set(message.get_flags()) | {"S"}))
    with suppress(FileNotFoundError):  # another intake marked it first: done either way
        os.rename(current, path / "cur" / f"{key}{colon}2,{flags}")


def from_imap(settings: Settings, size: int) -> Iterator[list[Received]]:
    """Messages in the IMAP folder, ``size`` at a time; done moves one to the done folder.

    Nothing is marked or moved while reading (``mark_seen=False``): a message leaves the folder
    only when its ``done`` is called, after its files are stored. Call ``done`` before asking
    for the next batch: the connection closes when the iteration ends.
    """
    from imap_tools import MailBox, MailBoxUnencrypted

    box_class = MailBox if settings.imap_ssl else MailBoxUnencrypted
    password = secret("HITOS_IMAP_PASSWORD", settings.imap_password)
    with box_class(settings.imap_host, settings.imap_port, timeout=IMAP_TIMEOUT).login(
        settings.imap_user, password, initial_folder=settings.imap_folder
    ) as box:
        refresh_capabilities(box.client)
        if not box.folder.exists(settings.imap_done_folder):
            box.folder.create(settings.imap_done_folder)
        arrivals = filed_at(box.client)
        batch: list[Received] = []
        for msg in box.fetch(mark_seen=False, bulk=size):
            uid = msg.uid

            def done(uid: str | None = uid) -> None:
                if uid:
                    moved_elsewhere(box.move, uid, settings.imap_done_folder)

            batch.append(
                received(
                    msg.obj,
                    "imap",
                    raw_message(msg.obj),
                    done=done,
                    arrived=arrivals.get(uid) if uid else None,
                )
            )
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch


def moved_elsewhere(move: Callable[[str, str], Any], uid: str, folder: str) -> None:
    """Move a message, or find that another intake on the same mailbox (another worker, an
    operator's run during a scheduled one) already moved it: done either way. Dovecot answers
    ``NO [EXPUNGEISSUED]`` for a message another session expunged."""
    from imap_tools.errors import MailboxMoveError

    try:
        move(uid, folder)
    except MailboxMoveError as exc:
        if b"EXPUNGEISSUED" not in b" ".join(_bytes(d) for d in exc.command_result[1]):
            raise


def _bytes(value: object) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def filed_at(client: Any) -> dict[str, datetime]:
    """UID → when the server filed the message (its INTERNALDATE, in UTC), for the whole folder
    in one command. On time is judged by arrival, not by when intake happened to run; a message
    the server gives no date for is dated when it is stored."""
    found: dict[str, datetime] = {}
    try:
        status, lines = client.uid("FETCH", "1:*", "(INTERNALDATE)")
    except client.error:  # some servers answer BAD for 1:* in an empty folder
        return found
    if status != "OK":
        return found
    for line in lines:
        text = line[0] if isinstance(line, tuple) else line
        uid = re.search(rb"\bUID (\d+)", text or b"")
        filed = imaplib.Internaldate2tuple(text) if text else None
        if uid and filed:
            moment = datetime.fromtimestamp(time.mktime(filed), UTC)
            found[uid.group(1).decode()] = moment.replace(tzinfo=None)
    return found


def refresh_capabilities(client: Any) -> None:
    """Ask the server again what it supports, now that the client is logged in.

    imaplib keeps the capabilities of the greeting; Dovecot (like others) announces MOVE only
    after login. Without it imap-tools "moves" by COPY, flag \\Deleted and EXPUNGE of the whole
    folder: not atomic, and it expunges what other clients merely flagged.
    """
    status, data = client.capability()
    if status == "OK" and data and isinstance(data[-1], bytes):
        client.capabilities = tuple(data[-1].decode("ascii", "replace").upper().split())


DROP_SETTLE_SECONDS = 10
"""A dropped file changed more recently than this may still be being copied (a network share,
a slow disk): it is left for the next run rather than stored half-written."""
NOT_YET_A_FILE = ((".", "~$"), (".part", ".tmp", ".crdownload"))
"""Name prefixes and suffixes of what is not a finished file: hidden files, Office's lock files
(``~$avances.xlsx``) and partial copies or downloads."""


def settled(file: Path, now: float) -> bool:
    """A finished file, unchanged for ``DROP_SETTLE_SECONDS``."""
    prefixes, suffixes = NOT_YET_A_FILE
    if file.name.startswith(prefixes) or file.name.lower().endswith(suffixes):
        return False
    return now - file.stat().st_mtime >= DROP_SETTLE_SECONDS


def from_drop_folder(path: Path) -> Iterator[Received]:
    """Settled files left in the drop folder; done moves each into ``processed/``."""
    path.mkdir(parents=True, exist_ok=True)
    processed = path / "processed"
    now = time.time()
    for file in sorted(p for p in path.iterdir() if p.is_file() and settled(p, now)):
        data = file.read_bytes()

        def done(file: Path = file) -> None:
            processed.mkdir(exist_ok=True)
            shutil.move(str(file), processed / file.name)

        yield Received(
            message_id="drop:" + hashlib.sha256(data).hexdigest(),
            channel="drop",
            sender="",
            attachments=[Attachment(file.name, data)],
            done=done,
        )


def sources(settings: Settings, size: int) -> Iterator[list[Received]]:
    """All configured sources in batches of up to ``size`` messages: the drop folder first (a
    mail server that fails the run must not leave the folder unread), then the mailbox
    (Maildir or IMAP)."""
    yield from batches(from_drop_folder(settings.folder("drop")), size)
    if settings.inbox == "imap":
        yield from from_imap(settings, size)
    else:
        yield from batches(from_maildir(settings.folder("mail", "inbox")), size)


def batches(messages: Iterator[Received], size: int) -> Iterator[list[Received]]:
    """Up to ``size`` messages at a time (for sources whose ``done`` needs no open connection)."""
    while batch := list(islice(messages, size)):
        yield batch
