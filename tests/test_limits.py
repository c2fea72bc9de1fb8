"""Bounded work: files far larger than a workbook of milestones are refused while being read.

Times and memory are measured in ``make bench`` (bench/heavy_files.py), not asserted here; these
tests say which limit refuses which file and what the liaison is told.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from openpyxl import Workbook

from bench.heavy_files import big_csv, big_xlsx
from tasks.core.contract import KEYS as COLUMNS
from tasks.core.findings import finding
from tasks.workbooks.limits import Limits, bounded
from tasks.workbooks.reading import UnreadableFile, read_submission
from tasks.workbooks.safe_names import safe_filename, safe_stem


def refused(data: bytes, name: str, limits: Limits | None = None) -> UnreadableFile:
    with pytest.raises(UnreadableFile) as caught:
        read_submission(data, name, limits=limits)
    return caught.value


def xlsx(rows: int, columns: int = len(COLUMNS)) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Hitos"
    header = [*COLUMNS, *(f"extra_{n}" for n in range(columns - len(COLUMNS)))]
    sheet.append(header)
    for n in range(rows):
        sheet.append(["MINGOB", f"1.{n}", 1, "Hito", None, None, "Iniciado", 50])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_million_row_csv_is_refused_for_its_rows():
    problem = refused(big_csv(1_000_000), "avances.csv")

    assert problem.rule == "too-many-rows"
    assert problem.details["limit"] == "1000"


def test_a_hundred_thousand_row_xlsx_is_refused_before_it_is_parsed():
    problem = refused(big_xlsx(100_000), "avances.xlsx")

    assert problem.rule == "too-many-rows"
    assert problem.details["rows"] == ""


def test_a_template_sized_file_of_each_kind_is_read():
    assert len(read_submission(big_csv(20), "a.csv").rows) == 20
    assert len(read_submission(big_xlsx(20), "a.xlsx").rows) == 20


def test_rows_per_sheet_are_limited_in_xlsx_and_csv():
    limits = Limits(rows=30)

    assert refused(xlsx(40), "a.xlsx", limits).rule == "too-many-rows"
    assert refused(big_csv(40), "a.csv", limits).rule == "too-many-rows"
    assert len(read_submission(xlsx(20), "a.xlsx", limits=limits).rows) == 20


def test_columns_per_sheet_are_limited_in_xlsx_and_csv():
    limits = Limits(columns=20)
    wide = io.StringIO()
    csv.writer(wide).writerows([[*COLUMNS, *(f"x{n}" for n in range(15))], ["MINGOB", "1.1"]])

    assert refused(xlsx(3, columns=25), "a.xlsx", limits).rule == "too-many-columns"
    assert refused(wide.getvalue().encode(), "a.csv", limits).rule == "too-many-columns"


def test_cells_per_file_are_limited():
    assert refused(xlsx(50), "a.xlsx", Limits(cells=300)).rule == "too-many-cells"
    assert refused(big_csv(200), "a.csv", Limits(cells=300)).rule == "too-many-cells"


def test_a_file_over_its_time_budget_is_refused():
    assert refused(xlsx(5), "a.xlsx", Limits(seconds=0)).rule == "file-too-slow"
    assert refused(big_csv(5), "a.csv", Limits(seconds=0)).rule == "file-too-slow"


def test_findings_past_the_limit_become_one_summary_finding():
    findings = [finding("state-invalid", milestone=f"1.{n}", value="x") for n in range(70)]

    kept = bounded(findings, 50)

    assert kept[:50] == findings[:50] and len(kept) == 51
    assert kept[-1].rule == "findings-truncated" and kept[-1].severity == "error"
    assert kept[-1].message == (
        "Mostramos los primeros 50 problemas; el archivo tiene 20 más (20 de ellos errores). "
        "Corrija estos y envíelo de nuevo para ver el resto."
    )
    assert bounded(findings[:10], 50) == findings[:10]


def test_each_limit_has_a_spanish_message_naming_the_file():
    cases: dict[str, dict[str, Any]] = {
        "too-many-rows": {"rows": "100001", "limit": "1000"},
        "too-many-columns": {"columns": "60", "limit": "50"},
        "too-many-cells": {"limit": "50000"},
        "file-too-slow": {"seconds": "20"},
    }
    for rule, details in cases.items():
        message = finding(rule, "error", filename="avances.xlsx", **details).message
        assert "«avances.xlsx»" in message and message.endswith(".")


def test_a_bare_carriage_return_inside_a_quoted_csv_cell_is_read():
    data = (
        b"codigo_hito;estado;avance_pct;descripcion_avance;evidencia_url\r\n"
        b'1.1;Iniciado;50;"primera l\xc3\xadnea\rsegunda";https://x.example\r\n'
    )

    rows = read_submission(data, "avances.csv").rows

    assert rows["descripcion_avance"].tolist() == ["primera línea\rsegunda"]


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("avances\x00x.xlsx", "avances_x.xlsx"),
        ("../../../etc/passwd", "passwd"),
        ("C:\\Users\\enlace\\avances.xlsx", "avances.xlsx"),
        ("a\r\nBcc: x@y.example.xlsx", "a_ Bcc_ x@y.example.xlsx"),
        ("", "archivo"),
        ("...", "archivo"),
    ],
)
def test_names_are_made_safe(given, kept):
    assert safe_filename(given) == kept


def test_a_long_name_is_cut_to_its_byte_limit_and_keeps_its_extension():
    for stem in ("a" * 300, "ñ" * 300, "ñ" * 1000):
        name = safe_filename(stem + ".xlsx")
        assert name.endswith(".xlsx") and len(name.encode()) <= 150
    assert len(safe_stem("ñ" * 300 + ".xlsx").encode()) <= 60


def test_the_bench_measures_a_heavy_file_in_a_process_of_its_own(tmp_path):
    from bench.heavy_files import measure

    path = tmp_path / "million-rows.csv"
    path.write_bytes(big_csv(2_000))

    measured = measure(path)

    assert measured["outcome"] == "refused: too-many-rows"
    assert measured["peak_mib"] > 0 and measured["read_seconds"] >= 0
