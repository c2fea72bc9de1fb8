"""The published files: HTML page, PDF, CSV and XLSX, on the ledger of test_consolidation.

Every figure the files show is worked out by hand in test_consolidation's module docstring.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import threading
import zipfile
from dataclasses import replace
from datetime import date, datetime
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from tasks import catalogues
from tasks.core.states import ReportState
from tasks.mail.outgoing import send_all
from tasks.plans.plan import Plan
from tasks.publication import report
from tasks.publication.approval import publish_draft
from tasks.publication.consolidation import (
    PUBLISHED_COLUMNS,
    consolidated_table,
    institution_figures,
    report_figures,
)
from tasks.publication.notices import report_email
from tasks.publication.publishing import Publication, summary_markdown
from tasks.publication.publishing import consolidate as publish_cycle
from tasks.publication.report import data_dictionary, neutralise, print_pdf, write_report
from tasks.publication.report.xlsx import write_xlsx
from tasks.settings import Settings
from tasks.storage.ledger import Report, session
from tests.test_consolidation import (
    CURRENT,
    INJECTED_FORMULA,
    INJECTED_MARKUP,
    PLAN,
    PREVIOUS,
    Ledger,
    build_ledger,
    record_report,
)

MADE_ON = date(2023, 3, 27)


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    """One ledger for the module: the tests only read it (a PDF takes a second to print).
    Its 2022-08 cycle was published (version 1), so 2023-03's report compares with it."""
    built = build_ledger(tmp_path_factory.mktemp("ledger"))
    record_report(built, PREVIOUS, 1, ReportState.PUBLISHED)
    return built


def publish(
    ledger: Ledger, folder: Path, version: int = 1, cycle_id: str = CURRENT, language: str = "es"
) -> dict[str, Path]:
    """Consolidate a cycle from the ledger and write the report, dated 27 March 2023."""
    cycle = ledger.cycle(cycle_id)
    with session(ledger.url) as db:
        table = consolidated_table(db, ledger.plan, cycle)
        institutions = institution_figures(db, ledger.plan, cycle)
        result = report_figures(db, ledger.plan, cycle, table, institutions)
    return write_report(ledger.plan, cycle, table, result, folder, version, language, MADE_ON)


@pytest.fixture(scope="module")
def written(ledger: Ledger, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return publish(ledger, tmp_path_factory.mktemp("reports"))


@pytest.fixture(scope="module")
def page(written: dict[str, Path]) -> str:
    return written["html"].read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def pdf_pages(written: dict[str, Path]) -> list[str]:
    """The text of each page of the PDF."""
    return [p.extract_text() for p in PdfReader(written["pdf"]).pages]


def section(page: str, title: str) -> str:
    """The HTML of the page's section headed ``title``."""
    found = re.search(rf"<h2>{title}</h2>(.*?)</section>", page, re.DOTALL)
    assert found, title
    return found.group(1)


def cell_texts(html: str) -> list[list[str]]:
    """Body rows of the first table in ``html``, each cell as its text without tags."""
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.DOTALL)
    assert body
    rows = re.findall(r"<tr>(.*?)</tr>", body.group(1), re.DOTALL)
    return [
        [
            re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c)).strip()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.DOTALL)
        ]
        for r in rows
    ]


def csv_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


class UrlAttributes(HTMLParser):
    """Every (tag, attribute, value) whose value names an http(s) address."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and re.search(r"https?:", value, re.IGNORECASE):
                self.found.append((tag, name, value))

    handle_startendtag = handle_starttag


def test_writes_versioned_files_and_copies_them_to_a_stable_latest_folder(ledger, tmp_path):
    folder = tmp_path / "reports"
    paths = publish(ledger, folder, version=3)

    stem = "gt-prueba-2023-03"
    for kind in ("html", "pdf", "csv", "xlsx"):
        assert paths[kind] == folder / "v3" / f"{stem}.{kind}"
        assert paths[f"latest_{kind}"] == folder / "latest" / f"{stem}.{kind}"
        assert paths[kind].read_bytes() == paths[f"latest_{kind}"].read_bytes()


def test_csv_is_byte_identical_for_the_same_ledger(ledger, tmp_path):
    first = publish(ledger, tmp_path / "a", version=1)["csv"].read_bytes()
    second = publish(ledger, tmp_path / "b", version=2)["csv"].read_bytes()

    assert first == second
    assert not first.startswith(b"\xef\xbb\xbf")  # UTF-8 without BOM
    assert b"\r\n" not in first


def test_csv_has_one_row_per_milestone_with_the_table_columns(written):
    rows = csv_rows(written["csv"])

    assert list(rows[0]) == PUBLISHED_COLUMNS
    assert [r["codigo_hito"] for r in rows] == ["1.1", "1.2", "1.3", "2.1", "2.2", "2.3", "2.10"]
    first = rows[0]
    assert (first["estado"], first["avance_pct"], first["cambio_pct"]) == (
        "Completado",
        "100",
        "50",
    )
    never = rows[4]
    assert (never["fuente"], never["avance_pct"], never["envio"]) == ("sin_datos", "", "")


def test_csv_writes_booleans_as_true_false_and_dates_as_iso(written):
    rows = {r["codigo_hito"]: r for r in csv_rows(written["csv"])}

    assert {r["vencido"] for r in rows.values()} == {"true", "false"}
    assert rows["1.3"]["vencido"] == "true"
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["fecha_fin"]) for r in rows.values())


def test_xlsx_stores_dates_as_real_dates(written):
    workbook = load_workbook(written["xlsx"])
    header = [c.value for c in workbook["Hitos"][1]]
    first = workbook["Hitos"][2]
    start = first[header.index("Fecha inicio")]
    summary = dict(workbook["Resumen"].iter_rows(min_row=2, values_only=True))

    assert isinstance(start.value, datetime) and start.number_format == "DD/MM/YYYY"
    assert summary["Fecha límite"].date() == date(2023, 3, 24)
    assert summary["Fecha de esta versión"].date() == MADE_ON


def test_neutralise_prefixes_only_text_that_a_spreadsheet_would_evaluate():
    for text in ("=1+1", "+34", "-2", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise(text) == "'" + text
    assert neutralise("Avance normal = bueno") == "Avance normal = bueno"
    assert neutralise(-2.0) == -2.0


def test_csv_neutralises_a_formula_written_by_an_institution(written):
    rows = {r["codigo_hito"]: r for r in csv_rows(written["csv"])}

    assert rows["1.2"]["observaciones"] == "'" + INJECTED_FORMULA


def test_xlsx_stores_institution_formulas_as_text(written):
    workbook = load_workbook(written["xlsx"])
    milestones = workbook["Hitos"]
    header = [c.value for c in milestones[1]]
    row = next(
        r for r in milestones.iter_rows(min_row=2) if r[header.index("Código hito")].value == "1.2"
    )
    cell = row[header.index("Observaciones")]

    assert cell.value == "'" + INJECTED_FORMULA
    assert cell.data_type == "s"
    formulas = [c for s in workbook for r in s.iter_rows() for c in r if c.data_type == "f"]
    assert formulas == []


def test_xlsx_has_formatted_sheets_and_the_data_dictionary(written):
    workbook = load_workbook(written["xlsx"])

    assert workbook.sheetnames == [
        "Resumen",
        "Gráficos",
        "Compromisos",
        "Hitos",
        "Instituciones",
        "Diccionario",
    ]
    for sheet in workbook:
        if sheet.title != "Gráficos":
            assert sheet.freeze_panes == "A2"
            assert all(cell.font.bold for cell in sheet[1])
        assert sheet.column_dimensions["A"].width > 0
    dictionary = list(workbook["Diccionario"].iter_rows(min_row=2, values_only=True))
    assert [(key, meaning) for key, _, meaning in dictionary] == data_dictionary("es")
    assert [key for key, _, _ in dictionary] == PUBLISHED_COLUMNS
    # each stable CSV key beside the header people read in the Hitos sheet
    assert [label for _, label, _ in dictionary] == [c.value for c in workbook["Hitos"][1]]
    commitments = list(workbook["Compromisos"].iter_rows(values_only=True))
    assert commitments[1][7] == 56.67  # C01: (100 + 30 + 40) / 3
    assert workbook["Hitos"].max_row == 1 + 7


def test_page_escapes_markup_written_by_an_institution(page):
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert INJECTED_MARKUP.split("</script> ")[1] in page


def test_page_links_only_to_http_evidence_and_loads_nothing_external(page):
    parser = UrlAttributes()
    parser.feed(page)

    # Only anchors carry addresses, and only the institutions' http(s) evidence.
    assert sorted(parser.found) == [
        ("a", "href", "https://mingob.example/1.1"),
        ("a", "href", "https://mingob.example/evidencia?a=1&b=2"),
        ("a", "href", "https://segeplan.example/1.3"),
    ]
    assert "javascript:alert(1)" in page  # shown as text, not as a link
    assert 'href="javascript' not in page
    style = "".join(re.findall(r"<style[^>]*>(.*?)</style>", page, re.DOTALL))
    assert "url(" not in style
    assert "@import" not in style
    for loader in ("<script", "<link", "<img", "<iframe", "<object", "<embed", " src="):
        assert loader not in page
    assert "<svg" in page


def test_page_is_in_spanish_and_readable_without_colour(page):
    assert '<html lang="es">' in page
    for label in ("Completado", "Iniciado", "No iniciado", "Sin datos", "Reportado en este ciclo"):
        assert f">{label}<" in page
    assert '<span class="vencido">Vencido</span>' in page
    assert "+50 p. p." in page
    assert "56,67 %" in page
    assert "@media print" in page


def test_english_page_is_the_same_template_with_english_words_and_numbers(ledger, tmp_path):
    page = publish(ledger, tmp_path, language="en")["html"].read_text(encoding="utf-8")

    assert '<html lang="en">' in page
    assert "<h2>Progress by commitment</h2>" in page
    assert '<span class="vencido">Overdue</span>' in page
    assert "+50 pp" in page and "56.67%" in page
    # every Spanish word of the page's catalogue, as a whole cell or heading, is gone
    spanish = {
        value
        for key, value in catalogues.messages("es").items()
        if key.startswith("report_page.") and isinstance(value, str) and "{" not in value
    }
    assert [word for word in spanish if f">{word}<" in page] == []


def test_page_states_the_formula_the_version_and_its_date(page):
    assert "suma del avance (%) de sus hitos ÷ número de hitos" in page
    assert "versión 1 del informe, del lunes 27 de marzo de 2023" in page
    assert "Versión 1 del informe del ciclo de marzo 2023, preparada el lunes 27 de marzo" in page
    assert "Tarde" in page and "A tiempo" in page and "Sin entregar" in page


def test_page_says_where_each_value_comes_from_without_internal_ids(page):
    milestones = {row[0]: row for row in cell_texts(section(page, "Hitos"))}

    assert milestones["1.1"][6] == "Reportado en este ciclo"
    assert milestones["1.3"][6] == "Último conocido, de agosto 2022"  # SEGEPLAN's 2022-08 file
    assert milestones["2.2"][6] == "Sin datos"
    institutions = {row[0]: row[-1] for row in cell_texts(section(page, "Instituciones"))}
    assert institutions == {
        "MINGOB": "Reportados en este ciclo",
        "SEGEPLAN": "Últimos conocidos, de agosto 2022",
        "MSPAS": "Sin datos",
        "SAT": "Reportados en este ciclo",
    }
    assert "n.º" not in page and "envío n" not in page.lower()  # no submission number


def test_page_names_the_time_zone_as_people_do_and_keeps_spreadsheet_advice_out(page):
    assert "(hora de Guatemala)" in page
    assert "America/Guatemala" not in page
    # Formula injection is the data users' concern: said in the data dictionary, not here.
    assert "apóstrofo" not in page and "hoja de cálculo" not in page


def test_data_dictionary_tells_data_users_about_the_apostrophe():
    dictionary = dict(data_dictionary("es"))
    assert "lleva delante un apóstrofo (')" in dictionary["descripcion_avance"]
    assert "apóstrofo" in dictionary["observaciones"] and "apóstrofo" in dictionary["evidencia_url"]


def test_page_gives_the_change_since_the_previous_published_cycle(page):
    summary = section(page, "Resumen")
    # 2022-08 was published with nothing completed: 0,00 % → 28,57 %.
    assert "+28,57 p. p. desde agosto 2022 (0,00 %)" in summary
    cycles = cell_texts(section(page, "Avance a lo largo del plan"))
    assert cycles == [
        ["2022-08", "1", "0", "2", "2", "3", "0,00 %"],
        ["2023-03 (este informe)", "1", "2", "2", "1", "2", "28,57 %"],
    ]
    assert '<title id="cycles-title">Hitos por estado en cada ciclo</title>' in page


def test_published_files_never_include_contacts(written):
    workbook = load_workbook(written["xlsx"])
    cells = " ".join(str(c) for s in workbook for r in s.iter_rows(values_only=True) for c in r)
    pdf = " ".join(p.extract_text() for p in PdfReader(written["pdf"]).pages)
    texts = [
        written["html"].read_text(encoding="utf-8"),
        written["csv"].read_text("utf-8"),
        cells,
        pdf,
    ]

    contacts = [PLAN["coordinator"]["director"]]
    contacts += [i[role] for i in PLAN["institutions"] for role in ("liaison", "head")]
    for text in texts:
        for contact in contacts:
            assert contact["name"] not in text
            assert contact["email"] not in text


def test_page_shows_the_hand_computed_figures(page):
    summary = section(page, "Resumen")
    assert "<strong>28,57 %</strong> de los 7 hitos completados" in summary  # 2 of 7
    for count, label in [(1, "No iniciado"), (2, "Iniciado"), (2, "Completado"), (2, "Sin datos")]:
        assert f"<strong>{count}</strong> {label}" in summary
    assert "<strong>2</strong> vencidos" in summary  # 1.3 and 2.2
    assert "<strong>2</strong> con cambio de avance" in summary  # 1.1 and 1.2

    # 2022-08: C01 (50 + 0 + 40) / 3 = 30; C02 (0 + 0 + 0 + 0) / 4 = 0, with 2.1 reported at 0.
    assert cell_texts(section(page, "Avance por compromiso")) == [
        ["C01", "GT0101", "Transparencia en seguridad", "0", "2", "1", "0", "56,67 %", "30,00 %",
         "+26,67 p. p."],
        ["C02", "GT0102", "Datos abiertos", "1", "0", "1", "2", "25,00 %", "0,00 %",
         "+25,00 p. p."],
    ]  # fmt: skip
    assert [row[:7] for row in cell_texts(section(page, "Instituciones"))] == [
        ["MINGOB", "Ministerio de Gobernación", "2", "A tiempo", "3", "1", "—"],
        ["SEGEPLAN", "Secretaría de Planificación", "2", "Sin entregar", "1", "1", "—"],
        ["MSPAS", "Ministerio de Salud", "2", "Sin entregar", "0", "0", "—"],
        ["SAT", "Superintendencia de Administración Tributaria", "1", "Tarde", "2", "1", "—"],
    ]


def test_page_lists_the_changes_since_the_previous_cycle_largest_first(page):
    # 1.1: 50 → 100; 1.2: 0 → 30. 1.3 and 2.1 (carried over) did not move; 2.3 has no previous.
    assert cell_texts(section(page, "Cambios desde el ciclo anterior")) == [
        ["1.1", "MINGOB", "Publicar datos.", "Completado", "50 %", "100 %", "+50 p. p."],
        ["1.2", "MINGOB", "Abrir consultas.", "Iniciado", "0 %", "30 %", "+30 p. p."],
    ]


def test_page_of_a_first_cycle_says_there_is_nothing_to_compare(ledger, tmp_path):
    first = publish(ledger, tmp_path / "first", cycle_id=PREVIOUS)["html"].read_text("utf-8")

    assert "no hay con qué comparar" in section(first, "Cambios desde el ciclo anterior")


# A plan with a third commitment, sample data, whose only milestone is MSPAS's: never reported.
SILENT_PLAN = {
    **PLAN,
    "commitments": [
        *PLAN["commitments"],
        {
            "number": 3,
            "ogp_id": "GT0103",
            "title": "Salud abierta",
            "leads": ["MSPAS"],
            "sample": True,
            "milestones": [
                {
                    "code": "3.1",
                    "institution": "MSPAS",
                    "description": "Abrir datos de salud.",
                    "start": "2022-01-01",
                    "end": "2024-12-31",
                }
            ],
        },
    ],
}


@pytest.fixture(scope="module")
def silent(ledger: Ledger, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The report of the plan with C03, a commitment nobody ever reported on."""
    plan = Plan.model_validate(SILENT_PLAN)
    return publish(replace(ledger, plan=plan), tmp_path_factory.mktemp("silent"))


def test_a_commitment_without_data_reads_sin_datos_never_zero(silent):
    page = silent["html"].read_text(encoding="utf-8")
    rows = cell_texts(section(page, "Avance por compromiso"))

    assert rows[2][:8] == ["C03", "GT0103", "Salud abierta", "0", "0", "0", "1", "Sin datos"]
    chart = re.search(r"<svg class=\"chart\".*?</svg>", page, re.DOTALL)
    assert chart
    c03 = re.search(r"<g>\s*<title>C03 .*?</g>", chart.group(0), re.DOTALL)
    assert c03 and "Salud abierta: Sin datos" in c03.group(0)
    assert "0,00 %" not in c03.group(0) and "sin datos" in c03.group(0)
    workbook = load_workbook(silent["xlsx"])
    commitments = {r[0]: r for r in workbook["Compromisos"].iter_rows(min_row=2, values_only=True)}
    assert commitments["C03"][7] == "Sin datos"
    assert workbook["Compromisos"]["H4"].font.italic
    charted = {r[0]: r[1] for r in workbook["Gráficos"].iter_rows(values_only=True) if r and r[0]}
    assert "C03 (sin datos)" in charted and charted["C03 (sin datos)"] is None  # no bar, not 0
    assert charted["C01"] == 56.67


def test_a_plan_with_sample_data_says_so(silent, page):
    sampled = silent["html"].read_text(encoding="utf-8")

    assert "<b>Datos de ejemplo.</b> Los compromisos C03 contienen datos de ejemplo" in sampled
    summary = dict(load_workbook(silent["xlsx"])["Resumen"].iter_rows(min_row=2, values_only=True))
    assert summary["Datos de ejemplo"].startswith("Datos de ejemplo. Los compromisos C03")
    assert "Datos de ejemplo" not in page  # the test plan itself holds no sample data


def test_xlsx_has_charts_of_the_cycles_and_of_each_commitment(written):
    with zipfile.ZipFile(written["xlsx"]) as package:
        charts = sorted(n for n in package.namelist() if n.startswith("xl/charts/chart"))
        xml = [package.read(name).decode() for name in charts]

    assert len(charts) == 2
    states, commitments = xml
    assert "Hitos por estado en cada ciclo" in states and 'grouping val="stacked"' in states
    assert "'Gráficos'!$A$3:$A$4" in states  # 2022-08 and 2023-03
    assert "Avance por compromiso (%)" in commitments
    rows = list(load_workbook(written["xlsx"])["Gráficos"].iter_rows(values_only=True))
    header = next(r for r in rows if r[0] == "Compromiso")
    assert header[1:3] == ("Avance en marzo 2023 (%)", "Avance en agosto 2022 (%)")
    assert "$B$" in commitments and "$C$" in commitments  # this cycle's bars and the previous


def test_xlsx_prints_one_page_wide_with_its_header_row_on_every_page(written):
    workbook = load_workbook(written["xlsx"])

    for sheet in workbook:
        setup = sheet.page_setup
        assert (setup.orientation, setup.paperSize, setup.fitToWidth) == ("landscape", 9, 1)
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert sheet.print_area
        if sheet.title != "Gráficos":
            assert sheet.print_title_rows.replace("$", "") == "1:1"
            assert setup.fitToHeight == 0


def test_xlsx_wraps_long_text_in_rows_tall_enough_and_keeps_cells_at_the_top(written):
    milestones = load_workbook(written["xlsx"])["Hitos"]
    header = [c.value for c in milestones[1]]
    row = 3  # 1.2, whose description is an institution's long sentence
    description = milestones.cell(row, header.index("Descripción del avance") + 1)
    code = milestones.cell(row, header.index("Código hito") + 1)

    assert code.value == "1.2"
    assert description.alignment.wrap_text and description.alignment.vertical == "top"
    assert milestones.row_dimensions[row].height >= 30  # two lines or more
    assert code.alignment.vertical == "top"  # the workbook's default cell format
    assert milestones.row_dimensions[row].alignment.vertical == "top"  # LibreOffice's


def test_xlsx_headers_are_in_the_language_and_the_csv_keeps_its_keys(ledger, tmp_path):
    english = publish(ledger, tmp_path, language="en")
    workbook = load_workbook(english["xlsx"])

    assert workbook.sheetnames[:2] == ["Summary", "Charts"]
    header = [c.value for c in workbook["Milestones"][1]]
    assert header[:6] == ["Cycle", "Commitment code", "OGP id", "Commitment", "Milestone code",
                          "Milestone"]  # fmt: skip
    assert "Progress %" in header and "Change (pp)" in header
    overdue = {r[4]: r[13] for r in workbook["Milestones"].iter_rows(min_row=2, values_only=True)}
    assert (overdue["1.3"], overdue["1.1"]) == ("Yes", "No")
    # The CSV is open data: its column keys are the data package's stable names in any language.
    assert list(csv_rows(english["csv"])[0]) == PUBLISHED_COLUMNS
    assert csv_rows(english["csv"])[0]["estado"] == "Completed"


def test_xlsx_summary_sheet_shows_the_hand_computed_figures(written):
    summary = dict(load_workbook(written["xlsx"])["Resumen"].iter_rows(min_row=2, values_only=True))

    assert summary["Hitos"] == 7
    assert summary["Hitos completados (%)"] == 28.57
    assert [summary[f"Hitos: {s}"] for s in ("No iniciado", "Iniciado", "Completado")] == [1, 2, 2]
    assert summary["Hitos: Sin datos"] == 2
    assert summary["Hitos vencidos"] == 2
    assert summary["Hitos con cambio desde el ciclo anterior"] == 2


def test_pdf_is_the_page_printed_on_numbered_a4_landscape_pages(written, pdf_pages):
    reader = PdfReader(written["pdf"])

    assert len(pdf_pages) >= 2
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width), round(height)) == (842, 595)  # A4 landscape, in points
    for number, text in enumerate(pdf_pages, start=1):
        assert f"Página {number} de {len(pdf_pages)}" in text
        assert "Ciclo 2023-03 · versión 1 del informe, del 27/03/2023" in text
    first = " ".join(pdf_pages[0].split())
    assert "Informe de avance del Plan de prueba" in first
    assert "28,57 %" in first and "+28,57 p. p. desde agosto 2022" in first
    # the commitments start a page of their own: the chart is as tall as half a page
    [commitments] = [text for text in pdf_pages if "Avance por compromiso" in text]
    for figure in ("56,67 %", "25,00 %", "+26,67 p. p."):
        assert figure in commitments
    assert written["pdf"].read_bytes() == written["latest_pdf"].read_bytes()


def test_pdf_repeats_the_milestone_table_header_on_every_page_it_spans(pdf_pages):
    # «Inventario.» (2.1) and «Tablero.» (2.10) appear only in the milestone table.
    spanned = [text for text in pdf_pages if "Inventario." in text or "Tablero." in text]

    assert spanned
    for text in spanned:
        assert "Avance del período" in text and "Observaciones" in text


def test_pdf_links_only_to_http_evidence_and_holds_no_script(written, pdf_pages):
    reader = PdfReader(written["pdf"])
    uris = {
        annotation.get_object()["/A"]["/URI"]
        for page in reader.pages
        for annotation in page.get("/Annots", [])
        if "/A" in annotation.get_object() and "/URI" in annotation.get_object()["/A"]
    }

    assert uris == {
        "https://mingob.example/1.1",
        "https://mingob.example/evidencia?a=1&b=2",
        "https://segeplan.example/1.3",
    }
    assert b"/JavaScript" not in written["pdf"].read_bytes()
    assert "alert('x')" in " ".join(pdf_pages)  # the institution's markup, printed as text


def test_pdf_printing_fetches_nothing_even_when_a_page_asks_for_it(tmp_path):
    requests: list[str] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    html = tmp_path / "page.html"
    html.write_text(
        f'<link rel="stylesheet" href="{base}/style.css">'
        f'<p>Texto</p><img src="{base}/pixel.png"><img src="file:///etc/hostname">',
        encoding="utf-8",
    )
    try:
        print_pdf(html, tmp_path / "page.pdf")
    finally:
        server.shutdown()

    assert requests == []
    assert "Texto" in PdfReader(tmp_path / "page.pdf").pages[0].extract_text()


def test_printing_logs_no_font_packaging_advice(written, tmp_path, caplog):
    """WeasyPrint advises installing HarfBuzz-Subset where it is missing (as on a fresh Debian);
    its fallback works, so the advice must not reach the people running a cycle."""
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        print_pdf(written["html"], tmp_path / "again.pdf")

    assert not [r for r in caplog.records if "HarfBuzz" in r.getMessage()]
    assert PdfReader(tmp_path / "again.pdf").pages


# The director's email and the Prefect artifact, from a real publication on a fresh ledger.

PUBLIC = "https://datos.gobiernoabierto.example/informes/"


@pytest.fixture
def fresh(tmp_path: Path) -> Ledger:
    """A ledger of its own: publishing records a report and marks the cycle consolidated."""
    folder = tmp_path / "ledger"
    folder.mkdir()
    return build_ledger(folder)


def settings_for(fresh: Ledger, settings: Settings, base_url: str = "") -> Settings:
    """The test's workspace and SMTP port, on the fixture ledger."""
    return Settings(
        home=settings.home,
        smtp_port=settings.smtp_port,
        database_url=fresh.url,
        report_base_url=base_url,
    )


def attachments_of(message) -> dict[str, bytes]:
    return {
        p.get_filename(): p.get_payload(decode=True) for p in message.walk() if p.get_filename()
    }


def body(message, kind: str) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == f"text/{kind}")
    return part.get_payload(decode=True).decode()


def published(configured: Settings, plan) -> Publication:
    """The cycle consolidated and its draft published by the director (the email sent)."""
    publish_cycle(configured, plan, CURRENT)
    return publish_draft(configured, plan, CURRENT, "directora@gae.example")


def test_director_gets_public_links_and_the_pdf_and_xlsx_attached(fresh, settings, smtp):
    configured = settings_for(fresh, settings, PUBLIC)
    publication = published(configured, fresh.plan)
    send_all(configured, [report_email(configured, fresh.plan, publication)])

    [message] = smtp.to("directora@gae.example")
    files = publication.paths
    assert attachments_of(message) == {
        "gt-prueba-2023-03.pdf": files["pdf"].read_bytes(),
        "gt-prueba-2023-03.xlsx": files["xlsx"].read_bytes(),
    }
    text, html = body(message, "plain"), body(message, "html")
    page = "https://datos.gobiernoabierto.example/informes/gt-prueba/2023-03/latest/gt-prueba-2023-03.html"
    assert f"Página del informe: {page}" in text
    assert f'<a href="{page}">' in html
    assert (
        "informes/gt-prueba/2023-03/v1/gt-prueba-2023-03.html" in text
    )  # this version, kept as is
    assert "Hitos completados: 28,57 %" in text
    assert "Instituciones que entregaron: 2 de 4" in text  # MINGOB and SAT
    assert str(settings.home) not in text + html  # no server paths once there is a public link


def test_without_a_public_address_the_email_links_the_consoles_copies(fresh, settings, smtp):
    configured = settings_for(fresh, settings)
    publication = published(configured, fresh.plan)
    send_all(configured, [report_email(configured, fresh.plan, publication)])

    text = body(smtp.to("directora@gae.example")[0], "plain")
    version = publication.report.version
    assert f"PDF: http://127.0.0.1:8000/ciclos/{CURRENT}/informes/{version}/pdf" in text
    assert str(settings.home) not in text  # never a path on the server


def test_a_version_written_before_the_pdf_existed_is_rebuilt_with_it(fresh, settings):
    configured = settings_for(fresh, settings)
    first = publish_cycle(configured, fresh.plan, CURRENT).report
    assert publish_cycle(configured, fresh.plan, CURRENT).report.version == first.version
    with session(fresh.url) as db:
        old = db.get(Report, first.id)
        assert old is not None
        old.files = {k: v for k, v in old.files.items() if not k.endswith("pdf")}

    rebuilt = publish_cycle(configured, fresh.plan, CURRENT)

    assert rebuilt.report.version == first.version  # the same sources: the same version
    assert rebuilt.paths["pdf"].read_bytes().startswith(b"%PDF")


def test_prefect_artifact_summarises_the_figures_and_names_the_files(fresh, settings, smtp):
    configured = settings_for(fresh, settings, PUBLIC)
    markdown = summary_markdown(published(configured, fresh.plan))

    assert "**28,57 %** de los 7 hitos completados" in markdown
    assert "| C01 (GT0101) | Transparencia en seguridad | 56,67 % |" in markdown
    assert "| MINGOB | A tiempo | 3 | 1 |" in markdown
    assert "| SAT | Tarde | 2 | 1 |" in markdown
    assert f"`{PUBLIC}gt-prueba/2023-03/latest/gt-prueba-2023-03.pdf`" in markdown


# A large plan's XLSX is written in a forked process beside the page and the PDF.


def test_a_large_plans_xlsx_is_written_in_a_process_of_its_own(ledger, tmp_path, monkeypatch):
    writers: list[int] = []

    def recording(*args, **kwargs) -> None:
        writers.append(os.getpid())
        (tmp_path / "writer").write_text(str(os.getpid()))
        write_xlsx(*args, **kwargs)

    monkeypatch.setattr(report, "PARALLEL_FROM", 1)
    monkeypatch.setattr(report, "write_xlsx", recording)
    paths = publish(ledger, tmp_path / "reports")

    child = int((tmp_path / "writer").read_text())
    assert child != os.getpid() and writers == []  # written by the child, not here
    summary = dict(load_workbook(paths["xlsx"])["Resumen"].iter_rows(min_row=2, values_only=True))
    assert summary["Hitos completados (%)"] == 28.57
    assert paths["latest_xlsx"].read_bytes() == paths["xlsx"].read_bytes()


def test_a_failure_in_the_xlsx_process_is_raised_with_its_reason(ledger, tmp_path, monkeypatch):
    def failing(*args, **kwargs) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(report, "PARALLEL_FROM", 1)
    monkeypatch.setattr(report, "write_xlsx", failing)

    with pytest.raises(RuntimeError, match=r"(?s)XLSX could not be written.*No space left"):
        publish(ledger, tmp_path / "reports")
