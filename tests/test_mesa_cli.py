"""The Mesa's commands as an operator uses them, on the small two-cycle ledger of
test_consolidation (its plan written as a file with a Mesa), mail to a real SMTP server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from hitos_cli import app
from tasks.mail.local_server import local_smtp_server
from tasks.plans.plan import Plan
from tasks.publication.approval import publish_draft
from tasks.publication.publishing import consolidate
from tasks.settings import Settings
from tests.conftest import RecordingHandler
from tests.network import free_port
from tests.test_consolidation import CURRENT, PLAN, PREVIOUS, build_ledger
from tests.test_mesa import MESA


@pytest.fixture
def hitos(tmp_path: Path, monkeypatch) -> Iterator[tuple[RecordingHandler, Path]]:
    ledger = build_ledger(tmp_path)
    plan_file = tmp_path / "gt-prueba.yaml"
    plan_file.write_text(yaml.safe_dump({**PLAN, "mesa": MESA}, allow_unicode=True), "utf-8")
    port = free_port()
    for name, value in {
        "HITOS_HOME": str(tmp_path / "ws"),
        "HITOS_DATABASE_URL": ledger.url,
        "HITOS_PLAN": str(plan_file),
        "HITOS_SMTP_PORT": str(port),
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    plan = Plan.model_validate({**PLAN, "mesa": MESA})
    handler = RecordingHandler()
    with local_smtp_server(Path(), Path(), settings.sender, port, handler=handler):
        for cycle_id in (PREVIOUS, CURRENT):
            consolidate(settings, plan, cycle_id)
            publish_draft(settings, plan, cycle_id, "directora@gae.example")
        yield handler, tmp_path / "ws"


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_a_session_is_scheduled_assessed_agreed_and_communicated_from_the_command_line(hitos):
    mail, home = hitos
    scheduled = run(
        "session", "schedule", CURRENT, "--on", "2023-03-29", "--at", "10:00", "--place", "Sala"
    )
    assert scheduled.exit_code == 0, scheduled.output
    assert "SEQUENCE 0" in scheduled.output
    assert len([m for m in mail.messages if "Convocatoria" in m[1]["Subject"]]) == 3

    assessed = run("assess", CURRENT, "1.1", "--verdict", "disagree", "--org", "RED",
                   "--note", "No hay acta.")  # fmt: skip
    assert assessed.exit_code == 0, assessed.output
    agreed = run("agreement", "add", CURRENT, "--text", "Publicar el acta", "--owner", "SAT",
                 "--due", "2023-04-14")  # fmt: skip
    assert agreed.exit_code == 0, agreed.output
    listed = json.loads(run("agreement", "list", "--json").stdout)
    assert [(a["agreement"], a["owner"], a["state"]) for a in listed] == [
        (f"{CURRENT}/1", "SAT", "open")
    ]
    assert run("session", "minutes", CURRENT, "--present", "MINGOB,SAT,RED").exit_code == 0

    said = run("communique", CURRENT, "--json")
    assert said.exit_code == 0, said.output
    shape = json.loads(said.stdout)
    assert [i["institution"] for i in shape["institutions"]] == ["MINGOB", "SAT"]
    assert Path(shape["written"]["html"]).is_file() and Path(shape["written"]["markdown"]).is_file()
    pack = run("session", "pack", CURRENT)
    assert pack.exit_code == 0 and "presentacion.pdf" in pack.output
    assert run("communique", CURRENT, "--approve", "--by", "directora").exit_code == 0
    assert (home / "board" / "gt-prueba" / "mesa" / f"{CURRENT}.html").is_file()

    changed = run("plan", "change", "1.2", "--session", CURRENT, "--end", "2023-12-29",
                  "--reason", "Retraso aprobado")  # fmt: skip
    assert changed.exit_code == 0, changed.output
    assert "v2: 1.2 dates, in force from 2023-03-29" in changed.output
    assert "Retraso aprobado" in run("plan", "history").output


@pytest.mark.parametrize(
    ("args", "sentence", "code"),
    [
        (["assess", CURRENT, "1.1", "--verdict", "agree", "--org", "SAT", "--note", "x"],
         "not a civil-society organisation", 1),
        (["session", "schedule", CURRENT, "--on", "29/03/2023", "--at", "10:00", "--place", "S"],
         "is not a date", 2),
        (["agreement", "add", CURRENT, "--text", "x", "--owner", "SAT", "--due", "2023-04-14"],
         "has no session", 1),
        (["communique", "2023-3"], "is not a cycle id", 2),
        (["agreement", "close", "2023-03/9", "--note", "x"], "does not exist", 1),
    ],
)  # fmt: skip
def test_every_refusal_is_one_sentence_without_a_traceback(hitos, args, sentence, code):
    result = run(*args)
    assert result.exit_code == code
    assert sentence in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_a_civil_society_account_is_added_for_an_organisation_of_the_mesa(hitos):
    from tasks.mesa.accounts import organisation_of

    added = CliRunner().invoke(
        app, ["users", "add", "ana@red.example", "--role", "cso", "--org", "RED"],
        input="una clave larga\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert organisation_of(Settings(), "ana@red.example") == "RED"
    refused = CliRunner().invoke(
        app, ["users", "add", "x@sat.example", "--role", "cso", "--org", "SAT"],
        input="una clave larga\n",
    )  # fmt: skip
    assert refused.exit_code == 1 and "not a civil-society organisation" in refused.output
