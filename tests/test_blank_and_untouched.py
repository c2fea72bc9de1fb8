"""Blank and untouched: a required cell left empty is an error naming milestone and column; the
request workbook sent straight back is a warning reviewers see (``unchanged-from-request``)."""

from __future__ import annotations

import hashlib
import io
from datetime import date

import pytest
from openpyxl import load_workbook

from tasks.core.findings import finding
from tasks.cycle.requests import build_request, open_cycle_record
from tasks.intake.process import process
from tasks.intake.store import store
from tasks.mail.inbox import Attachment, Received
from tasks.workbooks.layout import header as workbook_header
from tasks.workbooks.reading import read_submission
from tasks.workbooks.untouched import FILLED, filled_digest
from tests.test_hostile_intake import LIAISON, filled


@pytest.fixture
def template(settings, plan) -> bytes:
    cycle = open_cycle_record(settings, plan, "2023-03", date(2023, 3, 1))
    return build_request(settings, plan, cycle, plan.institution("MINGOB")).read_bytes()


def intake_of(settings, plan, data: bytes, name: str = "avances.xlsx"):
    message = Received(
        f"<{name}@mingob.example>", "mail", LIAISON, attachments=[Attachment(name, data)]
    )
    store(settings, [message])
    [outcome] = process(settings, plan)
    return outcome


def blanked(data: bytes, column: str, code: str = "1.5") -> bytes:
    return edited(data, code, **{column: None})


def edited(data: bytes, code: str, **values: object) -> bytes:
    """The workbook with one milestone's cells set, found by their headers."""
    book = load_workbook(io.BytesIO(data))
    sheet = book["Hitos"]
    header_row, header = workbook_header(sheet)
    assert header_row is not None
    for row in range(header_row + 1, sheet.max_row + 1):
        if sheet.cell(row, header["codigo_hito"]).value == code:
            for column, value in values.items():
                sheet.cell(row, header[column]).value = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("column", "rule", "milestone"),
    [
        ("estado", "state-missing", "1.5"),
        ("avance_pct", "progress-missing", "1.5"),
        ("descripcion_avance", "progress-description-missing", "1.5"),
        ("evidencia_url", "evidence-url-missing", "1.5"),
        # A row without its code cannot name it: the row is named, and the plan's milestone
        # the file now lacks is named as absent.
        ("codigo_hito", "milestone-code-missing", ""),
    ],
)
def test_a_required_cell_left_blank_is_an_error_naming_milestone_and_column(
    settings, plan, template, column, rule, milestone
):
    outcome = intake_of(settings, plan, blanked(filled(template, 40), column))

    found = {(f.rule, f.milestone, f.column) for f in outcome.findings}
    assert outcome.outcome == "rejected"
    assert (rule, milestone, column) in found
    if column == "codigo_hito":
        assert ("milestone-absent", "1.5", "codigo_hito") in found


def test_a_blank_progress_is_not_called_text_that_is_no_number(settings, plan, template):
    outcome = intake_of(settings, plan, blanked(filled(template, 40), "avance_pct"))

    rules = {f.rule for f in outcome.findings}
    assert "progress-missing" in rules and "progress-not-a-number" not in rules
    message = next(f.message for f in outcome.findings if f.rule == "progress-missing")
    assert message.startswith("El hito 1.5 no tiene avance")


def test_the_request_sent_straight_back_is_unchanged_from_request(settings, plan, template):
    outcome = intake_of(settings, plan, template, "gt-pan5-2023-03-MINGOB.xlsx")

    [unchanged] = [f for f in outcome.findings if f.rule == "unchanged-from-request"]
    assert unchanged.severity == "warning"
    assert unchanged.message.startswith("El archivo es igual a la plantilla que le enviamos")


@pytest.mark.parametrize(("language", "column"), [("es", "«Observaciones»"), ("en", "«Notes»")])
def test_unchanged_from_request_names_the_notes_column_as_the_workbook_labels_it(language, column):
    message = finding("unchanged-from-request", "warning", language=language).message

    assert message.endswith(f"{column}.")


def test_the_request_saved_again_without_a_change_is_unchanged_too(settings, plan, template):
    book = load_workbook(io.BytesIO(template))
    book["Hitos"].sheet_properties.tabColor = "1072BA"  # what a resave changes, not a value
    out = io.BytesIO()
    book.save(out)
    assert out.getvalue() != template

    outcome = intake_of(settings, plan, out.getvalue())

    assert "unchanged-from-request" in {f.rule for f in outcome.findings}


def test_a_filled_workbook_is_not_unchanged(settings, plan, template):
    outcome = intake_of(settings, plan, filled(template, 40))

    assert outcome.outcome == "accepted"
    assert "unchanged-from-request" not in {f.rule for f in outcome.findings}


@pytest.fixture
def august(settings, plan, template) -> bytes:
    """MINGOB's 2023-08 request, pre-filled from its accepted March file (1.5 started at 40 %,
    the rest completed)."""
    assert intake_of(settings, plan, filled(template, 40), "marzo.xlsx").outcome == "accepted"
    cycle = open_cycle_record(settings, plan, "2023-08", date(2023, 8, 1))
    return build_request(settings, plan, cycle, plan.institution("MINGOB")).read_bytes()


def test_a_started_milestone_sent_back_in_last_cycles_words_is_a_warning(settings, plan, august):
    outcome = intake_of(settings, plan, edited(august, "1.5", avance_pct=60), "agosto.xlsx")

    [same] = [f for f in outcome.findings if f.rule == "same-as-last-cycle"]
    assert (same.milestone, same.column, same.severity) == ("1.5", "descripcion_avance", "warning")
    assert "2023-03" in same.message
    assert outcome.outcome == "accepted_with_warnings"


def test_a_started_milestone_with_this_periods_words_is_not_warned(settings, plan, august):
    answer = edited(august, "1.5", avance_pct=60, descripcion_avance="Se publicó el tablero.")

    outcome = intake_of(settings, plan, answer, "agosto.xlsx")

    assert "same-as-last-cycle" not in {f.rule for f in outcome.findings}


@pytest.mark.parametrize("changes", [{}, {"estado": "Iniciado", "avance_pct": 40}])
def test_the_filled_digest_is_the_one_ledgers_already_hold(template, changes):
    # Requests recorded before the digest stopped using pandas hold the digest of the text
    # pandas wrote: the same workbook must still give it, or their untouched answers go unseen.
    data = edited(template, "1.5", **changes) if changes else template
    # Both an untouched request (blank cells) and a filled one (text and numbers).
    read = read_submission(data, "avances.xlsx")
    columns = [c for c in FILLED if c in read.rows.columns]
    as_pandas_wrote = read.rows[columns].astype(str).sort_values("codigo_hito", kind="stable")
    expected = hashlib.sha256(as_pandas_wrote.to_csv(index=False).encode("utf-8")).hexdigest()
    assert filled_digest(read) == expected
