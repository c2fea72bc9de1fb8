"""Great Expectations Data Docs per cycle, written by intake's checkpoint, open offline.

Three real workbooks go through intake one run each: one with errors, one whose only problem is
a warning, one clean. The site is what the checkpoint's ``UpdateDataDocsAction`` built, then
made to open offline.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from io import BytesIO
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from openpyxl import load_workbook

from tasks.catalogues import text
from tasks.checks import data_docs
from tasks.checks.data_docs import offline, results_folder, site_folder
from tasks.checks.validation import SUITE, SUITE_NAME
from tasks.cycle.intake import outcome_of, process, store
from tasks.cycle.requests import build_request, open_cycle_record
from tasks.mail.inbox import Attachment, Received
from tasks.settings import Settings
from tasks.simulation import CARELESS, filled_workbook
from tasks.workbooks import contract
from tasks.workbooks.layout import header
from tests.conftest import SAMPLE_PLAN

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
RAW_NAMES += ["avance_pct", "codigo_hito", "evidencia_url", "descripcion_avance"]
CLEAN, WARNED = "MINGOB", "GAE"


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


def submit(settings: Settings, plan, institution: str, data: bytes) -> int:
    """One file through intake alone (its own checkpoint run, with Data Docs); its id."""
    received = Received(
        message_id=f"test:{hashlib.sha256(data).hexdigest()}",
        channel="cli",
        sender="",
        attachments=[Attachment(f"avances-{institution}.xlsx", data)],
    )
    store(settings, [received], institution=institution, cycle_id="2023-03")
    process(settings, plan, with_docs=True)
    return outcome_of(settings, hashlib.sha256(data).hexdigest()).submission_id


@pytest.fixture(scope="module")
def cycle_docs(tmp_path_factory, plan):
    """Cycle 2023-03 after three intake runs: errors (MINEDUC), warnings only (GAE), clean."""
    settings = Settings(home=tmp_path_factory.mktemp("docs") / "ws", plan=SAMPLE_PLAN)
    cycle = open_cycle_record(settings, plan, "2023-03", date(2023, 3, 1))
    requests = {
        code: build_request(settings, plan, cycle, plan.institution(code))
        for code in (CARELESS, WARNED, CLEAN)
    }
    overdue = next(m.code for m in plan.milestones_of(WARNED) if m.end < cycle.deadline)
    files = {
        CARELESS: filled_workbook(requests[CARELESS], CARELESS, careless=True),
        WARNED: answered(requests[WARNED], overdue_started=overdue),
        CLEAN: answered(requests[CLEAN]),
    }
    ids = {code: submit(settings, plan, code, data) for code, data in files.items()}
    return settings, ids


def run_page(settings: Settings, submission_id: int) -> Path:
    """The page the console links for a submission (``data_docs.run_page``); it exists."""
    page = data_docs.run_page(settings, submission_id)
    assert page is not None, submission_id
    return page


def outcome(settings, submission_id: int):
    from tasks.storage.ledger import Submission, session

    with session(settings.database) as db:
        sub = db.get(Submission, submission_id)
        assert sub is not None
        return outcome_of(settings, sub.sha256)


def pages(site: Path) -> list[Path]:
    return sorted((site / "validations").rglob("*.html"))


def visible(html: str) -> str:
    """The page's text as a reader sees it: no tags, scripts or styles."""
    html = re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S | re.I)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def status(page: Path) -> str:
    """The Status line of a validation page's overview."""
    label, after = (text("es", f"data_docs.page.{key}") for key in ("status_colon", "statistics"))
    found = rf"{re.escape(label)}\s*(.*?)\s*(?:{re.escape(after)}|$)"
    match = re.search(found, visible(page.read_text("utf-8")))
    assert match, page
    return match.group(1).strip()


def test_each_submission_links_to_its_runs_pages_in_the_cycles_site(cycle_docs):
    settings, ids = cycle_docs
    site = site_folder(settings, "2023-03")
    index = unquote((site / "index.html").read_text(encoding="utf-8"))

    assert len(pages(site)) == 3  # one run each
    for submission_id in ids.values():
        page = run_page(settings, submission_id)
        assert page.exists()
        assert page.relative_to(site).parts[:2] == ("validations", SUITE_NAME)
        assert f"envios-{submission_id}" in page.as_posix()
        assert page.relative_to(site).as_posix() in index
    assert (site / "expectations" / f"{SUITE_NAME}.html").exists()
    assert text("es", "data_docs.site", cycle=f"{settings.plan_id}/2023-03") in index
    assert data_docs.run_page(settings, 10**6) is None


def index_rows(settings) -> dict[str, str]:
    """Run name → the Status of its row in the index (the text its filter selects by)."""
    html = (site_folder(settings, "2023-03") / "index.html").read_text(encoding="utf-8")
    rows = re.findall(r"'run_name': '([^']+)'.*?'_validation_success_text': '([^']+)'", html)
    return dict(rows)


def test_a_file_with_errors_is_a_failed_run(cycle_docs):
    settings, ids = cycle_docs
    page = run_page(settings, ids[CARELESS])

    assert outcome(settings, ids[CARELESS]).outcome == "rejected"
    assert status(page) == text("es", "data_docs.page.failed")
    assert index_rows(settings)[f"envios-{ids[CARELESS]}"] == text("es", "data_docs.page.failed")


def test_a_file_with_only_warnings_is_not_shown_as_failed(cycle_docs):
    settings, ids = cycle_docs
    page = run_page(settings, ids[WARNED])
    with_warnings = text("es", "data_docs.with_warnings")

    assert outcome(settings, ids[WARNED]).outcome == "accepted_with_warnings"
    assert status(page) == with_warnings
    assert "fa-exclamation-triangle" in page.read_text(encoding="utf-8")
    assert index_rows(settings)[f"envios-{ids[WARNED]}"] == with_warnings


def test_a_clean_file_is_a_successful_run(cycle_docs):
    settings, ids = cycle_docs
    page = run_page(settings, ids[CLEAN])

    assert outcome(settings, ids[CLEAN]).outcome == "accepted"
    succeeded = text("es", "data_docs.page.succeeded")
    assert status(page) == succeeded
    assert index_rows(settings)[f"envios-{ids[CLEAN]}"] == succeeded


def test_pages_name_rules_and_columns_by_their_contract_labels(cycle_docs):
    settings, ids = cycle_docs
    site = site_folder(settings, "2023-03")
    shown = {
        page.relative_to(site).as_posix(): visible(page.read_text(encoding="utf-8"))
        for page in [*pages(site), *(site / "expectations").glob("*.html")]
    }
    rejected = shown[run_page(settings, ids[CARELESS]).relative_to(site).as_posix()]

    for key in (contract.CODE, contract.STATE, contract.PROGRESS, "evidencia_url"):
        assert contract.BY_KEY[key].label("es") in rejected
    for rule in SUITE_RULES:
        assert text("es", f"data_docs.rules.{rule}") in shown[f"expectations/{SUITE_NAME}.html"]
    assert text("es", "data_docs.rules.completed-requires-100") in rejected
    leaks = {name: raw for name, page in shown.items() for raw in RAW_NAMES if raw in page}
    assert leaks == {}


def test_great_expectations_own_words_read_in_the_sites_language(cycle_docs):
    settings, ids = cycle_docs
    site = site_folder(settings, "2023-03")
    run = visible(run_page(settings, ids[CARELESS]).read_text(encoding="utf-8"))
    index = (site / "index.html").read_text(encoding="utf-8")

    words = ("Table of Contents", "Overview", "Unexpected Value", "Table-Level Expectations")
    for english in words:
        assert english not in run
        assert text("es", f"data_docs.page.{data_docs.GE_WORDS[english]}") in run
    assert "unexpected" not in run and "total rows" not in run
    assert "'title': 'Run Time'" not in index
    assert f"'title': '{text('es', 'data_docs.page.run_time')}'" in index


def test_a_failed_warning_shows_the_warning_sign_and_an_error_the_red_cross(cycle_docs):
    settings, ids = cycle_docs
    warned = run_page(settings, ids[WARNED]).read_text(encoding="utf-8")
    rejected = run_page(settings, ids[CARELESS]).read_text(encoding="utf-8")

    assert "fa-times text-danger" not in warned
    assert warned.count("fa-exclamation-triangle") == 2  # the overview's status and the row
    assert "fa-times text-danger" in rejected


def test_values_institutions_typed_are_never_translated():
    typed = (
        '<table id="section-7-content-block-2-cell-3-2-content-2-body" class="table-sm">'
        "<thead><tr><th>Count</th></tr></thead>"
        '<tbody><tr><td><div class="show-scrollbars">Status</div></td></tr></tbody></table>'
    )
    page = f"<h4>Overview</h4><div>{typed}</div>"

    shown = data_docs.in_language(page, "es")

    overview, count = (text("es", f"data_docs.page.{key}") for key in ("overview", "count"))
    assert shown == f"<h4>{overview}</h4><div>{typed.replace('>Count<', f'>{count}<')}</div>"


def test_the_page_names_the_submission_institution_and_milestone_of_each_faulty_row(cycle_docs):
    settings, ids = cycle_docs
    rejected = outcome(settings, ids[CARELESS])
    wrong = next(f for f in rejected.findings if f.rule == "completed-requires-100")
    html = run_page(settings, ids[CARELESS]).read_text(encoding="utf-8")

    label = f"envío {ids[CARELESS]} · {CARELESS} {wrong.milestone} (fila {wrong.row})"
    assert label in html
    assert text("es", "data_docs.row") in html


def test_the_stored_results_are_the_run_that_produced_the_findings(cycle_docs):
    settings, ids = cycle_docs
    rejected = outcome(settings, ids[CARELESS])
    page = run_page(settings, ids[CARELESS])
    site = site_folder(settings, "2023-03")
    relative = page.relative_to(site / "validations").with_suffix(".json")
    stored = json.loads((results_folder(settings, "2023-03") / relative).read_text())
    failed = {
        r["expectation_config"]["meta"]["rule"] for r in stored["results"] if not r["success"]
    }
    found = {f.rule for f in rejected.findings if f.rule in SUITE_RULES}

    assert found and failed == found


def test_data_docs_load_nothing_from_the_network(cycle_docs):
    settings, _ = cycle_docs
    site = site_folder(settings, "2023-03")
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

    assert len(files) > 10
    assert external == []


def test_every_asset_a_page_links_to_is_in_the_site(cycle_docs):
    settings, _ = cycle_docs
    site = site_folder(settings, "2023-03")
    missing = []
    for page in [site / "index.html", *site.glob("expectations/*.html"), *pages(site)]:
        html = page.read_text(encoding="utf-8")
        for link in re.findall(r"(?:src|href)=\"([^\"#]+)\"", html):
            if not (page.parent / unquote(link)).resolve().exists():
                missing.append(f"{page.relative_to(site)}: {link}")
    stylesheets = re.findall(r"<link rel=\"stylesheet\" href=\"([^\"]+)\"", html)

    assert missing == []
    assert any(s.endswith("bootstrap.min.css") for s in stylesheets)


def test_offline_refuses_a_page_that_would_still_load_something_from_the_network():
    page = '<html><head><script src="https://cdn.example.org/new-lib.js"></script></head></html>'

    with pytest.raises(RuntimeError, match=r"cdn\.example\.org"):
        offline(page, depth=0)


def test_offline_refuses_a_page_that_draws_a_chart_without_vendored_vega():
    page = "<div id='g'></div><script>vegaEmbed('#g', spec);</script>"

    with pytest.raises(RuntimeError, match="vega"):
        offline(page, depth=0)


def test_offline_points_cdn_assets_at_the_sites_static_folder():
    page = (
        '<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>'
        '<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>'
        '<footer><p>newsletter <a href="https://greatexpectations.io/newsletter">Go</a></p></footer>'
        '<a href="https://greatexpectations.io">Great Expectations</a>'
    )

    assert offline(page, depth=2) == (
        '<script src="../../static/jquery/jquery.min.js"></script>Great Expectations'
    )


@pytest.mark.slow
def test_the_intake_flow_writes_the_cycles_data_docs(prefect_server, settings, plan, monkeypatch):
    from flows.intake import intake
    from tasks.mail.local_server import local_smtp_server
    from tasks.simulation import first_answers

    monkeypatch.setenv("HITOS_HOME", str(settings.home))
    monkeypatch.setenv("HITOS_SMTP_PORT", str(settings.smtp_port))
    inbox, outbox = settings.folder("mail", "inbox"), settings.folder("mail", "outbox")
    with local_smtp_server(inbox, outbox, settings.sender, settings.smtp_port):
        cycle = open_cycle_record(settings, plan, "2023-03", date(2023, 3, 1))
        for institution in plan.reporting_institutions():
            build_request(settings, plan, cycle, institution)
        first_answers(settings, plan, cycle.id)
        outcomes = intake()

    site = site_folder(settings, "2023-03")
    assert outcomes
    assert (site / "index.html").exists()
    assert {p.parent.parent.name for p in pages(site)} == {
        f"envios-{outcomes[0].submission_id}-{outcomes[-1].submission_id}"
    }
    assert all(run_page(settings, o.submission_id).exists() for o in outcomes)
