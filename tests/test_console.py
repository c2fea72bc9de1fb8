"""The console over HTTP: every route for each role, CSRF, sign-in, rate limit, downloads.

Starlette's TestClient drives the real FastAPI app on a real SQLite workspace (HTTPS base URL:
the session cookie is Secure, so a client only sends it over HTTPS); a real SMTP server on
loopback receives what the console's actions send.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from bench.console import PASSWORD as BENCH_PASSWORD
from bench.console import workspace
from bench.synthetic import CYCLE as BENCH_CYCLE
from console.app import create_app
from console.dashboard import DashboardRows, digest
from console.site import MAX_ID, SESSION_COOKIE
from tasks.cycle.extensions import extend
from tasks.cycle.requests import build_request, open_cycle_record
from tasks.mail.local_server import local_smtp_server
from tasks.people.accounts import add_user, sign_in
from tasks.people.review import approve, return_submission
from tasks.plans.plan import Plan
from tasks.publication.approval import consolidate_draft
from tasks.settings import Settings
from tasks.simulation import filled_workbook
from tasks.storage import filestore
from tasks.storage.ledger import Cycle, Email, Submission, session
from tests.conftest import SAMPLE_PLAN, RecordingHandler
from tests.network import free_port
from tests.test_console_submission import opened, sent
from tests.test_ledger_backends import postgres_url  # noqa: F401 (a fixture)
from tests.test_review import deliver

CYCLE = "2023-03"
PASSWORD = "una clave larga de prueba"
DIRECTOR, REVIEWER = "directora@gae.example", "revisora@gae.example"


@dataclass
class World:
    settings: Settings
    plan: Plan
    smtp: RecordingHandler
    submissions: dict[str, int]


@pytest.fixture(scope="module")
def world(tmp_path_factory, plan) -> Iterator[World]:
    """A cycle with three accepted files awaiting review, a draft, a director and a reviewer."""
    home = tmp_path_factory.mktemp("console") / "ws"
    settings = Settings(home=home, smtp_port=free_port(), plan=SAMPLE_PLAN)
    handler = RecordingHandler()
    with local_smtp_server(Path(), Path(), settings.sender, settings.smtp_port, handler=handler):
        submissions = {code: deliver(settings, plan, code) for code in ("MINGOB", "SESAN", "GAE")}
        consolidate_draft(settings, plan, CYCLE)
        add_user(settings, DIRECTOR, "director", PASSWORD)
        add_user(settings, REVIEWER, "reviewer", PASSWORD)
        yield World(settings, plan, handler, submissions)


def client_for(settings: Settings, plan: Plan) -> TestClient:
    return TestClient(create_app(settings, plan), base_url="https://testserver")


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def signed_in(settings: Settings, plan: Plan, email: str | None) -> TestClient:
    client = client_for(settings, plan)
    if email is not None:
        token = csrf_of(client.get("/login").text)
        answer = client.post(
            "/login",
            data={"email": email, "password": PASSWORD, "csrf": token},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
    return client


def staff_pages(world: World) -> list[str]:
    sub = world.submissions["MINGOB"]
    return [
        "/",
        f"/ciclos/{CYCLE}",
        f"/ciclos/{CYCLE}/historial",
        f"/envios/{sub}",
        f"/envios/{sub}/archivo/original",
    ]


DIRECTOR_PAGES = [
    f"/ciclos/{CYCLE}/prorrogas",
    f"/ciclos/{CYCLE}/consolidacion",
    f"/ciclos/{CYCLE}/informes/1/html",
]
DIRECTOR_ACTIONS = [
    f"/ciclos/{CYCLE}/prorrogas",
    f"/ciclos/{CYCLE}/consolidar",
    f"/ciclos/{CYCLE}/publicar",
]


def test_anonymous_visitors_are_sent_to_sign_in_from_every_page_and_action(world):
    client = signed_in(world.settings, world.plan, None)
    sub = world.submissions["MINGOB"]
    actions = [f"/envios/{sub}/aprobar", f"/envios/{sub}/devolver", "/salir", *DIRECTOR_ACTIONS]

    for path in staff_pages(world) + DIRECTOR_PAGES:
        answer = client.get(path, follow_redirects=False)
        assert (path, answer.status_code, answer.headers["location"]) == (path, 303, "/login")
    for path in actions:
        answer = client.post(path, data={"csrf": "x", "note": "x"}, follow_redirects=False)
        assert (path, answer.status_code) == (path, 303)
    assert "Ingresar" in client.get("/login").text


def test_a_reviewer_sees_the_cycle_but_not_the_directors_pages_or_actions(world):
    client = signed_in(world.settings, world.plan, REVIEWER)
    for path in staff_pages(world):
        assert (path, client.get(path).status_code) == (path, 200)
    token = csrf_of(client.get("/").text)
    for path in DIRECTOR_PAGES:
        answer = client.get(path)
        assert (path, answer.status_code) == (path, 403)
        assert "solo para la dirección" in answer.text
    for path in DIRECTOR_ACTIONS:
        answer = client.post(path, data={"csrf": token}, follow_redirects=False)
        assert (path, answer.status_code) == (path, 403)
    assert "Consolidación" not in client.get("/").text  # not offered either


def test_the_director_reaches_every_page(world):
    client = signed_in(world.settings, world.plan, DIRECTOR)
    for path in staff_pages(world) + DIRECTOR_PAGES:
        assert (path, client.get(path).status_code) == (path, 200)
    dashboard = client.get("/").text
    assert "Ciclo marzo 2023" in dashboard and "MINGOB" in dashboard
    assert 'lang="es"' in dashboard


def test_an_action_without_the_sessions_csrf_token_is_refused_and_changes_nothing(world):
    client = signed_in(world.settings, world.plan, REVIEWER)
    sub = world.submissions["SESAN"]

    for token in ("", "a-forged-token"):
        answer = client.post(f"/envios/{sub}/aprobar", data={"csrf": token})
        assert answer.status_code == 403
        assert "formulario no es válido" in answer.text
    with session(world.settings.database) as db:
        stored = db.get(Submission, sub)
        assert stored is not None and stored.review == "pending"


def test_a_reviewer_approves_from_the_submission_page(world):
    client = signed_in(world.settings, world.plan, REVIEWER)
    sub = world.submissions["GAE"]
    token = csrf_of(client.get(f"/envios/{sub}").text)

    answer = client.post(f"/envios/{sub}/aprobar", data={"csrf": token, "note": "Bien."})

    assert "Archivo aprobado." in answer.text
    history = client.get(f"/ciclos/{CYCLE}/historial").text
    assert REVIEWER in history and "Bien." in history


def test_signing_in_needs_the_login_forms_own_token(world):
    client = client_for(world.settings, world.plan)
    client.get("/login")
    answer = client.post("/login", data={"email": DIRECTOR, "password": PASSWORD, "csrf": "x"})
    assert answer.status_code == 403
    assert SESSION_COOKIE not in client.cookies


def test_the_session_cookie_is_secure_http_only_and_signing_out_ends_it(world):
    client = client_for(world.settings, world.plan)
    token = csrf_of(client.get("/login").text)
    answer = client.post(
        "/login",
        data={"email": DIRECTOR, "password": PASSWORD, "csrf": token},
        follow_redirects=False,
    )
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie

    client.post("/salir", data={"csrf": csrf_of(client.get("/").text)})
    stolen = client_for(world.settings, world.plan)
    stolen.cookies.set(SESSION_COOKIE, cookie.split(";")[0].split("=", 1)[1])
    assert stolen.get("/", follow_redirects=False).status_code == 303


def test_a_download_never_follows_a_path_from_the_request(world):
    client = signed_in(world.settings, world.plan, DIRECTOR)
    sub = world.submissions["MINGOB"]
    with session(world.settings.database) as db:
        stored = db.get(Submission, sub)
        assert stored is not None
        original = filestore.get(db, stored.sha256)
    ledger = (world.settings.home / "hitos.db").read_bytes()[:16]

    own = client.get(f"/envios/{sub}/archivo/original?path=/etc/passwd&file=../hitos.db")
    assert own.status_code == 200 and own.content == original
    assert "attachment" in own.headers["content-disposition"]
    for attempt in (
        f"/envios/{sub}/archivo/..%2F..%2F..%2Fetc%2Fpasswd",
        f"/envios/{sub}/archivo/%2Fetc%2Fpasswd",
        "/envios/..%2Fhitos.db/archivo/original",
        f"/ciclos/{CYCLE}/informes/1/..%2F..%2Fhitos.db",
        "/ciclos/..%2F..%2Fetc/informes/1/html",
    ):
        answer = client.get(attempt)
        assert answer.status_code in (404, 422), attempt
        assert b"root:" not in answer.content and ledger not in answer.content


def test_a_wrong_password_is_refused_in_spanish(settings, plan):
    add_user(settings, DIRECTOR, "director", PASSWORD)
    client = client_for(settings, plan)
    token = csrf_of(client.get("/login").text)

    answer = client.post("/login", data={"email": DIRECTOR, "password": "otra", "csrf": token})

    assert answer.status_code == 401
    assert "Correo o contraseña incorrectos." in answer.text
    assert SESSION_COOKIE not in client.cookies
    unknown = client.post("/login", data={"email": "x@y.example", "password": "z", "csrf": token})
    assert unknown.status_code == 401  # the same answer: it does not say who has an account


def test_users_add_reads_the_password_from_stdin_and_hashes_it(settings, monkeypatch):
    from typer.testing import CliRunner

    from hitos_cli import app
    from tasks.storage.ledger import ConsoleUser

    monkeypatch.setenv("HITOS_HOME", str(settings.home))
    result = CliRunner().invoke(
        app, ["users", "add", DIRECTOR, "--role", "director"], input=PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.stdout
    with session(settings.database) as db:
        [user] = db.scalars(select(ConsoleUser)).all()
    assert (user.email, user.role) == (DIRECTOR, "director")
    assert user.password_hash.startswith("$argon2") and PASSWORD not in user.password_hash
    short = CliRunner().invoke(app, ["users", "add", REVIEWER, "--role", "reviewer"], input="x\n")
    assert short.exit_code == 2 and "at least" in short.stdout
    wrong = CliRunner().invoke(app, ["users", "add", REVIEWER, "--role", "jefe"], input=PASSWORD)
    assert wrong.exit_code == 2 and "role must be" in wrong.stdout


def test_a_decision_taken_elsewhere_shows_on_the_dashboard_at_once(world):
    client = signed_in(world.settings, world.plan, DIRECTOR)
    sub = world.submissions["MINGOB"]
    assert f"/envios/{sub}" in client.get(f"/ciclos/{CYCLE}?estado=pending").text

    approve(world.settings, world.plan, sub, "otra-revisora@gae.example")  # the CLI's function

    assert f"/envios/{sub}" not in client.get(f"/ciclos/{CYCLE}?estado=pending").text
    assert f"/envios/{sub}" in client.get(f"/ciclos/{CYCLE}?estado=approved").text


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request, settings) -> Settings:
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else ""
    return settings.model_copy(update={"database_url": url})


def test_every_write_the_dashboard_reads_changes_its_digest(ledger, plan):
    settings, today = ledger, date(2023, 3, 30)
    sub = deliver(settings, plan, "MINGOB")
    with session(settings.database) as db:
        db.add(
            Email(
                key=f"{plan.id}/{CYCLE}/MINGOB/request/1",
                plan_id=plan.id,
                cycle_id=CYCLE,
                institution="MINGOB",
                kind="request",
                to="enlace@mingob.example",
                subject="Solicitud",
                message_id="<solicitud@test>",
            )
        )
    seen = {digest(settings, CYCLE, today)}
    assert digest(settings, CYCLE, today) in seen  # nothing written: the rows are kept

    writes = [
        update(Submission).where(Submission.id == sub).values(review="approved"),
        update(Submission).where(Submission.id == sub).values(outcome="rejected"),
        update(Email).where(Email.institution == "MINGOB").values(status="failed", error="x"),
        update(Email).where(Email.institution == "MINGOB").values(error="y"),
        update(Cycle).where(Cycle.id == CYCLE).values(state="consolidated"),
    ]
    for write in writes:
        with session(settings.database) as db:
            db.execute(write)
        marker = digest(settings, CYCLE, today)
        assert marker not in seen, str(write)
        seen.add(marker)
    extend(settings, plan, CYCLE, "SESAN", date(2023, 4, 7), "Cambio de enlace.", DIRECTOR)
    assert digest(settings, CYCLE, today) not in seen
    seen.add(digest(settings, CYCLE, today))
    assert digest(settings, CYCLE, date(2023, 3, 31)) not in seen  # lateness grows each day


def test_the_dashboard_shows_fifty_institutions_a_page_filtered_by_state_or_name(tmp_path):
    settings, plan, _ = workspace(tmp_path, institutions=120, milestones=2)
    client = TestClient(create_app(settings, plan), base_url="https://testserver")
    _, token = sign_in(settings, "directora@carga.example", BENCH_PASSWORD, "test")
    client.cookies.set(SESSION_COOKIE, token)
    rows = re.compile(r'<a href="/envios/(\d+)">')

    first, third = client.get("/").text, client.get(f"/ciclos/{BENCH_CYCLE}?pagina=3").text
    assert len(rows.findall(first)) == 50 and len(rows.findall(third)) == 20
    assert "120 instituciones; página 1 de 3." in first
    assert 'href="/ciclos/2023-03?estado=&amp;buscar=&amp;pagina=2#instituciones"' in first
    assert '<label for="estado">' in first and '<label for="buscar">' in first

    pending = client.get(f"/ciclos/{BENCH_CYCLE}?estado=pending").text
    with session(settings.database) as db:
        waiting = db.scalars(select(Submission.id).where(Submission.review == "pending")).all()
    shown = {int(n) for n in rows.findall(pending)}
    assert shown and shown <= set(waiting)
    assert f"Por revisar ({len(waiting)})" in pending

    code = plan.reporting_institutions()[7].code
    found = client.get(f"/ciclos/{BENCH_CYCLE}", params={"buscar": code.lower()}).text
    assert f"<strong>{code}</strong>" in found
    assert client.get(f"/ciclos/{BENCH_CYCLE}?pagina=99").status_code == 200  # the last page
    assert client.get(f"/ciclos/{BENCH_CYCLE}?pagina=x").status_code == 422


def revised(settings: Settings, plan: Plan, code: str) -> int:
    """The institution's fuller second file (the same file twice would be stored once)."""
    request = build_request(settings, plan, opened(settings, plan, CYCLE), plan.institution(code))
    return sent(settings, plan, code, filled_workbook(request, code, False, revised=True), "2.xlsx")


def test_the_dashboard_awaits_review_of_the_newest_kept_file_only(settings, plan, smtp):
    first = deliver(settings, plan, "MINGOB")
    return_submission(settings, plan, first, REVIEWER, "La meta del hito 1 no cuadra.")
    second = revised(settings, plan, "MINGOB")
    add_user(settings, DIRECTOR, "director", PASSWORD)
    client = signed_in(settings, plan, DIRECTOR)

    waiting = client.get(f"/ciclos/{CYCLE}?estado=pending").text
    assert f"/envios/{second}" in waiting and f"/envios/{first}" not in waiting
    assert "Por revisar (1)" in waiting

    approve(settings, plan, second, REVIEWER)
    assert "Por revisar (0)" in client.get(f"/ciclos/{CYCLE}").text


def test_a_started_worker_has_computed_the_newest_cycle_before_its_first_request(
    world, monkeypatch
):
    app = create_app(world.settings, world.plan)
    with TestClient(app, base_url="https://testserver") as client:  # runs the start-up
        monkeypatch.setattr(DashboardRows, "_compute", lambda *_: pytest.fail("computed late"))
        _, token = sign_in(world.settings, DIRECTOR, PASSWORD, "test")
        client.cookies.set(SESSION_COOKIE, token)
        assert "MINGOB" in client.get("/").text


def test_the_console_speaks_english_when_the_language_is_english(world):
    english = world.settings.model_copy(update={"language": "en"})
    client = signed_in(english, world.plan, REVIEWER)
    assert "Sign in" in client_for(english, world.plan).get("/login").text
    dashboard = client.get("/").text
    assert 'lang="en"' in dashboard and "Cycle March 2023" in dashboard
    assert "Institutions" in dashboard and "Awaiting review" in dashboard + "Approved"
    page = client.get(f"/envios/{world.submissions['SESAN']}").text
    assert "Download the original file" in page and "Validation results" in page
    refused = client.get(f"/ciclos/{CYCLE}/prorrogas")
    assert refused.status_code == 403 and "for the director only" in refused.text
    for text in (dashboard, page, refused.text):
        assert not re.search(r"\b(Institución|Ciclo actual|Descargar|Revisión|Salir)\b", text)


def test_the_submission_page_links_its_data_docs_run_served_by_id_to_staff_only(settings, plan):
    from tasks.intake.process import process
    from tasks.intake.store import store
    from tasks.mail.inbox import Attachment, Received

    cycle = open_cycle_record(settings, plan, CYCLE, date(2023, 3, 1))
    workbook = build_request(settings, plan, cycle, plan.institution("SESAN"))
    store(
        settings,
        [
            Received(
                message_id="<sesan@test>",
                channel="mail",
                sender=plan.institution("SESAN").liaison.email,
                attachments=[Attachment("avances.xlsx", filled_workbook(workbook, "SESAN", False))],
            )
        ],
    )
    [outcome] = process(settings, plan, with_docs=True)
    add_user(settings, REVIEWER, "reviewer", PASSWORD)
    sub = outcome.submission_id
    anonymous = client_for(settings, plan)
    assert anonymous.get(f"/envios/{sub}/data-docs", follow_redirects=False).status_code == 303
    client = signed_in(settings, plan, REVIEWER)

    assert f'href="/envios/{sub}/data-docs"' in client.get(f"/envios/{sub}").text
    assert f'href="/ciclos/{CYCLE}/data-docs"' in client.get("/").text  # from the dashboard too
    docs = client.get(f"/envios/{sub}/data-docs")
    assert docs.status_code == 200 and "hitos_entrega" in docs.text
    assert "script-src 'self' 'unsafe-inline'" in docs.headers["content-security-policy"]
    links = re.findall(r'(?:href|src)="(/[^"]+)"', docs.text)
    assert f"/ciclos/{CYCLE}/data-docs" in links
    assert not re.search(r'(?:href|src)="\.\./', docs.text)  # every relative link rewritten
    for link in links:
        assert (link, client.get(link).status_code) == (link, 200)
    assert any(link.endswith("bootstrap.min.css") for link in links)
    for attempt in (
        f"/ciclos/{CYCLE}/data-docs/estatico/..%2F..%2F..%2Fhitos.db",
        f"/ciclos/{CYCLE}/data-docs/estatico/../index.html",
        f"/ciclos/{CYCLE}/data-docs/estatico//etc/passwd",
    ):
        answer = client.get(attempt)
        assert answer.status_code == 404, attempt
        assert b"root:" not in answer.content and b"SQLite" not in answer.content
    assert client.get("/envios/999/data-docs").status_code == 404


OUT_OF_RANGE = ("99999999999999999999999", str(MAX_ID + 1), "0", "-1")
EXAMPLES = {"cycle_id": CYCLE, "kind": "original", "name": "x.css", "token": "1.x"}


def id_routes(app) -> list[tuple[str, str, list[str]]]:
    """Every route with an integer in its path, as the app describes its own routes (OpenAPI):
    (method, path, the integer parameters)."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            numbers = [
                p["name"]
                for p in operation.get("parameters", [])
                if p["in"] == "path" and p["schema"].get("type") == "integer"
            ]
            found += [(method.upper(), path, numbers)] if numbers else []
    return found


def test_every_route_answers_404_to_an_id_out_of_range(world):
    """An id too large for the ledger answered 500 (SQLite's integers overflowed, #22)."""
    client = signed_in(world.settings, world.plan, DIRECTOR)
    token = csrf_of(client.get("/").text)
    routes = id_routes(client.app)
    assert {path for _, path, _ in routes} >= {
        "/envios/{submission_id}",
        "/envios/{submission_id}/archivo/{kind}",
        "/envios/{submission_id}/aprobar",
        "/envios/{submission_id}/devolver",
        "/envios/{submission_id}/data-docs",
        "/ciclos/{cycle_id}/informes/{version}/{kind}",
    }
    for method, path, numbers in routes:
        for number in OUT_OF_RANGE:
            url = path.format(**EXAMPLES, **dict.fromkeys(numbers, number))
            answer = client.request(method, url, data={"csrf": token, "note": "x"})
            assert (method, url, answer.status_code) == (method, url, 404)
            assert "No encontrado" in answer.text


def test_the_root_filters_and_searches_the_newest_cycle_as_its_own_page_does(world):
    client = signed_in(world.settings, world.plan, REVIEWER)
    rows = re.compile(r"<strong>(\w+)</strong> · ")

    for query in ("buscar=educacion", "estado=not-delivered", "estado=pending", "buscar=mingob"):
        root, page = client.get(f"/?{query}").text, client.get(f"/ciclos/{CYCLE}?{query}").text
        assert rows.findall(root) == rows.findall(page), query
    assert rows.findall(client.get("/?buscar=educacion").text) == ["MINEDUC"]
    missing = rows.findall(client.get("/?estado=not-delivered").text)
    assert "MARN" in missing and "MINGOB" not in missing


def test_every_cycle_page_switches_to_the_same_page_of_another_cycle(settings, plan):
    for cycle_id in ("2023-03", "2023-08"):
        opened(settings, plan, cycle_id)
    add_user(settings, DIRECTOR, "director", PASSWORD)
    client = signed_in(settings, plan, DIRECTOR)

    for page in ("", "/historial", "/prorrogas", "/consolidacion"):
        html = client.get(f"/ciclos/2023-08{page}").text
        assert f'<a href="/ciclos/2023-03{page}">marzo 2023</a>' in html, page
        assert f'<a href="/ciclos/2023-08{page}" aria-current="page">agosto 2023</a>' in html
    assert 'aria-current="page">agosto 2023</a>' in client.get("/").text  # the newest


def test_publishing_asks_for_a_confirmation_that_names_the_version(settings, plan, smtp):
    sub = deliver(settings, plan, "MINGOB")
    approve(settings, plan, sub, REVIEWER)
    consolidate_draft(settings, plan, CYCLE)
    add_user(settings, DIRECTOR, "director", PASSWORD)
    add_user(settings, REVIEWER, "reviewer", PASSWORD)
    director = signed_in(settings, plan, DIRECTOR)
    assert (
        f'href="/ciclos/{CYCLE}/publicar">Publicar la versión 1</a>'
        in director.get(f"/ciclos/{CYCLE}/consolidacion").text
    )

    confirm = director.get(f"/ciclos/{CYCLE}/publicar").text
    token = csrf_of(confirm)
    for words in ("Publicar la versión 1", "Confirmo que publico la versión 1.", "tablero"):
        assert words in confirm
    unticked = director.post(f"/ciclos/{CYCLE}/publicar", data={"csrf": token, "version": "1"})
    stale = director.post(
        f"/ciclos/{CYCLE}/publicar", data={"csrf": token, "version": "2", "confirm": "2"}
    )

    assert unticked.status_code == 400 and "Marque la casilla" in unticked.text
    assert stale.status_code == 409 and "ahora es la versión 1" in stale.text
    assert "Aún no se publicó" in director.get(f"/ciclos/{CYCLE}/consolidacion").text
    done = director.post(
        f"/ciclos/{CYCLE}/publicar", data={"csrf": token, "version": "1", "confirm": "1"}
    )
    assert "Informe publicado" in done.text

    dashboard = director.get("/").text
    assert f'href="/ciclos/{CYCLE}/informes/1/html"' in dashboard
    assert 'href="/tablero/"' in dashboard
    board = director.get("/tablero/")
    assert board.status_code == 200 and "MINGOB" in board.text
    reviewer = signed_in(settings, plan, REVIEWER)
    assert reviewer.get(f"/ciclos/{CYCLE}/informes/1/html").status_code == 200  # now public
    assert reviewer.get("/tablero/..%2F..%2Fhitos.db").status_code == 404
