"""The request workbook: what an institution receives, and its own file marked up on rejection."""

from __future__ import annotations

import re
from datetime import date, datetime
from io import BytesIO
from zipfile import ZipFile

import openpyxl
import pandas as pd
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from tasks.core.contract import FILLED_BY_INSTITUTION, column_key
from tasks.core.contract import KEYS as COLUMNS
from tasks.core.findings import finding
from tasks.plans.plan import Plan
from tasks.workbooks.building import build_request_workbook
from tasks.workbooks.layout import HEADER_ROW
from tasks.workbooks.marking import mark_findings, marked_name
from tasks.workbooks.reading import read_submission
from tasks.workbooks.signing import TEMPLATE_VERSION, signature, verify

KEY = "test-signing-key"
FIRST = HEADER_ROW + 1  # the first milestone's row
DEADLINE = date(2023, 3, 24)


def contact(name: str) -> dict[str, str]:
    return {"name": name, "email": name.split()[0].lower() + "@example.org"}


@pytest.fixture
def plan() -> Plan:
    return Plan.model_validate(
        {
            "id": "gt-test",
            "name": "Plan de prueba",
            "country": "Guatemala",
            "coordinator": {"institution": "GAE", "director": contact("Ana López")},
            "institutions": [
                {
                    "code": "MINGOB",
                    "name": "Ministerio de Gobernación",
                    "liaison": contact("Luis Pérez"),
                    "head": contact("Marta Ruiz"),
                },
                {
                    "code": "GAE",
                    "name": "Comisión de Gobierno Abierto y Electrónico",
                    "liaison": contact("Eva Díaz"),
                    "head": contact("Juan Gómez"),
                },
            ],
            "commitments": [
                {
                    "number": 1,
                    "ogp_id": "GT0101",
                    "title": "Seguridad ciudadana transparente",
                    "leads": ["MINGOB"],
                    "milestones": [
                        milestone("1.1", "MINGOB", "Publicar datos de incidencia delictiva"),
                        milestone("1.2", "GAE", "Mesa técnica de seguimiento"),
                        milestone("1.10", "MINGOB", "Informe final de rendición de cuentas"),
                    ],
                },
                {
                    "number": 2,
                    "ogp_id": "GT0102",
                    "title": "Datos abiertos",
                    "leads": ["GAE"],
                    "milestones": [milestone("2.1", "MINGOB", "Catálogo de datos abiertos")],
                },
            ],
        }
    )


def milestone(code: str, institution: str, description: str) -> dict[str, str]:
    return {
        "code": code,
        "institution": institution,
        "description": description,
        "start": "2023-01-02",
        "end": "2023-06-30",
    }


def build(
    plan: Plan,
    previous: dict[str, dict[str, object]] | None = None,
    institution: str = "MINGOB",
    language: str = "es",
) -> bytes:
    return build_request_workbook(
        plan,
        plan.institution(institution),
        "2023-03",
        DEADLINE,
        "gobiernoabierto@gae.example",
        KEY,
        previous,
        language,
    )


def sheet_of(data: bytes, name: str = "Hitos") -> Worksheet:
    sheet = openpyxl.load_workbook(BytesIO(data))[name]
    assert isinstance(sheet, Worksheet)
    return sheet


def rows(sheet: Worksheet) -> list[dict[str, object]]:
    """The data rows of a Hitos sheet, by column name."""
    return [
        dict(zip(COLUMNS, values, strict=True))
        for values in sheet.iter_rows(FIRST, max_col=len(COLUMNS), values_only=True)
    ]


def cell(sheet: Worksheet, row: int, column: str) -> openpyxl.cell.cell.Cell:
    return sheet.cell(row, COLUMNS.index(column) + 1)


def meta_of(data: bytes) -> dict[str, str]:
    sheet = sheet_of(data, "_meta")
    return {str(key): str(value) for key, value in sheet.iter_rows(values_only=True)}


# Building


def test_hitos_sheet_has_the_contract_labels_and_one_row_per_milestone_of_the_institution(plan):
    data = build(plan)

    table = pd.read_excel(
        BytesIO(data), sheet_name="Hitos", engine="calamine", dtype=str, header=HEADER_ROW - 1
    )

    assert [column_key(label) for label in table.columns] == COLUMNS
    assert list(table.columns)[:2] == ["Institución", "Código hito"]
    table.columns = pd.Index(COLUMNS)
    assert list(table["codigo_hito"]) == ["1.1", "1.10", "2.1"]
    assert set(table["institucion"]) == {"MINGOB"}


def test_milestone_code_1_10_stays_text(plan):
    sheet = sheet_of(build(plan))

    code = cell(sheet, FIRST + 1, "codigo_hito")
    assert (code.value, code.data_type, code.number_format) == ("1.10", "s", "@")


def test_commitment_column_is_number_and_title(plan):
    assert rows(sheet_of(build(plan)))[2]["compromiso"] == "2. Datos abiertos"


def test_planned_dates_are_real_dates_shown_as_dd_mm_yyyy(plan):
    sheet = sheet_of(build(plan))

    for column in ("fecha_inicio", "fecha_fin"):
        assert cell(sheet, FIRST, column).is_date
        assert cell(sheet, FIRST, column).number_format == "dd/mm/yyyy"
    assert cell(sheet, FIRST, "fecha_fin").value == datetime(2023, 6, 30)


def test_only_the_institution_columns_are_unlocked_in_a_protected_sheet(plan):
    sheet = sheet_of(build(plan))

    assert sheet.protection.sheet
    assert not sheet.protection.password
    for row in (FIRST, FIRST + 1, FIRST + 2):
        unlocked = [c for c in COLUMNS if not cell(sheet, row, c).protection.locked]
        assert unlocked == FILLED_BY_INSTITUTION
    assert all(c.protection.locked for c in sheet[HEADER_ROW])


def test_estado_offers_a_dropdown_of_the_three_states(plan):
    sheet = sheet_of(build(plan))

    (validation,) = [
        v
        for v in sheet.data_validations.dataValidation
        if f"G{FIRST}" in v.sqref and f"G{FIRST + 2}" in v.sqref
    ]
    assert validation.type == "list"
    assert validation.formula1 == '"No iniciado,Iniciado,Completado"'
    assert validation.showErrorMessage


def test_avance_pct_accepts_only_whole_numbers_from_0_to_100_with_a_spanish_error(plan):
    sheet = sheet_of(build(plan))

    (validation,) = [v for v in sheet.data_validations.dataValidation if f"H{FIRST}" in v.sqref]
    assert (validation.type, validation.operator) == ("whole", "between")
    assert (validation.formula1, validation.formula2) == ("0", "100")
    assert validation.showErrorMessage
    assert "número entero de 0 a 100" in validation.error


def test_the_state_prompt_lists_the_three_states_as_a_sentence(plan):
    sheet = sheet_of(build(plan))

    (states,) = [v for v in sheet.data_validations.dataValidation if v.type == "list"]
    assert states.prompt == "Elija No iniciado, Iniciado o Completado."


def test_header_is_bold_filled_frozen_and_repeated_on_every_printed_page(plan):
    sheet = sheet_of(build(plan))

    header = sheet[HEADER_ROW][: len(COLUMNS)]
    assert all(c.font.bold and c.fill.fgColor.rgb.endswith(("DDEBF7", "D9D9D9")) for c in header)
    assert sheet.freeze_panes == f"C{FIRST}"
    assert cell(sheet, FIRST, "hito").alignment.wrap_text
    assert sheet.print_title_rows == f"${HEADER_ROW}:${HEADER_ROW}"
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
    assert sheet.sheet_properties.pageSetUpPr.fitToPage


def test_every_column_fits_a_1366_px_screen_at_100_percent(plan):
    """Excel's row numbers, scroll bar and window edges leave about 1,300 px of the 1,366."""
    sheet = sheet_of(build(plan))

    shown = [pixels(width) for width, hidden in columns_of(sheet) if not hidden]

    assert sum(shown) <= 1300
    assert [key for key in COLUMNS if not columns_of(sheet)[COLUMNS.index(key)][1]][-5:] == (
        FILLED_BY_INSTITUTION
    )


def test_the_institution_is_named_once_above_the_table_and_kept_hidden_on_every_row(plan):
    sheet = sheet_of(build(plan))

    hidden = [
        key for key, (_, is_hidden) in zip(COLUMNS, columns_of(sheet), strict=True) if is_hidden
    ]
    assert hidden == ["institucion"]
    assert {row["institucion"] for row in rows(sheet)} == {"MINGOB"}  # read back, as before
    assert "(MINGOB)" in heading(sheet)[1]


def test_a_commitment_is_written_once_on_the_first_row_of_its_milestones(plan):
    table = [(row["codigo_hito"], row["compromiso"]) for row in rows(sheet_of(build(plan)))]

    assert table == [
        ("1.1", "1. Seguridad ciudadana transparente"),
        ("1.10", None),
        ("2.1", "2. Datos abiertos"),
    ]


def test_the_milestone_code_and_the_header_stay_in_view_and_the_cursor_starts_at_the_state(
    plan,
):
    sheet = sheet_of(build(plan))

    assert sheet.freeze_panes == f"{cell(sheet, FIRST, 'compromiso').column_letter}{FIRST}"
    view = sheet.sheet_view
    [active] = [s for s in view.selection if s.pane == view.pane.activePane]
    assert active.activeCell == cell(sheet, FIRST, "estado").coordinate


def test_rows_open_tall_enough_for_their_text_and_grow_with_it(plan):
    """A custom height kept a row as built and cut longer text; without one, Excel and
    LibreOffice fit the row again once the liaison types in it."""
    data = build(plan, previous={"1.1": {"descripcion_avance": "Se publicó el portal. " * 12}})
    with ZipFile(BytesIO(data)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    heights = {
        int(number): float(height)
        for number, height in re.findall(r'<row r="(\d+)" ht="([\d.]+)"', xml)
    }

    data_rows = re.findall(rf'<row r="(?:{"|".join(str(FIRST + n) for n in range(3))})"[^>]*>', xml)
    assert data_rows and not any("customHeight" in row for row in data_rows)
    # 264 characters in a 30-unit column: at least eight lines of 15 points.
    assert heights[FIRST] >= 8 * 15
    assert heights[FIRST] > heights.get(FIRST + 2, 15)


def test_a_link_to_the_evidence_may_be_inserted_in_the_protected_sheet(plan):
    protection = sheet_of(build(plan)).protection

    assert protection.sheet and not protection.insertHyperlinks
    assert protection.insertRows and protection.deleteRows  # still locked: rows are the plan's


def test_cells_to_fill_look_different_from_locked_ones(plan):
    sheet = sheet_of(build(plan))

    for row in (FIRST, FIRST + 2):
        for key in COLUMNS:
            look = cell(sheet, row, key)
            colour, border = look.fill.fgColor.rgb, look.border.left.color.rgb
            if key in FILLED_BY_INSTITUTION:
                assert (colour, border) == ("00FFFFFF", "00595959"), key
            else:
                assert (colour, border) == ("00F2F2F2", "00BFBFBF"), key


def heading(sheet: Worksheet) -> list[str]:
    """The lines above the header, as the liaison sees them: in the first visible column."""
    shown = next(n for n, (_, hidden) in enumerate(columns_of(sheet), start=1) if not hidden)
    return [str(sheet.cell(row, shown).value) for row in range(1, HEADER_ROW)]


def columns_of(sheet: Worksheet) -> list[tuple[float, bool]]:
    """Each column's (width, hidden) from A, as the file declares them."""
    declared = {
        index: (dimension.width, bool(dimension.hidden))
        for dimension in sheet.column_dimensions.values()
        for index in range(dimension.min, dimension.max + 1)
    }
    return [declared[index] for index in range(1, len(COLUMNS) + 1)]


def pixels(width: float) -> int:
    """A column's width on screen at 100 %: Excel's digit of Calibri 11 is 7 px, plus 5 px."""
    return int(width * 7 + 5)


def test_institution_cycle_and_deadline_are_written_above_the_header(plan):
    sheet = sheet_of(build(plan))

    above = heading(sheet)
    assert above[0] == "Informe de avance de hitos · marzo 2023"
    assert "Ministerio de Gobernación (MINGOB)" in above[1]
    assert "viernes 24 de marzo de 2023" in above[2]
    assert "gobiernoabierto@gae.example" in above[2]


def test_an_english_workbook_has_english_labels_sheets_and_states(plan):
    book = openpyxl.load_workbook(BytesIO(build(plan, language="en")))

    assert book.sheetnames[:2] == ["Milestones", "Instructions"]
    sheet = book["Milestones"]
    labels = [c.value for c in sheet[HEADER_ROW][: len(COLUMNS)]]
    assert labels[1:3] == ["Milestone code", "Commitment"]
    assert [column_key(label) for label in labels] == COLUMNS
    assert cell(sheet, FIRST, "estado").value == "Not started"
    assert "Friday 24 March 2023" in heading(sheet)[2]


def test_without_previous_cycle_milestones_start_not_started_at_0(plan):
    (first, *_) = rows(sheet_of(build(plan)))

    assert first["estado"] == "No iniciado"
    assert first["avance_pct"] == 0
    assert first["descripcion_avance"] is first["evidencia_url"] is first["observaciones"] is None


def test_previous_cycle_values_are_prefilled(plan):
    previous: dict[str, dict[str, object]] = {
        "1.10": {
            "estado": "Iniciado",
            "avance_pct": 40.0,
            "descripcion_avance": "Borrador del informe",
            "evidencia_url": "https://example.org/informe",
            "observaciones": "",
        }
    }

    carried = rows(sheet_of(build(plan, previous=previous)))[1]

    assert carried["codigo_hito"] == "1.10"
    assert carried["estado"] == "Iniciado"
    assert carried["avance_pct"] == 40
    assert carried["descripcion_avance"] == "Borrador del informe"
    assert carried["evidencia_url"] == "https://example.org/informe"
    assert carried["observaciones"] is None


def test_previous_text_starting_with_equals_stays_text(plan):
    previous: dict[str, dict[str, object]] = {"1.1": {"observaciones": "=ver informe"}}

    note = cell(sheet_of(build(plan, previous=previous)), FIRST, "observaciones")

    assert (note.value, note.data_type) == ("=ver informe", "s")


def test_instructions_give_the_deadline_with_its_weekday_where_to_send_and_whom_to_ask(plan):
    text = "\n".join(
        str(value)
        for (value,) in sheet_of(build(plan), "Instrucciones").iter_rows(values_only=True)
    )

    assert "viernes 24 de marzo de 2023" in text
    assert "gobiernoabierto@gae.example" in text
    assert "Ana López" in text and "ana@example.org" in text
    assert "Completado lleva avance 100" in text
    assert "Ya escribimos lo que su institución reportó" not in text


def test_instructions_mention_prefilled_values_only_when_there_are_some(plan):
    previous: dict[str, dict[str, object]] = {"2.1": {"estado": "Completado", "avance_pct": 100}}
    sheet = sheet_of(build(plan, previous=previous), "Instrucciones")

    assert any("Ya escribimos" in str(value) for (value,) in sheet.iter_rows(values_only=True))


def test_meta_sheet_is_hidden_and_its_signature_verifies(plan):
    data = build(plan)
    meta = meta_of(data)

    assert sheet_of(data, "_meta").sheet_state == "hidden"
    assert meta == {
        "plan": "gt-test",
        "cycle": "2023-03",
        "institution": "MINGOB",
        "template_version": TEMPLATE_VERSION,
        "signature": signature(KEY, "gt-test", "2023-03", "MINGOB"),
    }
    assert verify(meta, KEY)


def test_meta_read_by_calamine_verifies(plan):
    table = pd.read_excel(
        BytesIO(build(plan)), sheet_name="_meta", engine="calamine", dtype=str, header=None
    )

    assert verify(dict(zip(table[0], table[1], strict=True)), KEY)


@pytest.mark.parametrize("field", ["plan", "cycle", "institution", "template_version"])
def test_tampered_meta_does_not_verify(plan, field):
    meta = meta_of(build(plan))

    assert not verify(meta | {field: "GAE" if field == "institution" else "2"}, KEY)
    assert not verify({k: v for k, v in meta.items() if k != field}, KEY)


def test_meta_signed_with_another_key_does_not_verify(plan):
    assert not verify(meta_of(build(plan)), "another-key")


def test_institution_without_milestones_is_refused(plan):
    data = plan.model_dump()
    data["institutions"].append({**plan.institution("GAE").model_dump(), "code": "SAT"})

    with pytest.raises(ValueError, match="SAT has no milestones"):
        build(Plan.model_validate(data), institution="SAT")


def test_same_inputs_give_the_same_workbook_content(plan):
    def parts(data: bytes) -> dict[str, bytes]:
        with ZipFile(BytesIO(data)) as archive:
            return {name: archive.read(name) for name in archive.namelist()}

    first, second = build(plan), build(plan)

    assert parts(first) == parts(second)
    properties = openpyxl.load_workbook(BytesIO(first)).properties
    assert properties.created == properties.modified == datetime(2023, 3, 1)


# Marking a returned workbook


def returned(plan: Plan, tmp_path, edit=None) -> bytes:
    """The request workbook as an institution sends it back, optionally edited first."""
    workbook = openpyxl.load_workbook(BytesIO(build(plan)))
    if edit:
        edit(workbook["Hitos"])
    path = tmp_path / "MINGOB avance.xlsx"
    workbook.save(path)
    return path.read_bytes()


def test_marks_an_error_cell_light_red_with_a_comment_saying_what_to_fix(plan, tmp_path):
    problem = finding(
        "state-invalid", milestone="1.10", column="estado", row=FIRST + 1, value="Terminado"
    )

    marked = sheet_of(mark_findings(returned(plan, tmp_path), "avance.xlsx", [problem]) or b"")

    estado = cell(marked, FIRST + 1, "estado")
    assert estado.fill.fgColor.rgb.endswith("FFC7CE")
    assert estado.comment is not None
    assert "Terminado" in estado.comment.text
    assert cell(marked, FIRST, "estado").comment is None


def test_marks_a_warning_cell_yellow(plan, tmp_path):
    warning = finding(
        "progress-decreased",
        "warning",
        milestone="1.1",
        column="avance_pct",
        row=FIRST,
        previous=60,
        previous_cycle="2022-08",
        value=40,
    )

    marked = sheet_of(mark_findings(returned(plan, tmp_path), "avance.xlsx", [warning]) or b"")

    assert cell(marked, FIRST, "avance_pct").fill.fgColor.rgb.endswith("FFEB9C")


def test_finds_the_header_when_offices_add_title_rows_above_it(plan, tmp_path):
    data = returned(plan, tmp_path, edit=lambda sheet: sheet.insert_rows(1, amount=2))
    row = FIRST + 2
    problem = finding("evidence-url-missing", milestone="1.1", column="evidencia_url", row=row)

    marked = sheet_of(mark_findings(data, "avance.xlsx", [problem]) or b"")

    assert marked.cell(row, COLUMNS.index("evidencia_url") + 1).comment is not None


def test_file_level_findings_go_to_their_column_header_or_a1(plan, tmp_path):
    absent = finding("milestone-absent", milestone="2.1", column="codigo_hito")
    unidentified = finding("not-identified", filename="avance.xlsx")

    marked = sheet_of(
        mark_findings(returned(plan, tmp_path), "avance.xlsx", [absent, unidentified]) or b""
    )

    assert "2.1" in marked[f"B{HEADER_ROW}"].comment.text
    assert "avance.xlsx" in marked["A1"].comment.text


def test_corrections_sheet_lists_every_finding_and_opens_first(plan, tmp_path):
    problems = [
        finding(
            "state-invalid", milestone="1.10", column="estado", row=FIRST + 1, value="Terminado"
        ),
        finding(
            "progress-description-missing",
            milestone="2.1",
            column="descripcion_avance",
            row=FIRST + 2,
        ),
    ]

    data = mark_findings(returned(plan, tmp_path), "avance.xlsx", problems) or b""

    workbook = openpyxl.load_workbook(BytesIO(data))
    assert workbook.active.title == "Correcciones"
    listed = list(workbook["Correcciones"].iter_rows(values_only=True))
    assert listed[0] == ("Hito", "Fila", "Columna", "Tipo", "Qué corregir")
    assert [(hito, columna) for hito, _, columna, _, _ in listed[1:]] == [
        ("1.10", "Estado"),
        ("2.1", "Descripción del avance"),
    ]
    assert listed[1][4] == problems[0].message


def test_marking_a_resent_copy_clears_the_marks_already_fixed(plan, tmp_path):
    first = finding(
        "state-invalid", milestone="1.10", column="estado", row=FIRST + 1, value="Terminado"
    )
    second = finding("evidence-url-missing", milestone="2.1", column="evidencia_url", row=FIRST + 2)
    once = mark_findings(returned(plan, tmp_path), "avance.xlsx", [first]) or b""

    twice = openpyxl.load_workbook(BytesIO(mark_findings(once, "avance.xlsx", [second]) or b""))

    marked = twice["Hitos"]
    assert cell(marked, FIRST + 1, "estado").comment is None
    assert cell(marked, FIRST + 1, "estado").fill.fgColor.rgb == "00FFFFFF"  # a cell to fill again
    assert cell(marked, FIRST + 2, "evidencia_url").comment is not None
    assert twice.sheetnames.count("Correcciones") == 1
    assert len(list(twice["Correcciones"].iter_rows())) == 2


def test_marked_copy_keeps_the_institution_values_and_the_signed_meta(plan, tmp_path):
    data = returned(
        plan, tmp_path, edit=lambda sheet: setattr(sheet[f"I{FIRST}"], "value", "Hecho")
    )
    problem = finding("evidence-url-missing", milestone="1.1", column="evidencia_url", row=FIRST)

    marked = mark_findings(data, "avance.xlsx", [problem]) or b""

    assert sheet_of(marked)[f"I{FIRST}"].value == "Hecho"
    assert verify(meta_of(marked), KEY)


@pytest.mark.parametrize(
    ("language", "name"),
    [("es", "corregir-12-MINGOB avance.xlsx"), ("en", "to-fix-12-MINGOB avance.xlsx")],
)
def test_the_marked_copy_is_named_in_the_replys_language(language, name):
    assert marked_name(12, "MINGOB avance.xlsm", language) == name


def test_csv_and_corrupt_files_are_not_marked(plan):
    problem = finding("file-unreadable", filename="avance.csv", reason="formato")
    csv = "codigo_hito;estado\n1.1;Iniciado\n".encode("latin-1")

    assert mark_findings(csv, "avance.csv", [problem]) is None
    assert mark_findings(csv, "avance.xlsx", [problem]) is None
    assert mark_findings(build(plan)[:500], "avance.xlsx", [problem]) is None


def test_a_mark_lands_on_the_cell_the_reader_named_under_renamed_headers(tmp_path):
    """An office's own table: «Código hito» in D, «Avance %» in F, a title row above."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Hitos"
    sheet.append(["Informe de avances del MINGOB"])
    sheet.append(["Institución", "Compromiso", "Hito", "Código hito", "Estado", "Avance %"])
    sheet.append(["MINGOB", "1", "Hito", "1.1", "Iniciado", 150])
    path = tmp_path / "propio.xlsx"
    workbook.save(path)
    data = path.read_bytes()
    read = read_submission(data, path.name)
    (row,) = read.rows.to_dict("records")
    problem = finding(
        "progress-out-of-range", milestone="1.1", column="avance_pct", row=row["fila"], value=150
    )

    marked = sheet_of(mark_findings(data, path.name, [problem]) or b"")

    assert (row["fila"], row["avance_pct"]) == (3, 150.0)
    assert marked["F3"].comment is not None and "150" in marked["F3"].comment.text
    assert marked["A3"].comment is None and marked["D3"].comment is None
