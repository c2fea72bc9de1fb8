"""Great Expectations Data Docs: one run page per submission, kept in the shared store.

Three real workbooks go through one intake, so one suite run: one with errors, one whose only
problem is a warning, one clean. Each gets its own run page, rendered from its own part of the
run's result the first time someone asks for it; ``local_site`` writes the whole site into the
workspace, where a browser opens it offline. Two workspaces on two folders sharing one ledger
show that a console on another machine serves what any worker validated.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from datetime import date
from io import BytesIO
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tasks.catalogues import text
from tasks.checks.data_docs.language import GE_WORDS, in_language
from tasks.checks.data_docs.offline import offline
from tasks.checks.data_docs.pages import local_time
from tasks.checks.data_docs.results import SUITE_PAGE
from tasks.checks.data_docs.store import INDEX, local_site, run_of, run_page, site_file
from tasks.checks.validation import SUITE
from tasks.core import contract
from tasks.cycle.intake import outcome_of, process, store
from tasks.cycle.requests import build_request, open_cycle_record
from tasks.mail.inbox import Attachment, Received
from tasks.settings import Settings
from tasks.simulation import CARELESS, filled_workbook
from tasks.storage import filestore
from tasks.storage.ledger import DocsFile, Submission, ValidationRun, session
from tasks.workbooks.layout import header
from tests.conftest import SAMPLE_PLAN
from tests.test_ledger_backends import postgres_url  # noqa: F401 (a fixture)

SUITE_RULES = {e["meta"]["rule"] for e in json.loads(SUITE.read_text())["expectations"]}
URL = re.compile(r"https?://[^\s\"'<>)\\]+", re.I)
LOCAL_HOSTS = {"localhost", "127.0.0.1"}
#: URLs inside vendored code that no browser fetches: an SVG namespace and an error message.
NOT_FETCHED = {
    "http://www.w3.org/2000/svg": "XML namespace of bootstrap's inline SVG icons",
    "https://popper.js.org/": "named in bootstrap's error message when Popper is missing",
}
#: Names only the code knows: helper columns, the row column, raw contract keys.
RAW_NAMES = ["_vencido", "_presente", "_en_plan", "_avance_vacio", "_fila_revisada", "_clave"]
RAW_NAMES += ["_como_antes"]
RAW_NAMES += ["_envio", "avance_pct", "codigo_hito", "evidencia_url", "descripcion_avance"]
CLEAN, WARNED = "MINGOB", "GAE"
CYCLE = "2023-03"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def answered(request: Path, overdue_started: str = "") -> bytes:
    """The request filled as a careful liaison does: every milestone completed, with evidence;
    ``overdue_started`` is left started at 50 % although its end date has passed (a warning)."""
    book = load_workbook(request)
    sheet = next(s for s in book.worksheets if contract.is_sheet(s.title, "milestones"))
    row, columns = header(sheet)
    assert row is not None
    for line in range(row + 1, sheet.max_row + 1):
        code = str(sheet.cell(line, columns[contract.CODE]).value)
        state, progress = (
            (contract.IN_PROGRESS, 50) if code == overdue_started else (contract.COMPLETED, 100)
        )
        values = {
            contract.STATE: contract.state_label(state, "es"),
            contract.PROGRESS: progress,
            "descripcion_avance": f"Avance del hito {code}.",
            "evidencia_url": f"https://gae.example/evidencia/{code}",
        }
        for column, value in values.items():
            sheet.cell(line, columns[column]).value = value
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def received(institution: str, data: bytes, filename: str = "") -> Received:
    return Received(
        message_id=f"test:{hashlib.sha256(data).hexdigest()}",
        channel="cli",
        sender="",
        attachments=[Attachment(filename or f"avances-{institution}.xlsx", data)],
    )


def intake(settings: Settings, plan, files: dict[str, bytes], names: dict[str, str]) -> dict:
    """The files through one intake (one suite run, with Data Docs); institution → its id."""
    for institution, data in files.items():
        store(
            settings,
            [received(institution, data, names.get(institution, ""))],
            institution=institution,
            cycle_id=CYCLE,
        )
    process(settings, plan, with_docs=True)
    return {
        code: outcome_of(settings, hashlib.sha256(data).hexdigest()).submission_id
        for code, data in files.items()
    }


def three_files(settings: Settings, plan) -> dict[str, bytes]:
    """Errors (MINEDUC), warnings only (GAE), clean (MINGOB), for a cycle opened here."""
    cycle = open_cycle_record(settings, plan, CYCLE, date(2023, 3, 1))
    requests = {
        code: build_request(settings, plan, cycle, plan.institution(code))
        for code in (CARELESS, WARNED, CLEAN)
    }
    overdue = next(m.code for m in plan.milestones_of(WARNED) if m.end < cycle.deadline)
    return {
        CARELESS: filled_workbook(requests[CARELESS], CARELESS, careless=True),
        WARNED: answered(requests[WARNED], overdue_started=overdue),
        CLEAN: answered(requests[CLEAN]),
    }


ODD_NAME = "avances $file & co.xlsx"
"""A file name a sender chose, with what HTML and Great Expectations' templates read as markup."""


@pytest.fixture(scope="module")
def cycle_docs(tmp_path_factory, plan):
    """Cycle 2023-03 after one intake of three files, and its site written in the workspace."""
    settings = Settings(home=tmp_path_factory.mktemp("docs") / "ws", plan=SAMPLE_PLAN)
    ids = intake(settings, plan, three_files(settings, plan), {CLEAN: ODD_NAME})
    return settings, ids, local_site(settings, plan, CYCLE)


def page(settings: Settings, plan, submission_id: int) -> str:
    """A submission's run page as the store serves it."""
    found = run_page(settings, plan, submission_id)
    assert found is not None, submission_id
    return found[1].decode()


def index(settings: Settings, plan) -> str:
    found = site_file(settings, plan, CYCLE, INDEX)
    assert found is not None
    return found.decode()


def outcome(settings, submission_id: int):
    with session(settings.database) as db:
        sub = db.get(Submission, submission_id)
        assert sub is not None
        return outcome_of(settings, sub.sha256)


def visible(html: str) -> str:
    """The page's text as a reader sees it: no tags, scripts or styles."""
    html = re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S | re.I)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def status(html: str) -> str:
    """The Status line of a validation page's overview."""
    label, after = (text("es", f"data_docs.page.{key}") for key in ("status_colon", "statistics"))
    found = rf"{re.escape(label)}\s*(.*?)\s*(?:{re.escape(after)}|$)"
    match = re.search(found, visible(html))
    assert match
    return match.group(1).strip()


def index_rows(settings, plan) -> dict[str, str]:
    """Run name → the Status of its row in the index (the text its filter selects by)."""
    rows = re.findall(
        r"'run_name': '([^']+)'.*?'_validation_success_text': '([^']+)'", index(settings, plan)
    )
    return dict(rows)


def run_name(submission_id: int) -> str:
    return text("es", "data_docs.run", submission=submission_id)


def rendered_dom(page_file: Path) -> str:
    """The page's DOM after a real Chromium loaded it and ran its own scripts."""
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page_file.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def test_one_suite_run_gives_each_submission_a_page_of_its_own_file(cycle_docs, plan):
    settings, ids, _ = cycle_docs
    with session(settings.database) as db:
        runs = {r.submission_id: r for r in db.scalars(select(ValidationRun))}
    names = {CARELESS: f"avances-{CARELESS}.xlsx", WARNED: f"avances-{WARNED}.xlsx"}

    assert set(runs) == set(ids.values())
    assert len({r.run_time for r in runs.values()}) == 1  # one suite run
    for code, name in names.items():
        shown = visible(page(settings, plan, ids[code]))
        assert (
            text("es", "data_docs.file", filename=name, institution=code, submission=ids[code])
            in shown
        )
        others = set(names.values()) - {name}
        assert not any(other in shown for other in others)
        assert not any(f"envío {i} ·" in shown for i in ids.values())  # no batch's row names


def test_the_index_names_each_submissions_institution_and_file(cycle_docs, plan):
    settings, ids, _ = cycle_docs
    listed = visible(index(settings, plan)) + index(settings, plan)

    for code, submission_id in ids.items():
        assert f"'run_name': '{run_name(submission_id)}'" in listed
        assert f"'asset_name': '{code}'" in listed
    assert f"avances-{CARELESS}.xlsx" in listed
    assert text("es", "data_docs.site", cycle=f"{settings.plan_id}/{CYCLE}") in listed


def test_a_file_with_errors_is_a_failed_run(cycle_docs, plan):
    settings, ids, _ = cycle_docs

    assert outcome(settings, ids[CARELESS]).outcome == "rejected"
    assert status(page(settings, plan, ids[CARELESS])) == text("es", "data_docs.page.failed")
    failed = text("es", "data_docs.page.failed")
    assert index_rows(settings, plan)[run_name(ids[CARELESS])] == failed


def test_a_file_with_only_warnings_is_not_shown_as_failed(cycle_docs, plan):
    settings, ids, _ = cycle_docs
    html = page(settings, plan, ids[WARNED])
    with_warnings = text("es", "data_docs.with_warnings")

    assert outcome(settings, ids[WARNED]).outcome == "accepted_with_warnings"
    assert status(html) == with_warnings
    assert "fa-exclamation-triangle" in html
    assert index_rows(settings, plan)[run_name(ids[WARNED])] == with_warnings


def test_a_clean_file_is_a_successful_run(cycle_docs, plan):
    settings, ids, _ = cycle_docs
    succeeded = text("es", "data_docs.page.succeeded")

    assert outcome(settings, ids[CLEAN]).outcome == "accepted"
    assert status(page(settings, plan, ids[CLEAN])) == succeeded
    assert index_rows(settings, plan)[run_name(ids[CLEAN])] == succeeded


def test_pages_name_rules_and_columns_by_their_contract_labels(cycle_docs, plan):
    settings, ids, _ = cycle_docs
    rejected = visible(page(settings, plan, ids[CARELESS]))
    rules = visible(site_file(settings, plan, CYCLE, SUITE_PAGE).decode())  # type: ignore[union-attr]
    shown = [rejected, rules, visible(index(settings, plan))]
    shown += [visible(page(settings, plan, ids[code])) for code in (WARNED, CLEAN)]

    for key in (contract.CODE, contract.STATE, contract.PROGRESS, "evidencia_url"):
        assert contract.BY_KEY[key].label("es") in rejected
    for rule in SUITE_RULES:
        assert text("es", f"data_docs.rules.{rule}") in rules
    assert text("es", "data_docs.rules.completed-requires-100") in rejected
    assert [raw for one in shown for raw in RAW_NAMES if raw in one] == []


def test_each_rule_says_what_it_found_in_the_file_as_a_reader_would(cycle_docs, plan):
    settings, ids, _ = cycle_docs
    rejected = visible(page(settings, plan, ids[CARELESS]))
    clean = visible(page(settings, plan, ids[CLEAN]))
    rows = len(plan.milestones_of(CLEAN))

    assert text("es", "data_docs.observed.met", rows=rows) in clean
    assert text("es", "data_docs.observed.unmet", unmet=1, rows=rows) not in clean
    assert "No se cumple en 1 de" in rejected  # Completado at 80: one row of those completed
    assert text("es", "data_docs.observed.none") in clean  # no earlier cycle to compare with
    for shown in (rejected, clean):  # not «0% no la cumple», «≈96.429% con valor»
        assert "≈" not in shown and not re.search(r"%\s*(no la cumple|con valor)", shown)


def test_values_read_as_typed_whole_numbers_whole_and_blanks_blank(cycle_docs, plan):
    settings, ids, _ = cycle_docs
    rejected = visible(page(settings, plan, ids[CARELESS]))

    assert " 80 " in rejected and "80.0" not in rejected
    assert text("es", "data_docs.blank") in rejected  # the evidence left empty
    assert "null" not in rejected and "None" not in rejected


def test_great_expectations_own_words_read_in_the_sites_language(cycle_docs, plan):
    settings, ids, _ = cycle_docs
    run = visible(page(settings, plan, ids[CARELESS]))
    html = index(settings, plan)

    words = ("Table of Contents", "Overview", "Unexpected Value", "Table-Level Expectations")
    for english in words:
        assert english not in run
        assert text("es", f"data_docs.page.{GE_WORDS[english]}") in run
    assert "unexpected" not in run and "total rows" not in run
    assert "'title': 'Run Time'" not in html
    assert f"'title': '{text('es', 'data_docs.page.run_time')}'" in html


def test_the_tables_own_words_read_in_the_sites_language_in_a_browser(cycle_docs):
    _, _, site = cycle_docs
    dom = rendered_dom(site / "index.html")

    assert f'placeholder="{text("es", "data_docs.table.search")}"' in dom
    assert text("es", "data_docs.table.showing_rows", first=1, last=3, total=3) in dom
    assert "Search" not in visible(dom) and "Showing" not in visible(dom)
    assert 'placeholder="Search"' not in dom


def test_a_run_page_and_the_index_fit_a_phone_without_sideways_scrolling(cycle_docs, tmp_path):
    from playwright.sync_api import sync_playwright

    _, ids, site = cycle_docs
    [run] = site.glob(f"validations/*/envio-{ids[CARELESS]}/*/*.html")
    with sync_playwright() as browser_kind:
        browser = browser_kind.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for width in (1280, 390):
            tab = browser.new_page(viewport={"width": width, "height": 900})
            for name, shown in (("index", site / "index.html"), ("run", run)):
                tab.goto(shown.as_uri())
                assert tab.evaluate("document.documentElement.scrollWidth") <= width, name
                tab.screenshot(path=str(tmp_path / f"{name}-{width}.png"), full_page=True)
        browser.close()


def test_times_are_the_plans_local_time(cycle_docs, plan):
    settings, ids, _ = cycle_docs
    run = run_of(settings, plan, ids[CLEAN])
    assert run is not None
    local, utc = local_time(run.run_time, plan.timezone), f"{run.run_time:%Y-%m-%d %H:%M}"

    assert local != utc  # Guatemala is six hours behind UTC
    for html in (page(settings, plan, ids[CLEAN]), index(settings, plan)):
        assert local in visible(html) or f"'run_time': '{local}'" in html
        assert utc not in html and "UTC" not in visible(html)


def test_a_failed_warning_shows_the_warning_sign_and_an_error_the_red_cross(cycle_docs, plan):
    settings, ids, _ = cycle_docs
    warned = page(settings, plan, ids[WARNED])
    rejected = page(settings, plan, ids[CARELESS])

    assert "fa-times text-danger" not in warned
    assert warned.count("fa-exclamation-triangle") == 2  # the overview's status and the row
    assert "fa-times text-danger" in rejected


def test_values_institutions_typed_are_never_translated():
    typed = (
        '<table id="section-7-content-block-2-cell-3-2-content-2-body" class="table-sm">'
        "<thead><tr><th>Count</th></tr></thead>"
        '<tbody><tr><td><div class="show-scrollbars">Status</div></td></tr></tbody></table>'
    )
    html = f"<h4>Overview</h4><div>{typed}</div>"

    shown = in_language(html, "es")

    overview, count = (text("es", f"data_docs.page.{key}") for key in ("overview", "count"))
    assert shown == f"<h4>{overview}</h4><div>{typed.replace('>Count<', f'>{count}<')}</div>"


def test_the_page_names_the_milestone_and_row_of_each_faulty_row(cycle_docs, plan):
    settings, ids, _ = cycle_docs
    rejected = outcome(settings, ids[CARELESS])
    wrong = next(f for f in rejected.findings if f.rule == "completed-requires-100")
    html = page(settings, plan, ids[CARELESS])

    where = text("es", "data_docs.row_where", row=wrong.row)
    assert text("es", "data_docs.row_in_file", milestone=wrong.milestone, where=where) in html
    assert text("es", "data_docs.row") in html


def test_the_kept_result_is_the_submissions_part_of_the_run_behind_its_findings(cycle_docs):
    settings, ids, _ = cycle_docs
    for code in (CARELESS, WARNED, CLEAN):
        found = {f.rule for f in outcome(settings, ids[code]).findings if f.rule in SUITE_RULES}
        with session(settings.database) as db:
            run = db.get(ValidationRun, ids[code])
            assert run is not None
            stored = json.loads(filestore.get(db, run.result))
        failed = {
            r["expectation_config"]["meta"]["rule"] for r in stored["results"] if not r["success"]
        }
        assert failed == found, code
    assert found == set()  # the clean file's


def test_a_file_name_a_sender_chose_is_shown_as_it_is(cycle_docs, plan):
    settings, ids, _ = cycle_docs

    for html in (page(settings, plan, ids[CLEAN]), index(settings, plan)):
        assert "avances $file &amp; co.xlsx" in html
        assert "& co" not in html


def test_a_page_is_made_once_and_kept_in_the_store(cycle_docs, plan):
    settings, ids, _ = cycle_docs
    first = page(settings, plan, ids[WARNED])
    with session(settings.database) as db:
        kept = db.get(ValidationRun, ids[WARNED])
        assert kept is not None and kept.page is not None
        assert filestore.get(db, kept.page).decode() == first

    assert page(settings, plan, ids[WARNED]) == first
    assert run_page(settings, plan, 10**6) is None


def test_the_workspace_copy_opens_offline(cycle_docs):
    _, _, site = cycle_docs
    files = [p for p in site.rglob("*") if p.is_file() and p.suffix in (".html", ".css", ".js")]
    external = []
    for file in files:
        text_ = file.read_text(encoding="utf-8", errors="replace")
        if file.suffix != ".html":
            text_ = re.sub(r"/\*.*?\*/", "", text_, flags=re.S)  # licence banners are not loads
        for url in URL.findall(text_):
            host = urlparse(url).hostname or ""
            if host not in LOCAL_HOSTS and url not in NOT_FETCHED:
                external.append(f"{file.relative_to(site)}: {url}")

    assert len([f for f in files if f.suffix == ".html"]) == 5  # index, rules, three runs
    assert external == []


def test_every_asset_a_page_links_to_is_in_the_workspace_copy(cycle_docs):
    _, _, site = cycle_docs
    missing = []
    html = ""
    for page_file in sorted(site.rglob("*.html")):
        html = page_file.read_text(encoding="utf-8")
        for link in re.findall(r"(?:src|href)=\"([^\"#]+)\"", html):
            if not (page_file.parent / unquote(link)).resolve().exists():
                missing.append(f"{page_file.relative_to(site)}: {link}")
        for link in re.findall(r"'_table_row_link_path': '([^']+)'", html):
            if not (page_file.parent / unquote(link)).exists():
                missing.append(f"{page_file.relative_to(site)}: {link}")
    stylesheets = re.findall(r"<link rel=\"stylesheet\" href=\"([^\"]+)\"", html)

    assert missing == []
    assert any(s.endswith("bootstrap.min.css") for s in stylesheets)


def test_offline_refuses_a_page_that_would_still_load_something_from_the_network():
    html = '<html><head><script src="https://cdn.example.org/new-lib.js"></script></head></html>'

    with pytest.raises(RuntimeError, match=r"cdn\.example\.org"):
        offline(html, depth=0)


def test_offline_refuses_a_page_that_draws_a_chart_without_vendored_vega():
    html = "<div id='g'></div><script>vegaEmbed('#g', spec);</script>"

    with pytest.raises(RuntimeError, match="vega"):
        offline(html, depth=0)


def test_offline_points_cdn_assets_at_the_sites_static_folder():
    html = (
        '<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>'
        '<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>'
        '<footer><p>newsletter <a href="https://greatexpectations.io/newsletter">Go</a></p></footer>'
        '<a href="https://greatexpectations.io">Great Expectations</a>'
    )

    assert offline(html, depth=2) == (
        '<script src="../../static/jquery/jquery.min.js"></script>Great Expectations'
    )


def test_the_index_is_made_again_when_a_new_file_is_validated(settings, plan):
    files = three_files(settings, plan)
    first = intake(settings, plan, {CARELESS: files[CARELESS]}, {})
    before = index(settings, plan)
    second = intake(settings, plan, {CLEAN: files[CLEAN]}, {})

    assert run_name(second[CLEAN]) not in before
    assert run_name(second[CLEAN]) in index(settings, plan)
    assert run_name(first[CARELESS]) in index(settings, plan)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_console_on_another_machine_serves_the_data_docs_any_worker_validated(
    backend, tmp_path, plan, request
):
    """Two workspaces on two folders, one ledger: the worker's intake validates; the console's
    workspace never saw the files, and serves the run page, the index and the assets."""
    from tasks.people.accounts import add_user
    from tests.test_console import PASSWORD, REVIEWER, signed_in

    worker = Settings(home=tmp_path / "worker", plan=SAMPLE_PLAN)
    if backend == "postgresql":
        worker = worker.model_copy(update={"database_url": request.getfixturevalue("postgres_url")})
    console = worker.model_copy(
        update={"home": tmp_path / "console", "database_url": worker.database}
    )
    files = three_files(worker, plan)
    ids = intake(worker, plan, {CARELESS: files[CARELESS]}, {})
    add_user(console, REVIEWER, "reviewer", PASSWORD)
    client = signed_in(console, plan, REVIEWER)

    run = client.get(f"/envios/{ids[CARELESS]}/data-docs")
    docs = client.get(f"/ciclos/{CYCLE}/data-docs")
    assert run.status_code == 200 and docs.status_code == 200
    assert text("es", "data_docs.page.failed") in run.text
    assert f"/envios/{ids[CARELESS]}/data-docs" in docs.text  # its row opens the run page
    links = set(re.findall(r'(?:href|src)="(/[^"]+)"', run.text + docs.text))
    assert any(link.endswith("bootstrap.min.css") for link in links)
    for link in sorted(links):
        assert (link, client.get(link).status_code) == (link, 200)
    assert not (console.home / "data-docs").exists()  # served from the ledger, not a folder
    with session(console.database) as db:
        assert db.scalar(
            select(ValidationRun.page).where(ValidationRun.submission_id == ids[CARELESS])
        )
        assert db.get(DocsFile, (plan.id, CYCLE, INDEX)) is not None


@pytest.mark.slow
def test_the_intake_flow_keeps_each_files_data_docs(prefect_server, settings, plan, monkeypatch):
    from flows.intake import intake as intake_flow
    from tasks.mail.local_server import local_smtp_server
    from tasks.simulation import first_answers

    monkeypatch.setenv("HITOS_HOME", str(settings.home))
    monkeypatch.setenv("HITOS_SMTP_PORT", str(settings.smtp_port))
    inbox, outbox = settings.folder("mail", "inbox"), settings.folder("mail", "outbox")
    with local_smtp_server(inbox, outbox, settings.sender, settings.smtp_port):
        cycle = open_cycle_record(settings, plan, CYCLE, date(2023, 3, 1))
        for institution in plan.reporting_institutions():
            build_request(settings, plan, cycle, institution)
        first_answers(settings, plan, cycle.id)
        outcomes = intake_flow()

    validated = {o.submission_id for o in outcomes if o.outcome != "unreadable"}
    assert len(validated) > 1
    assert {s for s in validated if run_of(settings, plan, s) is not None} == validated
    assert run_name(min(validated)) in index(settings, plan)
