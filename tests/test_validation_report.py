"""Validation returns a report object: the findings and the Great Expectations runs behind them.

The suite's rules carry Great Expectations' own severity, so a file whose only problems are
warnings is a successful run.
"""

from __future__ import annotations

import json
from datetime import date
from io import BytesIO

import pytest
from openpyxl import load_workbook

from tasks.checks.validation import SUITE, prepare, suite, validate
from tasks.core import contract
from tasks.plans.plan import load_plan
from tasks.settings import Settings
from tasks.simulation import filled_workbook
from tasks.workbooks.building import build_request_workbook
from tasks.workbooks.layout import header
from tasks.workbooks.reading import read_submission

DEADLINE = date(2023, 3, 15)


@pytest.fixture(scope="module")
def plan():
    return load_plan(Settings().plan)


def request(plan, tmp_path, code: str = "MINEDUC") -> bytes:
    data = build_request_workbook(plan, plan.institution(code), "2023-03", DEADLINE, "x@y.z", "k")
    (tmp_path / "request.xlsx").write_bytes(data)
    return data


def all_completed(data: bytes, **changed: tuple[str, object]) -> bytes:
    """Every milestone completed at 100 % with evidence; ``changed`` sets one milestone's state
    and progress (code → (state code, progress))."""
    book = load_workbook(BytesIO(data))
    sheet = book.worksheets[0]
    row, columns = header(sheet)
    assert row is not None
    for line in range(row + 1, sheet.max_row + 1):
        code = str(sheet.cell(line, columns[contract.CODE]).value)
        state, progress = changed.get(code.replace(".", "_"), (contract.COMPLETED, 100))
        sheet.cell(line, columns[contract.STATE]).value = contract.state_label(state, "es")
        sheet.cell(line, columns[contract.PROGRESS]).value = progress
        sheet.cell(line, columns["descripcion_avance"]).value = f"Avance {code}."
        sheet.cell(line, columns["evidencia_url"]).value = f"https://mineduc.example/{code}"
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def rules(report, key: str = "7") -> set[tuple[str, str]]:
    return {(f.rule, f.severity) for f in report.findings[key]}


def test_validate_returns_the_findings_and_the_run_that_decided_them(plan, tmp_path):
    request(plan, tmp_path)
    read = read_submission(
        filled_workbook(tmp_path / "request.xlsx", "MINEDUC", careless=True), "a.xlsx"
    )
    batch = [prepare(read.rows, "7", plan, "MINEDUC", DEADLINE, cycle="2023-03")]

    report = validate(batch, plan)

    assert ("completed-requires-100", "error") in rules(report)
    assert report.run is not None
    assert report.run.success is False
    assert len(report.run.results()) == 1
    assert len(report.run.frame) == len(read.rows)


def test_a_file_with_only_warnings_is_a_successful_run(plan, tmp_path):
    data = request(plan, tmp_path)
    overdue = next(m.code for m in plan.milestones_of("MINEDUC") if m.end < DEADLINE)
    answer = all_completed(data, **{overdue.replace(".", "_"): (contract.IN_PROGRESS, 50)})
    read = read_submission(answer, "a.xlsx")

    report = validate([prepare(read.rows, "7", plan, "MINEDUC", DEADLINE)], plan)

    assert rules(report) == {("milestone-overdue", "warning")}
    assert report.run is not None and report.run.success is True
    [result] = report.run.results()
    assert result.success is False  # Great Expectations' own verdict counts warnings too


def test_a_fractional_progress_is_found_by_the_suite_itself(plan, tmp_path):
    data = request(plan, tmp_path)
    first = plan.milestones_of("MINEDUC")[-1].code
    answer = all_completed(data, **{first.replace(".", "_"): (contract.IN_PROGRESS, 50.5)})
    read = read_submission(answer, "a.xlsx")

    report = validate([prepare(read.rows, "7", plan, "MINEDUC", DEADLINE)], plan)

    assert ("progress-not-whole", "error") in rules(report)
    assert report.run is not None and "_avance_entero" not in report.run.frame.columns


def test_the_whole_number_rule_is_the_contracts_bounds():
    data = json.loads(SUITE.read_text(encoding="utf-8"))
    [whole] = [e for e in data["expectations"] if e["meta"]["rule"] == "progress-not-whole"]

    assert whole["kwargs"]["value_set"] == list(
        range(contract.PROGRESS_MIN, contract.PROGRESS_MAX + 1)
    )


@pytest.mark.parametrize("language", ["es", "en"])
def test_every_rule_is_described_in_the_plans_language_with_its_severity(language):
    loaded = suite(language)
    data = json.loads(SUITE.read_text(encoding="utf-8"))["expectations"]
    warnings = {e["meta"]["rule"] for e in data if e["severity"] == "warning"}

    assert warnings == {"progress-decreased", "same-as-last-cycle", "milestone-overdue"}
    assert len(loaded.expectations) == len(data)
    for expectation in loaded.expectations:
        is_warning = expectation.meta["rule"] in warnings
        assert expectation.severity == ("warning" if is_warning else "critical")
        assert expectation.description
        assert "_" not in expectation.description  # no helper column or key named


def test_an_empty_batch_has_no_run(plan):
    report = validate([], plan)

    assert (report.findings, report.runs, report.run) == ({}, [], None)


@pytest.mark.parametrize(
    ("language", "written"), [("es", "{d:%d/%m/%Y}"), ("en", "{d.day} {d:%b} {d.year}")]
)
def test_an_overdue_milestone_names_its_end_date_the_way_the_language_writes_dates(
    plan, tmp_path, language, written
):
    data = request(plan, tmp_path)
    overdue = next(m for m in plan.milestones_of("MINEDUC") if m.end < DEADLINE)
    answer = all_completed(data, **{overdue.code.replace(".", "_"): (contract.IN_PROGRESS, 50)})
    read = read_submission(answer, "a.xlsx")

    report = validate([prepare(read.rows, "7", plan, "MINEDUC", DEADLINE)], plan, language)

    [message] = [f.message for f in report.findings["7"] if f.rule == "milestone-overdue"]
    assert written.format(d=overdue.end) in message


def last_cycle(code: str, description: str, evidence: str, state: str = contract.IN_PROGRESS):
    """``prepare``'s ``previous``: what the last accepted file of 2022-08 said of one milestone."""
    values = {
        contract.STATE: state,
        contract.PROGRESS: 40.0,
        "descripcion_avance": description,
        "evidencia_url": evidence,
        "observaciones": "",
    }
    return {code: values}


def same_as_last_cycle(plan, answer: bytes, previous) -> list:
    read = read_submission(answer, "a.xlsx")
    batch = [prepare(read.rows, "7", plan, "MINEDUC", DEADLINE, previous, "2022-08")]
    return [f for f in validate(batch, plan).findings["7"] if f.rule == "same-as-last-cycle"]


def test_warns_when_a_started_milestone_brings_last_cycles_description_and_evidence(plan, tmp_path):
    answer = all_completed(request(plan, tmp_path), **{"4_6": (contract.IN_PROGRESS, 60)})
    # Spacing is not a new word: a line break where last cycle's text had a space is the same.
    previous = last_cycle("4.6", "Avance\n 4.6.", "https://mineduc.example/4.6 ")

    [warning] = same_as_last_cycle(plan, answer, previous)

    assert (warning.milestone, warning.column, warning.severity) == (
        "4.6",
        "descripcion_avance",
        "warning",
    )
    assert warning.message.startswith("El hito 4.6 sigue «Iniciado» con la misma")
    assert "ciclo 2022-08" in warning.message


@pytest.mark.parametrize(
    ("description", "evidence"),
    [
        ("Avance 4.6.", "https://mineduc.example/acta-4.6"),
        ("Se firmó el convenio.", "https://mineduc.example/4.6"),
    ],
)
def test_a_new_description_or_new_evidence_is_not_same_as_last_cycle(
    plan, tmp_path, description, evidence
):
    answer = all_completed(request(plan, tmp_path), **{"4_6": (contract.IN_PROGRESS, 60)})

    assert same_as_last_cycle(plan, answer, last_cycle("4.6", description, evidence)) == []


def test_a_completed_milestone_may_keep_last_cycles_words(plan, tmp_path):
    answer = all_completed(request(plan, tmp_path))  # 4.6 completed, as it already was
    previous = last_cycle("4.6", "Avance 4.6.", "https://mineduc.example/4.6", contract.COMPLETED)

    assert same_as_last_cycle(plan, answer, previous) == []
