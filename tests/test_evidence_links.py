"""Evidence links: fetched within bounds, never inside the directorate's network, recorded with
an archived copy; an unreachable link a warning on the file; checked again before publishing.

Real HTTP servers on loopback (``http.server`` in a thread), allowed through
``HITOS_EVIDENCE_ALLOW_HOSTS`` where a test needs them reached. Public names cannot be resolved
here (no network): the address rules are tested on literal addresses, on ``localhost`` through
the system's resolver, and on names given by a resolver that answers loopback addresses.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from typer.testing import CliRunner

from hitos_cli import app
from tasks.cycle.intake import process, store_all
from tasks.cycle.requests import build_request, open_cycle_record
from tasks.evidence.addresses import AllowList, public
from tasks.evidence.checking import check_new_links, recheck_links
from tasks.evidence.fetching import Bounds, fetch, fetch_all
from tasks.mail.outgoing import send_all
from tasks.mail.replies import unanswered
from tasks.settings import Settings
from tasks.storage import filestore, queries
from tasks.storage.ledger import Blob, FindingRow, LinkCheck, Submission, session
from tests import mail_samples as samples
from tests.test_automatic_mail import deliver
from tests.test_intake_corpus import Context, filled
from tests.test_ledger_backends import postgres_url  # noqa: F401 (a fixture)

LIAISON = "enlace@mingob.example"
PAGE = "<html><body><h1>Acta de la mesa técnica</h1></body></html>".encode()
BOUNDS = Bounds(seconds=2, max_bytes=100_000)


@dataclass
class Site:
    """A real HTTP server on 127.0.0.1 with the pages evidence links meet, and what it was
    asked (path and Host header of every request)."""

    server: ThreadingHTTPServer
    requests: list[tuple[str, str]] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)
    """Paths that answer 404 from now on (a page removed after a change of government)."""
    release: threading.Event = field(default_factory=threading.Event)
    together: threading.Barrier = field(default_factory=lambda: threading.Barrier(2, timeout=30))
    """``/together`` answers (404) only once two requests for it have come."""

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"http://{self.host}{path}"


def serve(tls: ssl.SSLContext | None = None) -> Iterator[Site]:
    """Run a ``Site`` (over https with ``tls``) until the test ends; slow pages are released
    then."""
    site: Site

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            site.requests.append((self.path, self.headers.get("Host", "")))
            path = self.path
            if path == "/together":
                site.together.wait()
            if path in site.gone or path in ("/missing", "/together"):
                return self.answer(404, b"no existe")
            if path in ("/ok", "/otra"):
                return self.answer(200, PAGE, "text/html; charset=utf-8")
            if path == "/report.pdf":
                return self.answer(200, b"%PDF-1.4 acta", "application/pdf")
            if path == "/slow":  # headers never come
                site.release.wait(60)
                return None
            if path == "/trickle":  # a byte at a time, never long enough for a read timeout
                self.send_response(200)
                self.end_headers()
                while not site.release.wait(0.1):
                    self.wfile.write(b".")
                    self.wfile.flush()
                return None
            if path == "/huge":  # says how big it is
                self.send_response(200)
                self.send_header("Content-Length", str(BOUNDS.max_bytes + 1))
                self.end_headers()
                self.wfile.write(b"x" * (BOUNDS.max_bytes + 1))
                return None
            if path == "/huge-unsaid":  # does not say: the bound is counted while reading
                self.send_response(200)
                self.end_headers()
                for _ in range(50):
                    self.wfile.write(b"x" * 10_000)
                return None
            if path.startswith("/redirect?to="):
                return self.redirect(path.removeprefix("/redirect?to="))
            if path == "/moved":
                return self.redirect("/ok")
            if path == "/loop-a":
                return self.redirect("/loop-b")
            if path == "/loop-b":
                return self.redirect("/loop-a")
            if path.startswith("/chain/"):
                return self.redirect(f"/chain/{int(path.removeprefix('/chain/')) + 1}")
            return self.answer(500, b"?")

        def answer(self, status: int, body: bytes, media_type: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def redirect(self, location: str) -> None:
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    site = Site(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        site.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def site() -> Iterator[Site]:
    yield from serve()


@pytest.fixture
def inside() -> Iterator[Site]:
    """Another server on loopback, standing for one inside the directorate's network."""
    yield from serve()


def allowing(*sites: Site) -> AllowList:
    return AllowList.parse(",".join(s.host for s in sites))


def names(table: dict[str, list[str]]):
    """A resolver that answers from ``table`` (and counts how often it was asked)."""
    asked: list[str] = []

    def resolve(host: str, port: int) -> list:
        asked.append(host)
        if host not in table:
            raise OSError(f"{host}: no such name")
        return [ip_address(a) for a in table[host]]

    resolve.asked = asked  # type: ignore[attr-defined]
    return resolve


# One link, fetched.


def test_a_page_that_answers_is_reachable_and_kept_as_fetched(site):
    fetched = fetch(site.url("/ok"), BOUNDS, allowing(site))

    assert (fetched.reachable, fetched.status, fetched.problem) == (True, 200, None)
    assert fetched.content == PAGE and fetched.media_type == "text/html"


def test_a_missing_page_is_unreachable_with_its_status(site):
    fetched = fetch(site.url("/missing"), BOUNDS, allowing(site))

    assert (fetched.reachable, fetched.status, fetched.problem) == (False, 404, "http-status")
    assert fetched.content is None


def test_a_server_that_never_answers_times_out(site):
    fetched = fetch(site.url("/slow"), BOUNDS, allowing(site))

    assert (fetched.reachable, fetched.problem) == (False, "timeout")


def test_a_server_that_trickles_bytes_times_out_on_the_whole_check(site):
    """Each byte comes well within a read timeout; the check's own deadline stops it."""
    fetched = fetch(site.url("/trickle"), BOUNDS, allowing(site))

    assert (fetched.reachable, fetched.status, fetched.problem) == (False, 200, "timeout")


@pytest.mark.parametrize("path", ["/huge", "/huge-unsaid"])
def test_a_page_over_the_size_bound_is_reachable_but_not_kept(site, path):
    fetched = fetch(site.url(path), BOUNDS, allowing(site))

    assert (fetched.reachable, fetched.status, fetched.problem) == (True, 200, "too-large")
    assert fetched.content is None


def test_a_redirect_is_followed_to_the_page(site):
    fetched = fetch(site.url("/moved"), BOUNDS, allowing(site))

    assert fetched.reachable and fetched.content == PAGE
    assert [path for path, _ in site.requests] == ["/moved", "/ok"]


def test_a_redirect_to_a_private_address_is_refused_before_connecting(site, inside):
    fetched = fetch(site.url(f"/redirect?to={inside.url('/ok')}"), BOUNDS, allowing(site))

    assert (fetched.reachable, fetched.status, fetched.problem) == (False, 302, "private-address")
    assert inside.requests == []


def test_a_private_address_is_refused_unless_its_host_is_allowed(site):
    refused = fetch(site.url("/ok"), BOUNDS, AllowList())
    other_port = fetch(site.url("/ok"), BOUNDS, AllowList.parse("127.0.0.1:1"))

    assert (refused.reachable, refused.status, refused.problem) == (False, None, "private-address")
    assert other_port.problem == "private-address"
    assert site.requests == [], "nothing was sent to it"
    assert fetch(site.url("/ok"), BOUNDS, allowing(site)).reachable


def test_localhost_through_the_systems_resolver_is_refused(site):
    fetched = fetch(f"http://localhost:{site.port}/ok", BOUNDS, AllowList())

    assert fetched.problem == "private-address" and site.requests == []


def test_a_redirect_loop_is_refused(site):
    fetched = fetch(site.url("/loop-a"), BOUNDS, allowing(site))

    assert (fetched.reachable, fetched.status, fetched.problem) == (False, 302, "redirect-loop")
    assert [path for path, _ in site.requests] == ["/loop-a", "/loop-b"]


def test_a_chain_of_redirects_stops_at_the_bound(site):
    fetched = fetch(site.url("/chain/0"), BOUNDS, allowing(site))

    assert (fetched.reachable, fetched.problem) == (False, "too-many-redirects")
    assert len(site.requests) == BOUNDS.redirects + 1


@pytest.mark.parametrize(
    "url",
    ["ftp://127.0.0.1/acta.pdf", "file:///etc/passwd", "javascript:alert(1)", "mingob.gob.gt/ga"],
)
def test_a_link_that_is_not_http_is_refused(url):
    fetched = fetch(url, BOUNDS, AllowList())

    assert (fetched.reachable, fetched.problem) == (False, "not-http")


def test_a_redirect_to_another_scheme_is_refused(site):
    fetched = fetch(site.url("/redirect?to=file:///etc/passwd"), BOUNDS, allowing(site))

    assert (fetched.reachable, fetched.status, fetched.problem) == (False, 302, "not-http")


# Addresses and names.


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # the cloud's metadata service
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    ],
)
def test_private_loopback_and_link_local_addresses_are_not_public(address):
    assert not public(ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "2001:4860:4860::8888", "::ffff:8.8.8.8"])
def test_internet_addresses_are_public(address):
    assert public(ip_address(address))


def test_a_name_is_fetched_at_the_address_checked_with_its_own_host_header(site):
    resolver = names({"evidencia.gob.test": ["127.0.0.1"]})
    allowed = AllowList.parse(f"evidencia.gob.test:{site.port}")

    fetched = fetch(f"http://evidencia.gob.test:{site.port}/ok", BOUNDS, allowed, resolver)

    assert fetched.reachable
    assert site.requests == [("/ok", f"evidencia.gob.test:{site.port}")]


def test_a_name_that_resolves_to_a_private_address_is_refused(site):
    resolver = names({"evidencia.gob.test": ["127.0.0.1"]})

    fetched = fetch(f"http://evidencia.gob.test:{site.port}/ok", BOUNDS, AllowList(), resolver)

    assert fetched.problem == "private-address" and site.requests == []


def test_one_private_answer_among_public_ones_refuses_the_name(site):
    resolver = names({"mixto.gob.test": ["8.8.8.8", "127.0.0.1"]})

    fetched = fetch(f"http://mixto.gob.test:{site.port}/ok", BOUNDS, AllowList(), resolver)

    assert fetched.problem == "private-address" and site.requests == []


def test_a_name_is_resolved_once_so_a_second_answer_cannot_redirect_the_connection(site):
    """DNS rebinding: were the name resolved again to connect, it would go to 127.0.0.2, where
    nothing listens."""
    answers = iter([["127.0.0.1"]] + [["127.0.0.2"]] * 5)
    asked: list[str] = []

    def rebinding(host: str, port: int) -> list:
        asked.append(host)
        return [ip_address(a) for a in next(answers)]

    allowed = AllowList.parse(f"rebind.gob.test:{site.port}")
    fetched = fetch(f"http://rebind.gob.test:{site.port}/ok", BOUNDS, allowed, rebinding)

    assert fetched.reachable and asked == ["rebind.gob.test"]


def test_a_name_whose_lookup_never_ends_times_out():
    released = threading.Event()

    def silent(host: str, port: int) -> list:
        released.wait(30)
        raise OSError("no answer")

    try:
        fetched = fetch("https://lento.gob.test/acta", BOUNDS, AllowList(), silent)
    finally:
        released.set()

    assert (fetched.reachable, fetched.problem) == (False, "timeout")


def test_a_batch_looks_each_name_up_once_and_takes_the_sites_in_turn(site):
    resolver = names({"evidencia.gob.test": ["127.0.0.1"], "otro.gob.test": ["127.0.0.1"]})
    allowed = AllowList.parse(f"evidencia.gob.test:{site.port},otro.gob.test:{site.port}")
    first = [f"http://evidencia.gob.test:{site.port}/{p}" for p in ("ok", "otra", "missing")]
    second = [f"http://otro.gob.test:{site.port}/{p}" for p in ("ok", "otra")]

    checked = list(fetch_all(first + second, BOUNDS, allowed, 1, resolver))

    assert [f.url for f in checked] == [first[0], second[0], first[1], second[1], first[2]]
    assert [f.reachable for f in checked] == [True, True, True, True, False]
    assert sorted(resolver.asked) == ["evidencia.gob.test", "otro.gob.test"]


def test_a_name_that_does_not_resolve_is_unreachable():
    fetched = fetch("https://no-existe.gob.test/acta", BOUNDS, AllowList(), names({}))

    assert (fetched.reachable, fetched.problem) == (False, "no-such-host")


@dataclass
class Certificates:
    """A certificate authority of the test's own, and a server certificate it signed for one
    name: https with the name checked, on loopback."""

    server: ssl.SSLContext
    client: ssl.SSLContext
    names_sent: list[str]
    """The server names (SNI) clients asked for."""


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> Certificates:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = tmp_path_factory.mktemp("tls")
    now = datetime.now(UTC)

    def certificate(subject: str, key, issuer: str, signer, authority: bool, name: str = ""):
        built = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=authority, path_length=None), critical=True)
        )
        if name:
            built = built.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False
            )
        return built.sign(signer, hashes.SHA256())

    authority_key = ec.generate_private_key(ec.SECP256R1())
    server_key = ec.generate_private_key(ec.SECP256R1())
    authority = certificate("Hitos test CA", authority_key, "Hitos test CA", authority_key, True)
    leaf = certificate(
        "evidencia.gob.test",
        server_key,
        "Hitos test CA",
        authority_key,
        False,
        "evidencia.gob.test",
    )
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(authority.public_bytes(pem))
    (folder / "server.pem").write_bytes(
        leaf.public_bytes(pem)
        + server_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    names_sent: list[str] = []
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(folder / "server.pem")
    server.sni_callback = lambda connection, name, context: names_sent.append(name)
    client = ssl.create_default_context(cafile=folder / "ca.pem")
    return Certificates(server, client, names_sent)


@pytest.fixture
def secure_site(certificates) -> Iterator[Site]:
    certificates.names_sent.clear()
    yield from serve(certificates.server)


def test_https_is_verified_for_the_name_while_connecting_to_the_address_checked(
    secure_site, certificates
):
    resolver = names({"evidencia.gob.test": ["127.0.0.1"]})
    allowed = AllowList.parse(f"evidencia.gob.test:{secure_site.port}")
    url = f"https://evidencia.gob.test:{secure_site.port}/ok"

    fetched = fetch(url, BOUNDS, allowed, resolver, verify=certificates.client)

    assert fetched.reachable and fetched.content == PAGE
    assert certificates.names_sent == ["evidencia.gob.test"]
    assert secure_site.requests == [("/ok", f"evidencia.gob.test:{secure_site.port}")]


def test_https_to_a_name_the_certificate_does_not_carry_fails(secure_site, certificates):
    resolver = names({"otro.gob.test": ["127.0.0.1"]})
    allowed = AllowList.parse(f"otro.gob.test:{secure_site.port}")
    url = f"https://otro.gob.test:{secure_site.port}/ok"

    fetched = fetch(url, BOUNDS, allowed, resolver, verify=certificates.client)

    assert (fetched.reachable, fetched.problem) == (False, "connection-failed")
    assert secure_site.requests == []


def test_the_allow_list_is_host_and_port_and_a_mistake_is_named():
    allowed = AllowList.parse(" intranet.gob.gt:443 , [::1]:8080 ")

    assert allowed.allows("INTRANET.gob.gt", 443) and allowed.allows("::1", 8080)
    assert not allowed.allows("intranet.gob.gt", 80)
    with pytest.raises(ValidationError, match=r"'intranet\.gob\.gt' is not host:port"):
        Settings(evidence_allow_hosts="intranet.gob.gt")


# In the ledger: after intake, and before a publication.


@pytest.fixture
def backend(request, settings: Settings) -> Settings:
    """The test's settings on SQLite, or on PostgreSQL where a test asks for both."""
    if getattr(request, "param", "sqlite") == "sqlite":
        return settings
    return settings.model_copy(update={"database_url": request.getfixturevalue("postgres_url")})


@pytest.fixture
def checked_settings(backend: Settings, site: Site) -> Settings:
    """Links to the test's site allowed, and checks given time a loaded machine may need."""
    return backend.model_copy(
        update={"evidence_allow_hosts": site.host, "evidence_timeout_seconds": 5}
    )


@pytest.fixture
def cycle(checked_settings: Settings, plan) -> None:
    """2023-03 open."""
    open_cycle_record(checked_settings, plan, "2023-03", date(2023, 3, 1))


def workbook(settings: Settings, plan, site: Site, links: dict[str, str]) -> bytes:
    """MINGOB's workbook filled in correctly with these evidence links (the others: the site's
    ``/ok``)."""
    with session(settings.database) as db:
        cycle = queries.require_cycle(db, plan.id, "2023-03")
    template = build_request(settings, plan, cycle, plan.institution("MINGOB")).read_bytes()
    changes = {
        m.code.replace(".", "_"): {"evidencia_url": links.get(m.code, site.url("/ok"))}
        for m in plan.milestones_of("MINGOB")
    }
    return filled(Context(plan, template), **changes)


def send(settings: Settings, plan, site: Site, links: dict[str, str], message_id: str):
    """That workbook mailed, stored and validated; its outcome."""
    attached = [("avances.xlsx", workbook(settings, plan, site, links))]
    deliver(settings, samples.liaison_mail(LIAISON, "Avances", attached, message_id))
    store_all(settings)
    [outcome] = process(settings, plan)
    return outcome


def findings_of(settings: Settings, submission_id: int) -> list[tuple[str, str, str, str]]:
    with session(settings.database) as db:
        rows = db.scalars(select(FindingRow).where(FindingRow.submission_id == submission_id))
        return [(f.milestone, f.column, f.rule, f.severity) for f in rows]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_after_intake_an_unreachable_link_is_a_warning_in_the_reply(
    checked_settings, plan, cycle, site, smtp
):
    settings = checked_settings
    links = {
        "1.1": site.url("/ok"),
        "1.2": site.url("/ok"),
        "1.3": site.url("/report.pdf"),
        "1.4": site.url("/missing"),
        "1.5": site.url("/moved"),
    }
    outcome = send(settings, plan, site, links, "<w1@mingob.example>")
    assert outcome.outcome == "accepted"

    checks = check_new_links(settings, plan)

    assert sorted((c.url, c.reachable, c.status) for c in checks) == sorted(
        [
            (site.url("/ok"), True, 200),
            (site.url("/report.pdf"), True, 200),
            (site.url("/missing"), False, 404),
            (site.url("/moved"), True, 200),
        ]
    ), "a link two milestones share is fetched once"
    assert findings_of(settings, outcome.submission_id) == [
        ("1.4", "evidencia_url", "evidence-unreachable", "warning")
    ]
    send_all(settings, unanswered(settings, plan))
    [reply] = smtp.to(LIAISON)
    text = reply.get_body(("plain",)).get_content()
    assert "ACEPTAMOS" in text
    assert f"El enlace de evidencia del hito 1.4 («{site.url('/missing')}»)" in " ".join(
        text.split()
    )
    assert "código 404" in text
    with session(settings.database) as db:
        file = db.get(Submission, outcome.submission_id)
    assert file is not None and file.outcome == "accepted_with_warnings"

    again = check_new_links(settings, plan)
    assert again == [] and len(findings_of(settings, outcome.submission_id)) == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_two_checks_at_once_warn_of_a_link_once(checked_settings, plan, cycle, site):
    """Both runs take the file as unchecked: the site answers neither until both have asked."""
    settings = checked_settings
    outcome = send(settings, plan, site, {"1.3": site.url("/together")}, "<r1@m>")
    runs = [threading.Thread(target=check_new_links, args=(settings, plan)) for _ in range(2)]

    for run in runs:
        run.start()
    for run in runs:
        run.join()

    assert [path for path, _ in site.requests].count("/together") == 2
    assert findings_of(settings, outcome.submission_id) == [
        ("1.3", "evidencia_url", "evidence-unreachable", "warning")
    ]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_each_archived_page_is_stored_once_by_its_sha256(checked_settings, plan, cycle, site):
    settings = checked_settings
    send(settings, plan, site, {"1.1": site.url("/ok"), "1.2": site.url("/otra")}, "<a1@m>")
    check_new_links(settings, plan)
    # A second file: its links are checked again, and the same page is not stored again.
    send(settings, plan, site, {"1.1": site.url("/ok"), "1.2": site.url("/moved")}, "<a2@m>")
    check_new_links(settings, plan)

    digest = filestore.digest(PAGE)
    with session(settings.database) as db:
        pages = db.scalars(select(LinkCheck.sha256).where(LinkCheck.media_type == "text/html"))
        assert set(pages) == {digest}
        assert db.scalar(select(func.count()).select_from(Blob).where(Blob.sha256 == digest)) == 1
        assert filestore.get(db, digest) == PAGE


def test_before_a_publication_links_are_checked_again(checked_settings, plan, cycle, site):
    settings = checked_settings
    links = {"1.1": site.url("/ok"), "1.2": site.url("/otra")}
    outcome = send(settings, plan, site, links, "<p1@m>")
    check_new_links(settings, plan)
    site.gone.add("/otra")  # the ministry's site was redesigned

    unreachable = recheck_links(settings, [outcome.submission_id])

    assert [(link.milestone, link.url) for link in unreachable] == [("1.2", site.url("/otra"))]
    [state] = [link.state for link in unreachable]
    assert state is not None and (state.reachable, state.status) == (False, 404)
    assert state.sha256 == filestore.digest(PAGE), "the copy archived while it answered stays"
    assert state.archived_at is not None and state.archived_at <= state.checked_at
    assert findings_of(settings, outcome.submission_id) == [], "warnings describe the file"
    assert [path for path, _ in site.requests].count("/otra") == 2


def test_hitos_evidence_lists_each_link_with_its_check_and_local_copy(
    checked_settings, plan, cycle, site, monkeypatch
):
    settings = checked_settings
    links = {"1.1": site.url("/report.pdf"), "1.4": site.url("/missing")}
    send(settings, plan, site, links, "<c1@m>")
    check_new_links(settings, plan)
    monkeypatch.setenv("HITOS_HOME", str(settings.home))

    result = CliRunner().invoke(app, ["evidence", "2023-03", "--institution", "MINGOB", "--json"])

    assert result.exit_code == 0, result.output
    listed = {row["milestone"]: row for row in json.loads(result.stdout)}
    pdf, missing = listed["1.1"], listed["1.4"]
    assert (pdf["url"], pdf["reachable"], pdf["status"]) == (site.url("/report.pdf"), True, 200)
    assert pdf["sha256"] == filestore.digest(b"%PDF-1.4 acta") and pdf["checked_at"]
    assert Path(pdf["copy"]).name == f"{pdf['sha256']}.pdf"
    assert Path(pdf["copy"]).read_bytes() == b"%PDF-1.4 acta"
    assert (missing["reachable"], missing["status"], missing["problem"]) == (
        False,
        404,
        "http-status",
    )
    assert missing["sha256"] == "" and missing["copy"] == ""
    lines = CliRunner().invoke(app, ["evidence", "2023-03"]).stdout.splitlines()
    assert lines[0].startswith(f"MINGOB 1.1 {site.url('/report.pdf')}: reachable (200) on ")
    assert lines[1] == f"  copy: {pdf['copy']}"
    [gone] = [line for line in lines if line.startswith("MINGOB 1.4 ")]
    assert f"{site.url('/missing')}: unreachable (http-status, 404) on " in gone
    assert len(lines) == 2 * 5 - 1 + 1, "five links, four of them archived, and the summary"
    assert lines[-1] == "5 evidence links of gt-pan5/2023-03: 4 reachable, 1 unreachable."


@pytest.mark.slow
def test_the_intake_flow_checks_links_before_it_replies(
    prefect_server, checked_settings, plan, cycle, site, smtp, monkeypatch
):
    from flows.intake import intake

    settings = checked_settings
    for name in ("home", "smtp_port", "evidence_allow_hosts"):
        monkeypatch.setenv(f"HITOS_{name.upper()}", str(getattr(settings, name)))
    attached = [("avances.xlsx", workbook(settings, plan, site, {"1.2": site.url("/missing")}))]
    deliver(settings, samples.liaison_mail(LIAISON, "Avances", attached, "<f1@m>"))

    [outcome] = intake()

    assert findings_of(settings, outcome.submission_id) == [
        ("1.2", "evidencia_url", "evidence-unreachable", "warning")
    ]
    [reply] = smtp.to(LIAISON)
    assert "código 404" in reply.get_body(("plain",)).get_content()


def test_a_special_use_name_is_never_asked_of_the_systems_resolver(monkeypatch):
    """The demo's links (``https://mineduc.example/…``) cost the resolver seconds each here."""
    import socket

    from tasks.evidence.addresses import system_resolver

    def asked(*_: object, **__: object) -> None:
        pytest.fail("the resolver was asked for a name that never resolves")

    monkeypatch.setattr(socket, "getaddrinfo", asked)
    for name in ("mineduc.example", "portal.gob.test", "x.invalid", "sitio.internal"):
        assert system_resolver(name, 443) == []
