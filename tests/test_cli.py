"""The `hitos` command as an operator uses it, on a workspace of its own."""

from __future__ import annotations

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from hitos_cli import app
from tasks.cycle.requests import build_request, open_cycle_record
from tasks.simulation import CARELESS, filled_workbook


@pytest.fixture
def workspace(settings, plan, monkeypatch, tmp_path):
    monkeypatch.setenv("HITOS_HOME", str(settings.home))
    cycle = open_cycle_record(settings, plan, "2023-03", date(2023, 3, 1))
    return settings, plan, cycle


def request_filled(settings, plan, cycle, code, tmp_path, careless=False):
    request = build_request(settings, plan, cycle, plan.institution(code))
    path = tmp_path / f"avances-{code}.xlsx"
    path.write_bytes(filled_workbook(request, code, careless))
    return path


def submit(*args):
    result = CliRunner().invoke(app, ["submit", *args, "--json"])
    return result.exit_code, json.loads(result.stdout)


def test_submit_accepts_a_correct_workbook_and_says_whose_it_is(workspace, tmp_path):
    settings, plan, cycle = workspace
    code, data = submit(str(request_filled(settings, plan, cycle, "MINGOB", tmp_path)))

    assert code == 0
    assert data["outcome"] in ("accepted", "accepted_with_warnings")
    assert (data["institution"], data["cycle"]) == ("MINGOB", "2023-03")
    assert all(f["severity"] == "warning" for f in data["findings"])
    assert (settings.home / "data-docs" / settings.plan_id / "2023-03" / "index.html").exists()


def test_submit_rejects_with_milestone_column_and_rule_and_exits_1(workspace, tmp_path):
    settings, plan, cycle = workspace
    path = request_filled(settings, plan, cycle, CARELESS, tmp_path, careless=True)
    code, data = submit(str(path))

    assert code == 1
    assert data["outcome"] == "rejected"
    first = plan.milestones_of(CARELESS)[0].code
    finding = next(f for f in data["findings"] if f["rule"] == "completed-requires-100")
    assert (finding["milestone"], finding["column"], finding["severity"]) == (
        first,
        "avance_pct",
        "error",
    )
    assert "debe ser 100 %" in finding["message"]


def test_submit_reports_a_non_spreadsheet_as_unreadable_and_exits_2(workspace, tmp_path):
    path = tmp_path / "informe.xlsx"
    path.write_text("esto no es una hoja de cálculo", encoding="utf-8")
    code, data = submit(str(path), "--institution", "MINGOB", "--cycle", "2023-03")

    assert code == 2
    assert data["outcome"] == "unreadable"
    assert data["findings"][0]["rule"] == "file-unreadable"


def test_the_same_file_submitted_twice_is_processed_once(workspace, tmp_path):
    settings, plan, cycle = workspace
    path = request_filled(settings, plan, cycle, "SESAN", tmp_path)
    submit(str(path))
    submit(str(path))

    result = CliRunner().invoke(app, ["findings", "2023-03", "--institution", "SESAN", "--json"])
    assert len(json.loads(result.stdout)) == 1


def test_status_lists_every_asked_institution_as_json(workspace):
    result = CliRunner().invoke(app, ["status", "2023-03", "--json"])
    rows = json.loads(result.stdout)
    _, plan, _ = workspace
    assert [r["institution"] for r in rows] == [i.code for i in plan.reporting_institutions()]
    assert {r["request"] for r in rows} == {"not sent"}


def test_status_of_an_unknown_cycle_says_how_to_open_it(workspace):
    result = CliRunner().invoke(app, ["status", "2031-03"])
    assert result.exit_code == 2
    assert "hitos cycle open 2031-03" in result.stdout


def test_board_command_rebuilds_the_public_board_and_says_what_it_wrote(workspace, tmp_path, smtp):
    from tasks.people.review import approve, pending_reviews
    from tasks.publication.approval import consolidate_draft, publish_draft

    settings, plan, cycle = workspace
    submit(str(request_filled(settings, plan, cycle, "MINGOB", tmp_path)))
    [item] = pending_reviews(settings)
    approve(settings, plan, item.submission_id, "revisora@gae.example")
    consolidate_draft(settings, plan, "2023-03")
    publish_draft(settings, plan, "2023-03", "directora@gae.example")

    result = CliRunner().invoke(app, ["board", "--json"])

    assert result.exit_code == 0, result.stdout
    summary = json.loads(result.stdout)
    assert summary["cycles"] == {"2023-03": 1}
    # home, OGP view, downloads and the Mesa's page; a page per commitment and per institution
    assert summary["pages"] == 4 + len(plan.commitments) + len(plan.reporting_institutions())
    assert (settings.home / "board" / "gt-pan5" / "index.html").exists()
