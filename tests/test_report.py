"""The published files: HTML page, CSV and XLSX, on the ledger of test_consolidation."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tasks.consolidation import DATA_DICTIONARY, consolidated_table, figures, used_submissions
from tasks.ledger import session
from tasks.report import neutralise, write_report
from tests.test_consolidation import (
    INJECTED_FORMULA,
    INJECTED_MARKUP,
    PLAN,
    Ledger,
    build_ledger,
)


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return build_ledger(tmp_path)


def publish(ledger: Ledger, folder: Path, version: int = 1) -> dict[str, Path]:
    """Consolidate the current cycle from the ledger and write the report."""
    cycle = ledger.cycle()
    with session(ledger.url) as db:
        table = consolidated_table(db, ledger.plan, cycle)
        result = figures(db, ledger.plan, cycle, table)
        used = used_submissions(db, ledger.plan, cycle)
    return write_report(ledger.plan, cycle, table, result, folder, version, used)


@pytest.fixture
def written(ledger: Ledger, tmp_path: Path) -> dict[str, Path]:
    return publish(ledger, tmp_path / "reports")


@pytest.fixture
def page(written: dict[str, Path]) -> str:
    return written["html"].read_text(encoding="utf-8")


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
    for kind in ("html", "csv", "xlsx"):
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

    assert list(rows[0]) == [column for column, _ in DATA_DICTIONARY]
    assert [r["codigo_hito"] for r in rows] == ["1.1", "1.2", "1.3", "2.1", "2.2", "2.3", "2.10"]
    first = rows[0]
    assert (first["estado"], first["avance_pct"], first["cambio_pct"]) == (
        "Completado",
        "100",
        "50",
    )
    never = rows[4]
    assert (never["fuente"], never["avance_pct"], never["envio"]) == ("sin_datos", "", "")


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
        r for r in milestones.iter_rows(min_row=2) if r[header.index("codigo_hito")].value == "1.2"
    )
    cell = row[header.index("observaciones")]

    assert cell.value == "'" + INJECTED_FORMULA
    assert cell.data_type == "s"
    formulas = [c for s in workbook for r in s.iter_rows() for c in r if c.data_type == "f"]
    assert formulas == []


def test_xlsx_has_formatted_sheets_and_the_data_dictionary(written):
    workbook = load_workbook(written["xlsx"])

    assert workbook.sheetnames == [
        "Resumen",
        "Compromisos",
        "Hitos",
        "Instituciones",
        "Diccionario",
    ]
    for sheet in workbook:
        assert sheet.freeze_panes == "A2"
        assert all(cell.font.bold for cell in sheet[1])
        assert sheet.column_dimensions["A"].width > 0
    dictionary = [tuple(r) for r in workbook["Diccionario"].iter_rows(min_row=2, values_only=True)]
    assert dictionary == DATA_DICTIONARY
    commitments = list(workbook["Compromisos"].iter_rows(values_only=True))
    assert commitments[1][-1] == 56.67  # C01: (100 + 30 + 40) / 3
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
    style = "".join(re.findall(r"<style>(.*?)</style>", page, re.DOTALL))
    assert "url(" not in style
    assert "@import" not in style
    assert "<script" not in page
    assert "<svg" in page


def test_page_is_in_spanish_and_readable_without_colour(page):
    assert '<html lang="es">' in page
    for label in ("Completado", "Iniciado", "No iniciado", "Sin datos", "Último conocido"):
        assert f">{label}<" in page
    assert "Sí, vencido" in page
    assert "+50 p. p." in page
    assert "56,67 %" in page
    assert "@media print" in page


def test_page_states_the_formula_the_submissions_used_and_the_version(ledger, page):
    assert "suma del avance (%) de sus hitos ÷ número de hitos" in page
    assert "versión 1 del informe" in page
    assert f"Envío n.º {ledger.ids['MINGOB-2023-03-v3']} — MINGOB (reportado)" in page
    assert f"Envío n.º {ledger.ids['SEGEPLAN-2022-08-v1']} — SEGEPLAN (último conocido)" in page
    assert "Tarde" in page and "A tiempo" in page and "Sin entregar" in page


def test_published_files_never_include_contacts(written):
    workbook = load_workbook(written["xlsx"])
    cells = " ".join(str(c) for s in workbook for r in s.iter_rows(values_only=True) for c in r)
    texts = [written["html"].read_text(encoding="utf-8"), written["csv"].read_text("utf-8"), cells]

    contacts = [PLAN["coordinator"]["director"]]
    contacts += [i[role] for i in PLAN["institutions"] for role in ("liaison", "head")]
    for text in texts:
        for contact in contacts:
            assert contact["name"] not in text
            assert contact["email"] not in text
