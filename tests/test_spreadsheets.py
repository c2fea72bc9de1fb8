"""The reader of returned workbooks, on small real files of every shape offices send."""

from __future__ import annotations

import math
import struct
import zipfile
from datetime import date, datetime
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from tasks.core.contract import KEYS as CONTRACT_COLUMNS
from tasks.core.contract import column_key as contract_column
from tasks.plans.plan import load_plan
from tasks.workbooks.building import build_request_workbook
from tasks.workbooks.layout import header
from tasks.workbooks.reading import (
    ReadResult,
    UnreadableFile,
    normalise_state,
    parse_percent,
    read_submission,
)

PLAN = Path(__file__).resolve().parent.parent / "plans" / "gt-pan5.yaml"
ROW = {
    "institucion": "MINGOB",
    "codigo_hito": "1.1",
    "compromiso": "1. Compromiso",
    "hito": "Hito",
    "fecha_inicio": date(2022, 1, 3),
    "fecha_fin": date(2022, 6, 30),
    "estado": "Iniciado",
    "avance_pct": 50,
    "descripcion_avance": "Mesa instalada",
    "evidencia_url": "https://example.org/acta.pdf",
    "observaciones": "",
}


def save_xlsx(
    path: Path,
    rows: list[list[object]],
    sheet: str = "Hitos",
    meta: dict[str, str] | None = None,
) -> bytes:
    """A workbook whose sheet ``sheet`` holds ``rows`` from A1 (None leaves a cell blank)."""
    workbook = Workbook()
    active = workbook.active
    assert active is not None
    active.title = sheet
    for row in rows:
        active.append(row)
    if meta is not None:
        hidden = workbook.create_sheet("_meta")
        for key, value in meta.items():
            hidden.append([key, value])
        hidden.sheet_state = "hidden"
    workbook.save(path)
    return path.read_bytes()


def contract_rows(*changes: dict[str, object]) -> list[list[object]]:
    """The header and one row per ``changes`` (each a change to ``ROW``)."""
    header: list[object] = list(CONTRACT_COLUMNS)
    return [header] + [
        [{**ROW, **change}[column] for column in CONTRACT_COLUMNS] for change in changes
    ]


def only_row(result: ReadResult) -> dict[str, object]:
    assert len(result.rows) == 1, result.rows
    row: dict[str, object] = result.rows.iloc[0].to_dict()
    return row


def reason(data: bytes, filename: str, max_bytes: int = 10 * 1024 * 1024) -> str:
    with pytest.raises(UnreadableFile) as raised:
        read_submission(data, filename, max_bytes)
    return raised.value.reason


def test_reads_a_clean_workbook_with_its_meta(tmp_path):
    data = save_xlsx(
        tmp_path / "MINGOB.xlsx",
        contract_rows({}, {"codigo_hito": "1.2", "estado": "No iniciado", "avance_pct": 0}),
        meta={"plan": "gt-pan5", "cycle": "2023-03", "institution": "MINGOB"},
    )

    result = read_submission(data, "MINGOB.xlsx")

    assert result.findings == []
    assert result.meta == {"plan": "gt-pan5", "cycle": "2023-03", "institution": "MINGOB"}
    assert result.rows.to_dict("records")[0] == {
        "fila": 2,
        "institucion": "MINGOB",
        "codigo_hito": "1.1",
        "codigo_numerico": False,
        "estado": "started",
        "avance_pct": 50.0,
        "avance_raw": "",
        "descripcion_avance": "Mesa instalada",
        "evidencia_url": "https://example.org/acta.pdf",
        "observaciones": "",
        "fecha_inicio": date(2022, 1, 3),
        "fecha_fin": date(2022, 6, 30),
    }
    assert list(result.rows["fila"]) == [2, 3]
    assert list(result.rows["estado"]) == ["started", "not_started"]


def test_reads_the_request_workbook_it_sends(tmp_path):
    plan = load_plan(PLAN)
    sent = build_request_workbook(
        plan, plan.institution("MINGOB"), "2023-03", date(2023, 3, 31), "a@b.example", "key"
    )

    result = read_submission(sent, "MINGOB.xlsx")

    assert result.findings == []
    assert result.meta["institution"] == "MINGOB"
    assert list(result.rows["codigo_hito"]) == [m.code for m in plan.milestones_of("MINGOB")]
    assert set(result.rows["estado"]) == {"not_started"}


def linked(sent: bytes, path: Path, links: dict[str, tuple[str, str]]) -> bytes:
    """The request workbook with evidence cells linked as Ctrl+K does: code → (text, address)."""
    book = load_workbook(BytesIO(sent))
    sheet = book["Hitos"]
    header_row, columns = header(sheet)
    assert header_row is not None
    for row in range(header_row + 1, sheet.max_row + 1):
        code = sheet.cell(row, columns["codigo_hito"]).value
        if code in links:
            cell = sheet.cell(row, columns["evidencia_url"])
            cell.value, cell.hyperlink = links[code]
    book.save(path)
    return path.read_bytes()


def test_an_evidence_cell_linked_under_its_own_text_reads_as_the_address(tmp_path):
    plan = load_plan(PLAN)
    sent = build_request_workbook(
        plan, plan.institution("MINGOB"), "2023-03", date(2023, 3, 31), "a@b.example", "key"
    )
    links = {
        "1.1": ("Acta de la sesión", "https://mingob.example/acta.pdf"),
        "1.2": ("https://mingob.example/informe", "https://mingob.example/otro"),
    }

    read = read_submission(linked(sent, tmp_path / "enlaces.xlsx", links), "enlaces.xlsx")

    evidence = dict(zip(read.rows["codigo_hito"], read.rows["evidencia_url"], strict=True))
    assert evidence["1.1"] == "https://mingob.example/acta.pdf"
    assert evidence["1.2"] == "https://mingob.example/informe"  # the address it shows wins
    assert evidence["1.3"] == ""


def test_finds_the_header_below_title_rows_with_blank_rows_and_columns(tmp_path):
    rows: list[list[object]] = [
        [None, "Ministerio de Gobernación — informe de avance"],
        [],
        [None, " Código hito ", "Estado", "Avance %", None, "Descripción del avance", "Evidencia"],
        [],
        [None, "1.1 ", " iniciado ", "40", None, " Taller  ", " https://example.org/a "],
        [None, None, None, None, None, None, None],
        [None, "1.2", "Completado", 100, None, "Informe", "https://example.org/b"],
    ]
    data = save_xlsx(tmp_path / "informe.xlsx", rows)

    result = read_submission(data, "informe.xlsx")

    assert result.findings == []
    assert result.rows[["fila", "codigo_hito", "estado", "avance_pct"]].to_dict("records") == [
        {"fila": 5, "codigo_hito": "1.1", "estado": "started", "avance_pct": 40.0},
        {"fila": 7, "codigo_hito": "1.2", "estado": "completed", "avance_pct": 100.0},
    ]
    assert list(result.rows["descripcion_avance"]) == ["Taller", "Informe"]
    assert list(result.rows["evidencia_url"]) == ["https://example.org/a", "https://example.org/b"]


def test_ignores_note_lines_under_the_table(tmp_path):
    note: list[object] = ["Elaborado por: Lic. Pérez", *[None] * 10]
    rows = [*contract_rows({}), [], note]
    data = save_xlsx(tmp_path / "MINGOB.xlsx", rows)

    assert list(read_submission(data, "MINGOB.xlsx").rows["fila"]) == [2]


@pytest.mark.parametrize(
    ("typed", "state"),
    [
        ("iniciado", "started"),
        ("INICIADO", "started"),
        ("COMPLETADO", "completed"),
        ("completado ", "completed"),
        ("no iniciado", "not_started"),
        ("No Iniciado", "not_started"),
        ("No  iniciado", "not_started"),
        ("En proceso", "started"),
        ("en progreso", "started"),
        ("Iniciádo", "started"),
        ("In progress", "started"),
        ("not started", "not_started"),
        ("Completed", "completed"),
        (" Suspendido ", "Suspendido"),
        ("", ""),
    ],
)
def test_normalises_states_of_any_language_to_codes_and_keeps_unknown_ones(typed, state):
    assert normalise_state(typed) == state


@pytest.mark.parametrize(
    ("value", "number"),
    [
        ("50%", 50.0),
        ("50 %", 50.0),
        ("50,0", 50.0),
        ("50.0", 50.0),
        (" 75 ", 75.0),
        (50, 50.0),
        (0.5, 0.5),  # a "50 %" cell: taken literally, the validator says it is not whole
        ("-5", -5.0),
        ("", None),
        ("cincuenta", None),
        ("50-60", None),
        (True, None),
        (None, None),
        (math.nan, None),
    ],
)
def test_parses_percent_as_typed(value, number):
    assert parse_percent(value) == number


def test_keeps_the_typed_progress_text_beside_its_number(tmp_path):
    data = save_xlsx(
        tmp_path / "a.xlsx",
        contract_rows(
            {"avance_pct": "50%"},
            {"codigo_hito": "1.2", "avance_pct": " 50,0 "},
            {"codigo_hito": "1.3", "avance_pct": "la mitad"},
            {"codigo_hito": "1.4", "avance_pct": None},
        ),
    )

    rows = read_submission(data, "a.xlsx").rows

    assert list(rows["avance_raw"]) == ["50%", "50,0", "la mitad", ""]
    assert list(rows["avance_pct"][:2]) == [50.0, 50.0]
    assert rows["avance_pct"][2:].isna().all()


def test_keeps_codes_a_spreadsheet_turned_into_numbers_as_text_and_flags_them(tmp_path):
    data = save_xlsx(
        tmp_path / "a.xlsx",
        contract_rows({"codigo_hito": 4.2}, {"codigo_hito": 10}, {"codigo_hito": "1.10"}),
    )

    rows = read_submission(data, "a.xlsx").rows

    assert list(rows["codigo_hito"]) == ["4.2", "10", "1.10"]
    assert list(rows["codigo_numerico"]) == [True, True, False]


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("codigo_hito", "codigo_hito"),
        ("Código de hito", "codigo_hito"),
        ("CODIGO HITO", "codigo_hito"),
        ("Avance (%)", "avance_pct"),
        ("Porcentaje de avance", "avance_pct"),
        ("Evidencia (URL)", "evidencia_url"),
        ("Fecha de inicio", "fecha_inicio"),
        ("Institución", "institucion"),
        ("Avance %", "avance_pct"),
        ("Milestone code", "codigo_hito"),
        ("Progress %", "avance_pct"),
        ("Evidence link", "evidencia_url"),
        ("Código", None),
        (42, None),
    ],
)
def test_recognises_header_names_offices_write(header, column):
    assert contract_column(header) == column


def test_reads_day_first_date_text(tmp_path):
    data = save_xlsx(
        tmp_path / "a.xlsx",
        contract_rows({"fecha_inicio": "03/01/2022", "fecha_fin": "31/2/2022"}),
    )

    row = only_row(read_submission(data, "a.xlsx"))

    assert row["fecha_inicio"] == date(2022, 1, 3)
    assert row["fecha_fin"] is None  # no such day


def test_reads_date_time_cells_as_dates(tmp_path):
    data = save_xlsx(tmp_path / "a.xlsx", contract_rows({"fecha_fin": datetime(2022, 6, 30, 9)}))

    assert only_row(read_submission(data, "a.xlsx"))["fecha_fin"] == date(2022, 6, 30)


def test_reads_semicolon_latin1_csv_with_decimal_commas(tmp_path):
    path = tmp_path / "MINGOB.csv"
    path.write_bytes(
        "institucion;codigo_hito;estado;avance_pct;descripcion_avance;evidencia_url;fecha_fin\r\n"
        "MINGOB;4,2;En ejecución;50,0;Diagnóstico concluido;https://example.org/d;30/06/2022\r\n"
        "MINGOB;1.10;Completado;100;Publicación;https://example.org/p;\r\n".encode("latin-1")
    )

    result = read_submission(path.read_bytes(), path.name)

    assert result.findings == []
    assert result.meta == {}
    first, second = result.rows.to_dict("records")
    assert (first["fila"], first["codigo_hito"], first["codigo_numerico"]) == (2, "4.2", True)
    assert (first["estado"], first["avance_pct"], first["avance_raw"]) == ("started", 50.0, "50,0")
    assert first["descripcion_avance"] == "Diagnóstico concluido"
    assert first["fecha_fin"] == date(2022, 6, 30)
    assert (second["codigo_hito"], second["fecha_fin"]) == ("1.10", None)


def test_reads_utf8_csv_with_bom_and_commas(tmp_path):
    path = tmp_path / "hitos.csv"
    path.write_bytes(
        "codigo_hito,estado,avance_pct,descripcion_avance,evidencia_url\n"
        '1.1,Iniciado,50,"Mesa técnica, primera sesión",https://example.org/a\n'.encode("utf-8-sig")
    )

    row = only_row(read_submission(path.read_bytes(), path.name))

    assert row["codigo_hito"] == "1.1"
    assert row["descripcion_avance"] == "Mesa técnica, primera sesión"
    assert row["avance_pct"] == 50.0


def test_reads_a_csv_whatever_its_name_when_it_has_the_header(tmp_path):
    path = tmp_path / "hitos.xlsx"
    path.write_text(
        "codigo_hito;estado;avance_pct;descripcion_avance;evidencia_url\n1.1;Iniciado;5"
    )

    assert only_row(read_submission(path.read_bytes(), path.name))["avance_pct"] == 5.0


def test_reports_each_missing_required_column(tmp_path):
    data = save_xlsx(tmp_path / "a.xlsx", [["codigo_hito", "estado", "avance_pct"], ["1.1"]])

    result = read_submission(data, "a.xlsx")

    assert [(f.rule, f.column, f.severity) for f in result.findings] == [
        ("column-missing", "descripcion_avance", "error"),
        ("column-missing", "evidencia_url", "error"),
    ]
    assert "«Descripción del avance»" in result.findings[0].message  # the label a liaison sees
    assert list(result.rows["codigo_hito"]) == ["1.1"]


def test_reports_a_missing_header(tmp_path):
    data = save_xlsx(tmp_path / "a.xlsx", [["hito", "estado"], ["1.1", "Iniciado"]])

    result = read_submission(data, "a.xlsx")

    assert [f.rule for f in result.findings] == ["header-missing"]
    assert result.rows.empty


def test_reports_a_missing_hitos_sheet(tmp_path):
    data = save_xlsx(tmp_path / "a.xlsx", [["Resumen"], ["nada que ver"]], sheet="Hoja1")

    result = read_submission(data, "a.xlsx")

    assert [f.rule for f in result.findings] == ["sheet-missing"]
    assert result.rows.empty
    assert list(result.rows.columns)[:3] == ["fila", "institucion", "codigo_hito"]


def test_uses_the_only_sheet_with_the_header_when_hitos_was_renamed(tmp_path):
    data = save_xlsx(tmp_path / "a.xlsx", contract_rows({}), sheet="Hoja1")

    result = read_submission(data, "a.xlsx")

    assert result.findings == []
    assert only_row(result)["codigo_hito"] == "1.1"


def test_matches_the_sheet_name_in_any_case(tmp_path):
    data = save_xlsx(tmp_path / "a.xlsx", contract_rows({}), sheet=" HITOS ")

    assert read_submission(data, "a.xlsx").findings == []


def test_reads_an_xlsm_without_running_its_macros(tmp_path):
    plain = tmp_path / "plain.xlsx"
    save_xlsx(plain, contract_rows({}))
    macro = tmp_path / "con_macros.xlsm"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(macro, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item))
        target.writestr("xl/vbaProject.bin", b'Attribute VB_Name = "Module1"\x00' * 10)

    result = read_submission(macro.read_bytes(), macro.name)

    assert only_row(result)["codigo_hito"] == "1.1"


def test_reads_a_legacy_xls(tmp_path):
    xlwt = pytest.importorskip("xlwt", reason="writing a legacy .xls needs xlwt (a dev dependency)")
    workbook = xlwt.Workbook()
    sheet = workbook.add_sheet("Hitos")
    for column, name in enumerate(CONTRACT_COLUMNS):
        sheet.write(2, column, name)
    values = {**ROW, "codigo_hito": 4.2, "fecha_inicio": "03/01/2022"}
    dates = xlwt.easyxf(num_format_str="dd/mm/yyyy")
    for column, name in enumerate(CONTRACT_COLUMNS):
        value = values[name]
        if isinstance(value, date):
            sheet.write(3, column, value, dates)
        else:
            sheet.write(3, column, value)
    meta = workbook.add_sheet("_meta")
    meta.write(0, 0, "institution")
    meta.write(0, 1, "MINGOB")
    meta.visibility = 1
    path = tmp_path / "MINGOB.xls"
    workbook.save(str(path))

    result = read_submission(path.read_bytes(), path.name)

    assert result.findings == []
    assert result.meta == {"institution": "MINGOB"}
    row = only_row(result)
    assert (row["fila"], row["codigo_hito"], row["codigo_numerico"]) == (4, "4.2", True)
    assert (row["fecha_inicio"], row["fecha_fin"]) == (date(2022, 1, 3), date(2022, 6, 30))
    assert (row["estado"], row["avance_pct"]) == ("started", 50.0)


def test_rejects_an_empty_file():
    assert reason(b"", "a.xlsx") == "el archivo está vacío"


def test_rejects_a_text_file_renamed_xlsx(tmp_path):
    path = tmp_path / "informe.xlsx"
    path.write_text("Adjunto el informe del trimestre.\nSaludos cordiales.\n")

    assert reason(path.read_bytes(), path.name) == "no es una hoja de cálculo"


@pytest.mark.parametrize(
    "content",
    [
        b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01",
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    ],
    ids=["pdf", "png", "jpeg"],
)
def test_rejects_documents_and_images_renamed_xlsx(content):
    assert reason(content, "hitos.xlsx") == "no es una hoja de cálculo"


def test_rejects_a_word_document_renamed_xlsx(tmp_path):
    path = tmp_path / "hitos.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")

    assert reason(path.read_bytes(), path.name) == "no es una hoja de cálculo"


def test_rejects_a_zipped_workbook_saying_so(tmp_path):
    inner = save_xlsx(tmp_path / "hitos.xlsx", contract_rows({}))
    path = tmp_path / "hitos.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hitos.xlsx", inner)

    assert "comprimido" in reason(path.read_bytes(), path.name)


def test_rejects_a_truncated_workbook(tmp_path):
    data = save_xlsx(tmp_path / "a.xlsx", contract_rows({}))

    assert reason(data[: len(data) // 2], "a.xlsx") == "el archivo está dañado"


def test_rejects_an_oversized_file_naming_the_limit():
    data = b"codigo_hito;estado\n" + b"1.1;Iniciado\n" * 120_000  # about 1.5 MB

    assert reason(data, "hitos.csv", max_bytes=1024 * 1024) == "pesa 1,5 MB y el límite es 1 MB"


def test_rejects_a_decompression_bomb_before_parsing(tmp_path):
    path = tmp_path / "bomba.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * (11 * 1024 * 1024))

    assert "descomprimido" in reason(path.read_bytes(), path.name)


def test_rejects_a_password_protected_workbook():
    # Excel saves an encrypted .xlsx as an OLE container with EncryptionInfo and
    # EncryptedPackage streams; the directory names its entries in UTF-16.
    def entry(name: str) -> bytes:
        encoded = (name + "\0").encode("utf-16-le")
        return encoded.ljust(64, b"\0") + struct.pack("<H", len(encoded)).ljust(64, b"\0")

    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1".ljust(512, b"\0")
    directory = entry("Root Entry") + entry("EncryptionInfo") + entry("EncryptedPackage")

    assert reason(header + directory, "hitos.xlsx") == "está protegido con contraseña"


def test_rejects_an_ole_file_that_is_not_a_workbook():
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1".ljust(512, b"\0")

    assert reason(header + "WordDocument".encode("utf-16-le"), "hitos.xls") == (
        "no es una hoja de cálculo"
    )
