"""A real Dovecot IMAP server on loopback for the tests: own config, users and Maildir per test.

Debian's ``dovecot-imapd`` (installed by ``.ci/run`` in CI) starts in a few hundredths of a
second with this config, so every test gets a fresh server on a free port and an empty mailbox.
The config is the one in ``shared/recipes/dovecot.conf`` (kept here so the repository carries
it), without an auto-created done folder: intake must create that folder itself.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session
from pydantic import SecretStr

from tasks.settings import Settings
from tests.network import free_port

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
mail_uid = nobody
mail_gid = nogroup
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/users
}}
userdb {{
  driver = static
  args = home={base}/mail/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""
USER = "gobiernoabierto@gae.example"
PASSWORD = "intake-test-password"
STARTUP_LIMIT = 20.0


def binary() -> str | None:
    """The dovecot executable (``/usr/sbin`` is not on every user's PATH)."""
    return shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")


def unavailable() -> str | None:
    """Why a Dovecot server cannot be started here, or None when it can."""
    if binary() is None:
        return "dovecot is not installed (apt-get install -y dovecot-imapd)"
    if os.geteuid() != 0:
        return "dovecot serves mail as nobody:nogroup, which needs root"
    return None


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@dataclass
class Dovecot:
    """A running server: where it listens, its one account, and how to reach it as a client."""

    base: Path
    port: int
    user: str = USER
    password: str = PASSWORD
    host: str = "127.0.0.1"

    def settings(self, settings: Settings, **changes: object) -> Settings:
        """The same workspace settings, reading mail from this server's INBOX over plain IMAP.

        ``model_copy`` does not validate, so values go in with their final types.
        """
        return settings.model_copy(
            update={
                "inbox": "imap",
                "imap_host": self.host,
                "imap_port": self.port,
                "imap_ssl": False,
                "imap_user": self.user,
                "imap_password": SecretStr(self.password),
                **changes,
            }
        )

    def client(self, folder: str | None = "INBOX"):  # type: ignore[no-untyped-def]
        """An imap-tools client logged in to the account (a separate connection from intake's)."""
        from imap_tools import MailBoxUnencrypted

        return MailBoxUnencrypted(self.host, self.port, timeout=30).login(
            self.user, self.password, initial_folder=folder
        )

    def deliver(self, raw: bytes, folder: str = "INBOX", filed: datetime | None = None) -> None:
        """Put a message in a folder the way a delivery agent does (IMAP APPEND), filed at
        ``filed`` (its INTERNALDATE; now when None)."""
        with self.client() as box:
            box.append(raw, folder, dt=filed)

    def message_ids(self, folder: str) -> list[str]:
        """Message-IDs of the messages in a folder (empty if the folder does not exist)."""
        with self.client(folder=None) as box:
            if not box.folder.exists(folder):
                return []
            box.folder.set(folder)
            return [str(m.obj.get("Message-ID", "")) for m in box.fetch(mark_seen=False)]


@contextmanager
def running_dovecot() -> Iterator[Dovecot]:
    """Start Dovecot in a private temporary folder on a free port; stop it and clean up after."""
    executable = binary()
    assert executable is not None, unavailable()
    base = Path(tempfile.mkdtemp(prefix="hitos-dovecot-"))
    base.chmod(0o755)  # dovecot's mail processes run as nobody and must reach the Maildir
    server = Dovecot(base=base, port=free_port())
    config = base / "dovecot.conf"
    config.write_text(CONFIG.format(base=base, port=server.port), encoding="utf-8")
    (base / "users").write_text(f"{server.user}:{{PLAIN}}{server.password}\n", encoding="utf-8")
    mail = base / "mail"
    mail.mkdir()
    shutil.chown(mail, "nobody", "nogroup")
    output = base / "start.log"
    with output.open("wb") as log:
        # dovecot daemonizes; its child would hold a pipe open, so its output goes to a file
        started = subprocess.run(
            [executable, "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=STARTUP_LIMIT,
        )
    try:
        if started.returncode != 0:
            raise RuntimeError(f"dovecot did not start: {output.read_text(errors='replace')}")
        _wait_for_port(server)
        yield server
    finally:
        _stop(base)
        shutil.rmtree(base, ignore_errors=True)


def _wait_for_port(server: Dovecot) -> None:
    """Block until the IMAP listener accepts connections and the master wrote its pid file.

    dovecot forks before it listens; the pid file is how the fixture stops it afterwards.
    """
    deadline = time.monotonic() + STARTUP_LIMIT
    while True:
        try:
            with socket.create_connection((server.host, server.port), timeout=1):
                if (server.base / "run" / "master.pid").exists():
                    return
                raise OSError("no pid file yet")
        except OSError:
            if time.monotonic() > deadline:
                log = server.base / "dovecot.log"
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise RuntimeError(f"dovecot is not listening on {server.port}:\n{tail}") from None
            time.sleep(0.05)


def _stop(base: Path) -> None:
    """Stop the master process this helper started (by its pid file) and wait for it to go."""
    pid_file = base / "run" / "master.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text().strip())
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STARTUP_LIMIT
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


class ImapDelivery:
    """aiosmtpd handler that files every accepted email in the Dovecot INBOX: SMTP → IMAP."""

    def __init__(self, server: Dovecot) -> None:
        self.server = server
        self.delivered: list[str] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        self.server.deliver(raw)
        self.delivered.append(str(message_from_bytes(raw).get("Message-ID", "")))
        return "250 Message accepted for delivery"
