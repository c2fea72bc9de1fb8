"""The workbook contract has one home: the writer, the reader, the suite and the ledger agree."""

from __future__ import annotations

import ast
import json
import re
from io import BytesIO
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import inspect

from tasks.catalogues import LANGUAGES
from tasks.checks.validation import SUITE
from tasks.core import contract
from tasks.plans.plan import load_plan
from tasks.settings import Settings
from tasks.storage.ledger import MilestoneValue
from tasks.workbooks.building import build_request_workbook
from tasks.workbooks.layout import HEADER_ROW, header
from tasks.workbooks.reading import read_submission

ROOT = Path(__file__).resolve().parent.parent
CODE_FILES = [
    *ROOT.glob("tasks/**/*.py"),
    *ROOT.glob("flows/*.py"),
    *ROOT.glob("bench/*.py"),
    *ROOT.glob("hitos_cli/*.py"),
]
SOURCES = sorted(p for p in CODE_FILES if p.name != "contract.py")


def suite() -> dict[str, dict]:
    """The suite's expectations by rule code."""
    data = json.loads(SUITE.read_text(encoding="utf-8"))
    return {e["meta"]["rule"]: e for e in data["expectations"]}


def workbook(language: str) -> bytes:
    plan = load_plan(Settings().plan)
    institution = plan.reporting_institutions()[0]
    return build_request_workbook(
        plan, institution, "2023-03", plan.milestones[0].end, "x@example.org", "k", None, language
    )


def dropdown(data: bytes) -> list[str]:
    sheet = openpyxl.load_workbook(BytesIO(data)).worksheets[0]
    (states,) = [v for v in sheet.data_validations.dataValidation if v.type == "list"]
    return str(states.formula1).strip('"').split(",")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_dropdown_the_suite_and_the_reader_know_the_same_three_states(language, tmp_path):
    data = workbook(language)
    listed = dropdown(data)
    book = openpyxl.load_workbook(BytesIO(data))
    sheet = book.worksheets[0]
    row, columns = header(sheet)
    assert row == HEADER_ROW
    for offset, label in enumerate(listed, start=1):
        sheet.cell(HEADER_ROW + offset, columns[contract.STATE]).value = label
    path = tmp_path / "filled.xlsx"
    book.save(path)
    read = read_submission(path.read_bytes(), path.name).rows[contract.STATE].tolist()

    suite_states = suite()["state-invalid"]["kwargs"]["value_set"]
    assert listed == contract.state_labels(language)
    assert read[: len(listed)] == suite_states == contract.STATE_CODES


def test_the_suite_checks_the_contract_bounds_of_progress_per_state():
    rules = suite()
    completed, started, not_started = (
        contract.BY_STATE[code]
        for code in (contract.COMPLETED, contract.IN_PROGRESS, contract.NOT_STARTED)
    )
    bounds = rules["progress-out-of-range"]["kwargs"]
    assert (bounds["min_value"], bounds["max_value"]) == (
        contract.PROGRESS_MIN,
        contract.PROGRESS_MAX,
    )
    assert (
        rules["completed-requires-100"]["kwargs"]["value_set"]
        == [completed.low, completed.high][:1]
    )
    assert rules["not-started-requires-0"]["kwargs"]["value_set"] == [not_started.high]
    in_progress = rules["started-requires-1-to-99"]["kwargs"]
    assert (in_progress["min_value"], in_progress["max_value"]) == (started.low, started.high)
    assert (
        f'estado=="{contract.COMPLETED}"'
        in rules["completed-requires-100"]["kwargs"]["row_condition"]
    )
    assert rules["milestone-overdue"]["kwargs"]["value_set"] == [contract.COMPLETED]


def test_the_suite_names_only_contract_columns_and_state_codes():
    for rule, expectation in suite().items():
        assert expectation["meta"]["column"] in contract.KEYS, rule
        condition = expectation["kwargs"].get("row_condition", "")
        if condition.startswith("estado"):
            named = re.findall(r'"([^"]+)"', condition)
            assert set(named) <= set(contract.STATE_CODES), rule
            if " in " in condition:
                assert named == contract.STARTED, rule
    required = {
        e["kwargs"]["column"]
        for e in suite().values()
        if e["type"] == "expect_column_values_to_not_be_null"
    }
    assert required <= set(contract.REQUIRED)


def test_the_ledger_keeps_exactly_the_contract_value_columns():
    stored = [c.key for c in inspect(MilestoneValue).columns]
    assert [c for c in stored if c in contract.KEYS] == contract.VALUE_COLUMNS
    assert set(stored) - set(contract.VALUE_COLUMNS) == {"id", "submission_id", "milestone"}


def test_every_language_labels_every_column_state_and_sheet():
    for language in LANGUAGES:
        labels = [c.label(language) for c in contract.COLUMNS]
        assert len(set(labels)) == len(labels)
        assert [contract.column_key(label) for label in labels] == contract.KEYS
        assert len(set(contract.state_labels(language))) == len(contract.STATES)
        assert all(contract.sheet_name(key, language) for key in contract.SHEETS)


def _violations(path: Path) -> list[str]:
    """String literals naming a state, and literal collections of three or more of the columns
    an institution fills (the published table reuses the contract's other keys for its own
    columns: ``institucion``, ``hito``)."""
    states = {s.code for s in contract.STATES} | {
        s.label(language) for s in contract.STATES for language in LANGUAGES
    }
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and (node.value.casefold() in states or node.value in states)
        ):
            found.append(f"{path.name}:{node.lineno} state {node.value!r}")
        elements: list[ast.expr | None] = []
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            elements = list(node.elts)
        elif isinstance(node, ast.Dict):
            elements = [*node.keys, *node.values]
        keys = {
            e.value
            for e in elements
            if isinstance(e, ast.Constant) and e.value in contract.FILLED_BY_INSTITUTION
        }
        if len(keys) >= 3:
            found.append(f"{path.name}:{getattr(node, 'lineno', 0)} columns {sorted(keys)}")
    return found


def test_no_state_or_column_list_lives_outside_the_contract():
    assert [v for path in SOURCES for v in _violations(path)] == []


def test_the_check_for_lists_outside_the_contract_catches_one(tmp_path):
    stray = tmp_path / "stray.py"
    stray.write_text(
        'STATES = ["No iniciado", "Iniciado"]\nCOLS = ("estado", "avance_pct", "observaciones")\n'
    )
    assert len(_violations(stray)) == 3


def test_there_is_one_header_matcher():
    for path in SOURCES:
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"def _?(find_)?header\(.*grid", source), path.name
    assert "contract.find_header" in (ROOT / "tasks" / "workbooks" / "reading.py").read_text()
    marker = ROOT / "tasks" / "workbooks" / "layout.py"  # the marker's and the builder's
    assert "contract.find_header" in marker.read_text()
