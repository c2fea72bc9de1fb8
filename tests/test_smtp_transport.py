"""Sending through real SMTP servers on loopback: STARTTLS, SSL, login, rate limit, outages.

The servers are aiosmtpd with a certificate made here for 127.0.0.1; Hitos trusts it only
through the ``smtp_ca_file`` setting, as it would trust a directorate's internal CA.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from tasks.mail.outgoing import Outgoing, send_all
from tasks.settings import Settings
from tasks.storage.ledger import Email, session
from tests.conftest import RecordingHandler, free_port

PASSWORD = "s3creto-de-prueba"


def certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smtp.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp.pem", folder / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class Logins:
    """aiosmtpd authenticator that accepts one user and remembers every attempt."""

    def __init__(self, user: str) -> None:
        self.user = user
        self.attempts: list[tuple[str, bool]] = []

    def __call__(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        ok = login == self.user and password == PASSWORD
        self.attempts.append((login, ok))
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    return certificate(tmp_path)


def server_context(tls_files: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*tls_files)
    return context


@contextmanager
def login_server(settings, **tls: Any) -> Iterator[tuple[RecordingHandler, Logins]]:
    """A real SMTP server on the test's port that requires login, with the given TLS options."""
    handler, logins = RecordingHandler(), Logins("hitos@gae.example")
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=settings.smtp_port,
        auth_required=True,
        authenticator=logins,
        **tls,
    )
    controller.start()
    try:
        yield handler, logins
    finally:
        controller.stop()


@pytest.fixture
def starttls_server(settings, tls_files) -> Iterator[tuple[RecordingHandler, Logins]]:
    """Port 587 style: plain connection, STARTTLS required before login and mail."""
    with login_server(
        settings, tls_context=server_context(tls_files), require_starttls=True
    ) as server:
        yield server


@pytest.fixture
def ssl_server(settings, tls_files) -> Iterator[tuple[RecordingHandler, Logins]]:
    """Port 465 style: TLS from the first byte."""
    with login_server(
        settings, ssl_context=server_context(tls_files), auth_require_tls=False
    ) as server:
        yield server


def notices(count: int) -> list[Outgoing]:
    return [
        Outgoing(
            key=f"2023-03/-/prueba/{n}",
            kind="notice",
            to=[f"persona{n}@inst.example"],
            subject=f"Aviso {n}",
            html=f"<p>Aviso {n}</p>",
            text=f"Aviso {n}",
        )
        for n in range(count)
    ]


def error_of(settings: Settings, key: str) -> str:
    """What the mail ledger recorded against an email."""
    with session(settings.database) as db:
        email = db.get(Email, key)
    assert email is not None
    return email.error or ""


def secured(settings: Settings, security: str, ca_file: Path | None) -> Settings:
    """The test's workspace with a secured transport; the password comes from the environment."""
    return Settings(
        home=settings.home,
        plan=settings.plan,
        smtp_port=settings.smtp_port,
        smtp_security=security,
        smtp_user="hitos@gae.example",
        smtp_ca_file=ca_file,
    )


def test_starttls_logs_in_with_the_password_from_the_environment(
    settings, starttls_server, tls_files, monkeypatch, caplog
):
    handler, logins = starttls_server
    monkeypatch.setenv("HITOS_SMTP_PASSWORD", PASSWORD)
    caplog.set_level(logging.DEBUG)

    statuses = send_all(secured(settings, "starttls", tls_files[0]), notices(2))

    assert set(statuses.values()) == {"sent"}
    assert len(handler.messages) == 2
    assert logins.attempts == [("hitos@gae.example", True)]
    assert PASSWORD not in caplog.text


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_ssl_on_connect_delivers_with_the_password_from_settings(settings, ssl_server, tls_files):
    handler, logins = ssl_server
    configured = secured(settings, "ssl", tls_files[0])
    configured.smtp_password = SecretStr(PASSWORD)

    statuses = send_all(configured, notices(1))

    assert statuses == {"2023-03/-/prueba/0": "sent"}
    assert [rcpts for rcpts, _ in handler.messages] == [["persona0@inst.example"]]
    assert logins.attempts == [("hitos@gae.example", True)]


def test_untrusted_certificate_is_not_accepted_and_nothing_is_sent(
    settings, starttls_server, monkeypatch
):
    handler, logins = starttls_server
    monkeypatch.setenv("HITOS_SMTP_PASSWORD", PASSWORD)

    statuses = send_all(secured(settings, "starttls", None), notices(1))

    assert statuses == {"2023-03/-/prueba/0": "failed"}
    assert handler.messages == [] and logins.attempts == []
    assert "CERTIFICATE_VERIFY_FAILED" in error_of(settings, "2023-03/-/prueba/0")


def test_missing_password_stops_before_anything_is_claimed(settings, starttls_server, tls_files):
    handler, _ = starttls_server

    with pytest.raises(RuntimeError, match="HITOS_SMTP_PASSWORD"):
        send_all(secured(settings, "starttls", tls_files[0]), notices(1))

    assert handler.messages == []
    with session(settings.database) as db:
        assert db.get(Email, "2023-03/-/prueba/0") is None


def test_rate_limit_spaces_emails_on_one_reused_connection(settings, smtp):
    limited = settings.model_copy(update={"smtp_per_minute": 240})

    started = time.monotonic()
    statuses = send_all(limited, notices(4))
    elapsed = time.monotonic() - started

    assert set(statuses.values()) == {"sent"}
    assert len(smtp.messages) == 4
    assert len(smtp.peers) == 1
    assert elapsed >= 3 * 60 / 240


def test_unreachable_server_fails_the_batch_once_and_the_next_run_sends_it(settings, smtp):
    offline = settings.model_copy(update={"smtp_port": free_port(), "smtp_retries": 2})

    statuses = send_all(offline, notices(3))

    assert set(statuses.values()) == {"failed"}
    errors = [error_of(settings, f"2023-03/-/prueba/{n}") for n in range(3)]
    assert "Connection refused" in errors[0]
    assert errors[1:] == ["not attempted: SMTP server unreachable"] * 2

    assert set(send_all(settings, notices(3)).values()) == {"sent"}
    assert set(send_all(settings, notices(3)).values()) == {"skipped"}
    assert len(smtp.messages) == 3
