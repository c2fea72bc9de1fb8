"""`hitos plan check` and `hitos plan import`: a plan checked whole, a plan from a spreadsheet."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import openpyxl
import pytest
import yaml
from typer.testing import CliRunner

from hitos_cli import app
from tasks.plans.check import check_data, check_file
from tasks.plans.plan import Plan, PlanFileTooLarge, load_plan
from tasks.plans.spreadsheet import export_plan, import_plan

SAMPLE = Path(__file__).resolve().parents[1] / "plans" / "gt-pan5.yaml"


def sample_data() -> dict:
    return yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))


def codes(problems) -> list[tuple[str, str]]:
    return [(p.code, p.where) for p in problems]


def test_the_sample_plan_has_no_problems():
    assert check_file(SAMPLE) == []


def test_check_lists_every_problem_at_once_with_where_it_is():
    data = sample_data()
    first = data["commitments"][0]["milestones"]
    first[1]["code"] = first[0]["code"]  # 1.1 twice
    first[2]["institution"] = "SESAN"  # SESAN does not lead commitment 1
    first[3]["end"] = "2024-02-01"  # after the plan's end, 2023-08-31
    data["commitments"][1]["leads"] = ["NADIE"]

    problems = check_data(data)

    assert codes(problems) == [
        ("institution-not-a-lead", "milestone 1.3"),
        ("date-outside-period", "milestone 1.4"),
        ("unknown-institution", "commitment 2"),
        ("institution-not-a-lead", "milestone 2.1"),
        ("institution-not-a-lead", "milestone 2.2"),
        ("institution-not-a-lead", "milestone 2.3"),
        ("milestone-duplicated", "milestone 1.1"),
    ]
    lead = next(p for p in problems if p.code == "institution-not-a-lead")
    assert str(lead).startswith("milestone 1.3: SESAN is responsible for it but does not lead")


def test_check_reports_field_errors_from_the_plan_model_too():
    data = sample_data()
    data["institutions"][0]["liaison"]["email"] = "no-es-un-correo"
    data["commitments"][0]["milestones"][0]["start"] = "el lunes"

    found = codes(check_data(data))

    assert ("invalid-field", "institutions.0.liaison.email") in found
    assert ("invalid-field", "commitments.0.milestones.0.start") in found


def test_plan_check_command_exits_non_zero_with_one_line_per_problem(tmp_path):
    data = sample_data()
    data["commitments"][0]["milestones"][0]["end"] = "2019-01-01"
    broken = tmp_path / "plan.yaml"
    broken.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    failed = CliRunner().invoke(app, ["plan", "check", str(broken)])
    passed = CliRunner().invoke(app, ["plan", "check", str(SAMPLE)])

    assert failed.exit_code == 1
    assert "milestone 1.1: starts 2021-09-01 after it ends 2019-01-01" in failed.output
    assert "end 2019-01-01 is outside the plan's period 2021-09-01 to 2023-08-31" in failed.output
    assert "Traceback" not in failed.output
    assert passed.exit_code == 0 and "no problems" in passed.output


def test_import_round_trips_the_sample_plan(tmp_path):
    plan = load_plan(SAMPLE)
    table = tmp_path / "plan.xlsx"
    table.write_bytes(export_plan(plan))
    written = tmp_path / "imported.yaml"

    result = CliRunner().invoke(app, ["plan", "import", str(table), "--output", str(written)])

    assert result.exit_code == 0, result.output
    assert "44 milestones" in result.output
    assert load_plan(written).model_dump() == plan.model_dump()
    assert "- code: '1.1'\n" in written.read_text(encoding="utf-8")  # codes stay text


def test_import_reads_an_english_table_too():
    plan = load_plan(SAMPLE)
    imported = import_plan(export_plan(plan, "en"))
    assert imported.problems == []
    assert Plan.model_validate(imported.data).model_dump() == plan.model_dump()


def test_a_plans_short_name_goes_through_the_table_and_may_be_left_empty():
    plan = load_plan(SAMPLE).model_copy(update={"short_name": "5.º plan"})

    named = import_plan(export_plan(plan))
    unnamed = import_plan(export_plan(load_plan(SAMPLE)))

    assert named.problems == [] and named.data["short_name"] == "5.º plan"
    assert unnamed.problems == [] and Plan.model_validate(unnamed.data).short_name == ""


def edited(edit) -> bytes:
    book = openpyxl.load_workbook(BytesIO(export_plan(load_plan(SAMPLE))))
    edit(book)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def test_import_names_each_bad_row_of_the_table():
    def spoil(book):
        milestones = book["Hitos"]
        milestones["E3"] = "31/02/2022"  # row 3: 1.2, an impossible start date
        milestones["D4"] = None  # row 4: 1.3 without description
        milestones["B5"] = 99  # row 5: 1.4 under a commitment that is not listed
        book["Compromisos"]["A3"] = "dos"  # row 3: commitment 2's number is not a number

    problems = [str(p) for p in import_plan(edited(spoil)).problems]

    assert "Hitos, row 3: start '31/02/2022' is not a date (dd/mm/yyyy or YYYY-MM-DD)" in problems
    assert "Hitos, row 4: description is blank" in problems
    assert "Hitos, row 5: commitment 99 is not listed" in problems
    assert "Compromisos, row 3: number 'dos' is not whole" in problems


def test_import_of_a_table_without_its_sheets_says_which_is_missing(tmp_path):
    table = tmp_path / "otra.xlsx"
    table.write_bytes(edited(lambda book: book.remove(book["Compromisos"])))

    result = CliRunner().invoke(app, ["plan", "import", str(table)])

    assert result.exit_code == 1
    assert "the sheet «Compromisos» is missing" in result.output


def test_a_milestone_outside_its_leads_is_caught_after_import():
    def reassign(book):
        book["Hitos"]["C2"] = "SESAN"  # 1.1 given to an institution that does not lead C1

    problems = import_plan(edited(reassign)).problems

    assert codes(problems) == [("institution-not-a-lead", "milestone 1.1")]


def test_check_names_an_unknown_key_and_the_known_one_it_resembles(tmp_path):
    data = sample_data()
    data["institutions"][1]["liasion"] = data["institutions"][1].pop("liaison")
    data["commitments"][0]["objetivo"] = "Un campo que el plan no tiene."

    problems = {(p.code, p.where): p.message for p in check_data(data)}

    assert "did you mean 'liaison'" in problems["unknown-key", "institutions.1"]
    assert "unknown key 'objetivo'" in problems["unknown-key", "commitments.0"]
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match="liasion"):
        load_plan(path)  # never loaded with the key silently dropped


def test_a_plan_whose_aliases_expand_beyond_the_bound_is_refused(tmp_path):
    laughs = ["lol0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    laughs += [f"lol{i}: &l{i} [{', '.join(f'*l{i - 1}' for _ in range(10))}]" for i in range(1, 9)]
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(["id: gt-risa", *laughs, "bomba: *l8"]) + "\n", encoding="utf-8")

    [problem] = check_file(path)
    assert problem.code == "yaml-too-large" and "aliases expand" in problem.message
    with pytest.raises(PlanFileTooLarge):
        load_plan(path)
    assert CliRunner().invoke(app, ["plan", "check", str(path)]).exit_code == 1
