"""The `hitos` command as an operator uses it, on a workspace of its own."""

from __future__ import annotations

import io
import json
import re
from datetime import date
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from hitos_cli import app, output
from hitos_cli.cycles import delivery_summary
from hitos_cli.intake import intake_summary
from tasks.checks.data_docs.store import site_file
from tasks.cycle.requests import build_request, open_cycle_record
from tasks.intake.results import IntakeResult
from tasks.settings import Settings
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
    assert site_file(settings, plan, "2023-03", "index.html") is not None  # its Data Docs kept


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
    # home, milestones, OGP view, downloads, the Mesa's page; one per commitment and institution
    assert summary["pages"] == 5 + len(plan.commitments) + len(plan.reporting_institutions())
    assert (settings.home / "board" / "gt-pan5" / "index.html").exists()


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_publishing_without_a_draft_is_one_refusal_and_exit_1(workspace):
    code, output = cli("publish", "2023-03")

    assert code == 1
    assert output == (
        "error: cycle 2023-03 has no draft to publish: run hitos consolidate 2023-03 first\n"
    )


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ["status", "2023-03", "--today", "2023-02-30"],
            "--today '2023-02-30' is not a date: 2023-02 has days 01 to 28",
        ),
        (
            ["remind", "--today", "tomorrow"],
            "--today 'tomorrow' is not a date: write it as YYYY-MM-DD (e.g. 2023-03-31)",
        ),
        (
            ["extend", "2023-03", "MARN", "--until", "2023-13-01", "--reason", "x"],
            "--until '2023-13-01' is not a date: the month is 01 to 12 (YYYY-MM-DD)",
        ),
        (
            ["contacts", "set", "MARN", "--liaison", "n@marn.example", "--from", "31/03/2023"],
            "--from '31/03/2023' is not a date: write it as YYYY-MM-DD (e.g. 2023-03-31)",
        ),
    ],
)
def test_a_date_that_is_not_one_is_one_sentence_naming_the_option_and_exit_2(workspace, args, said):
    code, output = cli(*args)

    assert code == 2
    assert output == f"error: {said}\n"


def test_piped_tables_keep_every_value_whole(workspace, tmp_path):
    """Off a terminal rich drew 80 columns: «accepte…», names cut over several lines."""
    settings, plan, cycle = workspace
    name = "Licenciada María José de los Ángeles " + "García " * 20 + "Pérez"
    cli("contacts", "set", "MARN", "--liaison", "nueva@marn.example", "--name", name)
    _, data = submit(str(request_filled(settings, plan, cycle, "MINGOB", tmp_path)))

    _, contacts = cli("contacts")
    _, status = cli("status", "2023-03")

    assert name in contacts
    [mingob] = [line for line in status.splitlines() if "MINGOB" in line]
    assert f" {data['outcome']} " in mingob


def test_status_ends_with_how_many_delivered_and_who_is_missing(workspace, tmp_path):
    settings, plan, cycle = workspace
    submit(str(request_filled(settings, plan, cycle, "MINGOB", tmp_path)))
    missing = [i.code for i in plan.reporting_institutions() if i.code != "MINGOB"]

    code, output = cli("status", "2023-03")

    assert code == 0
    assert output.splitlines()[-1] == (
        f"gt-pan5/2023-03: 1 of {len(missing) + 1} institutions delivered; "
        f"{', '.join(missing[:5])} and {len(missing) - 5} more missing."
    )


def test_the_delivery_summary_names_who_is_missing():
    rows = [
        {"institution": "GAE", "delivery": "late"},
        {"institution": "MARN", "delivery": "not-delivered"},
    ]

    assert delivery_summary("gt-pan5", "2023-08", rows) == (
        "gt-pan5/2023-08: 1 of 2 institutions delivered; MARN missing."
    )
    assert delivery_summary("gt-pan5", "2023-08", rows[:1]) == (
        "gt-pan5/2023-08: 1 of 1 institutions delivered."
    )


def test_the_intake_summary_counts_files_by_outcome_and_the_answers_sent():
    def outcome(kind: str) -> IntakeResult:
        sender = "e@mingob.example"
        return IntakeResult(1, kind, "MINGOB", "2023-03", "a.xlsx", sender, [], "gt-pan5")

    files = [outcome("accepted"), outcome("rejected"), outcome("accepted")]

    assert intake_summary(files, 0, 0, 3) == "3 files: 2 accepted, 1 rejected; 3 answers sent."
    assert intake_summary([], 1, 0, 0) == "1 automatic message recorded; 0 answers sent."
    assert intake_summary([], 0, 0, 0) == "Nothing new."


def test_a_file_nobody_can_place_says_what_happened_and_what_to_do(workspace, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("Avances: todo bien.", encoding="utf-8")

    code, output = cli("submit", str(notes))

    assert code == 2
    assert output.splitlines()[-1] == (
        "notes.txt: quarantined: Hitos could not tell which institution it is for; say it: "
        f"hitos submit {notes} --institution CODE --cycle 2023-03."
    )
    assert "?" not in output
    assert "- [ERROR] No pudimos saber a qué institución y ciclo" in output  # no «Hito —»


@pytest.mark.parametrize(
    ("language", "finding"), [("es", "- [ADVERTENCIA] Hito "), ("en", "- [WARNING] Milestone ")]
)
def test_findings_are_in_the_plans_language_and_the_cli_around_them_in_english(
    workspace, tmp_path, monkeypatch, language, finding
):
    settings, plan, cycle = workspace
    monkeypatch.setenv("HITOS_LANGUAGE", language)
    asked = Settings(home=settings.home, plan=settings.plan, language=language)
    path = tmp_path / "avances.xlsx"
    request = build_request(asked, plan, cycle, plan.institution("MINGOB"))
    path.write_bytes(filled_workbook(request, "MINGOB", False, language))
    submit(str(path))

    code, output = cli("findings", "2023-03")

    assert code == 0
    lines = output.splitlines()
    assert lines[0].startswith("#1 MINGOB avances.xlsx: accepted with warnings")
    findings = [line for line in lines if line.startswith("- [")]
    assert findings and all(line.startswith(finding) for line in findings)
    assert lines[-1].startswith("1 file of gt-pan5/2023-03: 1 accepted with warnings; 0 errors")


def test_a_long_step_shows_a_status_line_on_a_terminal_and_nothing_when_piped(monkeypatch):
    import flows

    assert flows.PROGRESS.name == output.PROGRESS  # what the flows announce, the CLI shows
    screen, piped = io.StringIO(), io.StringIO()
    monkeypatch.setattr(output, "console", output.Output(file=screen, force_terminal=True))
    with output.working("Consolidating gt-pan5/2023-03"):
        flows.PROGRESS.info("build-draft")
    monkeypatch.setattr(output, "console", output.Output(file=piped))
    with output.working("Consolidating gt-pan5/2023-03"):
        flows.PROGRESS.info("build-draft")

    assert "Consolidating gt-pan5/2023-03" in screen.getvalue()
    assert "build-draft" in screen.getvalue()
    assert piped.getvalue() == ""
    assert flows.PROGRESS.handlers == []


def test_the_command_page_names_every_command():
    """A command added without a line in docs/commands.md's table is a command nobody finds."""
    page = Path(__file__).resolve().parent.parent / "docs" / "commands.md"
    readme = page.read_text(encoding="utf-8")

    def names(command, prefix: str) -> list[str]:
        subcommands = getattr(command, "commands", {})
        if not subcommands:
            return [prefix]
        return [n for name, sub in subcommands.items() for n in names(sub, f"{prefix} {name}")]

    every = names(typer.main.get_command(app), "hitos")

    assert len(every) > 20
    assert [name for name in every if not re.search(rf"{name}(?![\w-])", readme)] == []
