"""Validation returns a report object: the findings and the Great Expectations run behind them."""

from __future__ import annotations

from datetime import date

from tasks.checks.validation import ValidationReport, prepare, validate
from tasks.plans.plan import load_plan
from tasks.settings import Settings
from tasks.simulation import filled_workbook
from tasks.workbooks.reading import read_submission
from tasks.workbooks.request_workbook import build_request_workbook


def test_validate_returns_the_findings_and_the_run_that_decided_them(tmp_path):
    plan = load_plan(Settings().plan)
    mineduc = plan.institution("MINEDUC")
    request = tmp_path / "request.xlsx"
    request.write_bytes(
        build_request_workbook(plan, mineduc, "2023-03", date(2023, 3, 15), "x@y.z", "k")
    )
    read = read_submission(filled_workbook(request, "MINEDUC", careless=True), "a.xlsx")
    batch = [prepare(read.rows, "7", plan, "MINEDUC", date(2023, 3, 15))]

    report = validate(batch, plan)

    assert isinstance(report, ValidationReport)
    assert {f.rule for f in report.findings["7"]} >= {"completed-requires-100"}
    assert report.run is not None
    assert report.run.result.success is False
    assert len(report.run.frame) == len(read.rows)


def test_an_empty_batch_has_no_run():
    report = validate([], load_plan(Settings().plan))

    assert (report.findings, report.run) == ({}, None)
