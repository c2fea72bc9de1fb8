"""Great Expectations Data Docs per cycle, written from intake's own suite run, open offline."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from tasks.checks.data_docs import build, offline, site_folder
from tasks.checks.validation import SUITE, SuiteRun
from tasks.cycle.intake import process, store_all
from tasks.cycle.requests import build_request, open_cycle_record
from tasks.mail.local_server import local_smtp_server
from tasks.settings import Settings
from tasks.simulation import CARELESS, corrections, first_answers
from tests.conftest import SAMPLE_PLAN, free_port

SUITE_RULES = {e["meta"]["rule"] for e in json.loads(SUITE.read_text())["expectations"]}
URL = re.compile(r"https?://[^\s\"'<>)\\]+", re.I)
LOCAL_HOSTS = {"localhost", "127.0.0.1"}
#: URLs inside vendored code that no browser fetches: an SVG namespace and an error message.
NOT_FETCHED = {
    "http://www.w3.org/2000/svg": "XML namespace of bootstrap's inline SVG icons",
    "https://popper.js.org/": "named in bootstrap's error message when Popper is missing",
}


@pytest.fixture(scope="module")
def cycle_docs(tmp_path_factory, plan):
    """Two real intake runs of cycle 2023-03 (answers, then MINEDUC's correction) with docs."""
    settings = Settings(
        home=tmp_path_factory.mktemp("docs") / "ws", smtp_port=free_port(), plan=SAMPLE_PLAN
    )
    inbox, outbox = settings.folder("mail", "inbox"), settings.folder("mail", "outbox")
    runs_outcomes = []
    with local_smtp_server(inbox, outbox, settings.sender, settings.smtp_port):
        cycle = open_cycle_record(settings, plan, "2023-03")
        for institution in plan.reporting_institutions():
            build_request(settings, plan, cycle, institution)
        for answer in (first_answers, corrections):
            answer(settings, plan, cycle.id)
            store_all(settings)
            runs: list[SuiteRun] = []
            outcomes = process(settings, plan, runs=runs)
            indexes = build(settings, runs, outcomes)
            runs_outcomes.append((runs, outcomes, indexes))
    return settings, runs_outcomes


def pages(site: Path) -> list[Path]:
    return sorted((site / "validations").rglob("*.html"))


def test_each_intake_run_files_its_page_in_the_cycles_data_docs(cycle_docs):
    settings, runs_outcomes = cycle_docs
    site = site_folder(settings, "2023-03")
    index = (site / "index.html").read_text(encoding="utf-8")

    assert [indexes for _, _, indexes in runs_outcomes] == [[site / "index.html"]] * 2
    assert len(pages(site)) == 2
    for page in pages(site):
        assert page.relative_to(site).as_posix() in unquote(index)
        assert page.with_suffix(".json").exists()
    assert (site / "expectations" / "hitos_entrega.html").exists()
    assert "hitos_entrega" in index and "Hitos · ciclo 2023-03" in index


def test_the_page_is_the_run_that_produced_the_findings(cycle_docs):
    settings, runs_outcomes = cycle_docs
    runs, outcomes, _ = runs_outcomes[0]
    page = next(p for p in pages(site_folder(settings, "2023-03")) if "envios-1-" in str(p))
    result = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
    failed_rules = {
        r["expectation_config"]["meta"]["rule"] for r in result["results"] if not r["success"]
    }
    found_rules = {f.rule for o in outcomes for f in o.findings if f.rule in SUITE_RULES}

    assert len(runs) == 1
    assert found_rules and failed_rules == found_rules
    assert result["statistics"] == runs[0].result.to_json_dict()["statistics"]


def test_the_page_names_the_submission_institution_and_milestone_of_each_faulty_row(cycle_docs):
    settings, runs_outcomes = cycle_docs
    _, outcomes, _ = runs_outcomes[0]
    rejected = next(o for o in outcomes if o.institution == CARELESS)
    wrong = next(f for f in rejected.findings if f.rule == "completed-requires-100")
    page = next(p for p in pages(site_folder(settings, "2023-03")) if "envios-1-" in str(p))
    html = page.read_text(encoding="utf-8")

    label = f"envío {rejected.submission_id} · {CARELESS} {wrong.milestone} (fila {wrong.row})"
    assert rejected.outcome == "rejected"
    assert label in html


def test_data_docs_load_nothing_from_the_network(cycle_docs):
    settings, _ = cycle_docs
    site = site_folder(settings, "2023-03")
    files = [p for p in site.rglob("*") if p.is_file() and p.suffix in (".html", ".css", ".js")]
    external = []
    for file in files:
        text = file.read_text(encoding="utf-8", errors="replace")
        if file.suffix != ".html":
            text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)  # licence banners are not loads
        for url in URL.findall(text):
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

    monkeypatch.setenv("HITOS_HOME", str(settings.home))
    monkeypatch.setenv("HITOS_SMTP_PORT", str(settings.smtp_port))
    inbox, outbox = settings.folder("mail", "inbox"), settings.folder("mail", "outbox")
    with local_smtp_server(inbox, outbox, settings.sender, settings.smtp_port):
        cycle = open_cycle_record(settings, plan, "2023-03")
        for institution in plan.reporting_institutions():
            build_request(settings, plan, cycle, institution)
        first_answers(settings, plan, cycle.id)
        outcomes = intake()

    site = site_folder(settings, "2023-03")
    assert outcomes
    assert (site / "index.html").exists()
    assert [p.parent.parent.name for p in pages(site)] == [
        "envios-" + f"{outcomes[0].submission_id}-{outcomes[-1].submission_id}"
    ]
