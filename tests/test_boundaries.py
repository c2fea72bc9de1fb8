"""A user's mistake is one English sentence and exit 2; a command that could not do what it was
asked exits non-zero and says why. Run through the real CLI on a workspace of its own."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from hitos_cli import app
from tasks.checks.boundaries import cycle_id, institution_code
from tasks.core.refusals import UserMistake
from tasks.cycle.requests import open_cycle_record
from tasks.mail.inbox import open_maildir
from tasks.storage.ledger import Cycle, Submission, session


@pytest.fixture
def workspace(settings, plan, monkeypatch):
    monkeypatch.setenv("HITOS_HOME", str(settings.home))
    monkeypatch.setenv("HITOS_SMTP_PORT", str(settings.smtp_port))
    open_cycle_record(settings, plan, "2023-03", date(2023, 3, 1))
    return settings


def hitos(*args: str):
    result = CliRunner().invoke(app, list(args))
    # No exception escaped the command (the CLI would print its traceback); Prefect's own log
    # handler may still complain about an earlier runner's closed stream, which is not ours.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, " ".join(result.output.split())


def count(settings, model) -> int:
    with session(settings.database) as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


README = Path(__file__).resolve().parent.parent / "README.md"


def with_cycle(cycle: str) -> list[list[str]]:
    """Every command that takes a cycle, given ``cycle``."""
    return [
        ["cycle", "close", cycle],
        ["remind", cycle],
        ["status", cycle],
        ["extend", cycle, "MARN", "--until", "2023-04-28", "--reason", "x"],
        ["submit", str(README), "--cycle", cycle],
        ["findings", cycle],
        ["evidence", cycle],
        ["review", "list", cycle],
        ["consolidate", cycle],
        ["publish", cycle],
        ["resend", cycle, "MARN"],
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["cycle", "open", "2023-3"],
        *with_cycle("2023-3"),
        ["demo", "--cycle", "2023-3"],
        ["demo", "--then", "2023-3"],
    ],
    ids=" ".join,
)
def test_a_malformed_cycle_id_is_one_sentence_and_exit_2(workspace, args):
    code, output = hitos(*args)

    assert code == 2
    assert output == (
        "error: '2023-3' is not a cycle id: write the year and the month as YYYY-MM (e.g. 2023-03)"
    )
    assert count(workspace, Cycle) == 1  # nothing was created, nothing was mailed


def test_a_malformed_cycle_id_is_refused_before_prefect_pandas_or_ge_load():
    """Refusing ``2023-3`` took 4 to 19 s while they loaded first; the check now comes first."""
    script = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from hitos_cli import app\n"
        f"for args in {[['cycle', 'open', '2023-3'], *with_cycle('2023-3')]!r}:\n"
        "    assert CliRunner().invoke(app, args).exit_code == 2, args\n"
        "heavy = ('prefect', 'pandas', 'great_expectations', 'sqlalchemy', 'openpyxl')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout

    assert loaded.strip() == "[]"


@pytest.mark.parametrize("args", with_cycle("2023-08"), ids=" ".join)
def test_an_unknown_cycle_says_which_exist_and_how_to_open_it(workspace, args):
    code, output = hitos(*args)

    assert code == 2
    assert output == (
        "error: cycle gt-pan5/2023-08 does not exist (its cycles: 2023-03): open it with "
        "`hitos cycle open 2023-08 --plan gt-pan5`"
    )


def test_an_unknown_institution_is_refused_by_findings(workspace, plan):
    code, output = hitos("findings", "2023-03", "--institution", "XYZ")

    assert code == 2
    assert output.startswith("error: institution 'XYZ' is not one of plan gt-pan5's: use one of")
    assert "MINEDUC" in output


def test_an_institution_in_lower_case_is_the_same_institution(workspace):
    code, _ = hitos("findings", "2023-03", "--institution", "mineduc", "--json")

    assert code == 0


def test_submit_for_an_unknown_institution_records_nothing(workspace, tmp_path):
    path = tmp_path / "avances.csv"
    path.write_text("codigo_hito,estado\n1.1,Iniciado\n", encoding="utf-8")

    code, output = hitos("submit", str(path), "--institution", "XYZ")

    assert code == 2 and "institution 'XYZ'" in output
    assert count(workspace, Submission) == 0


def test_submit_for_an_unknown_cycle_records_nothing(workspace, tmp_path):
    path = tmp_path / "avances.csv"
    path.write_text("codigo_hito,estado\n1.1,Iniciado\n", encoding="utf-8")

    code, output = hitos("submit", str(path), "--cycle", "2031-03")

    assert code == 2 and "cycle gt-pan5/2031-03 does not exist" in output
    assert count(workspace, Submission) == 0


def test_every_flow_checks_the_cycle_id_with_the_same_sentence():
    with pytest.raises(UserMistake, match="not a cycle id"):
        cycle_id("2023-13")
    assert cycle_id(" 2023-08 ") == "2023-08"


def test_institution_codes_match_without_case_or_spaces(plan):
    assert institution_code(plan, " mingob ") == "MINGOB"
    with pytest.raises(UserMistake):
        institution_code(plan, "MINGOBX")


@pytest.mark.slow
def test_a_cycle_whose_every_request_failed_exits_1_and_status_says_why(
    prefect_server, settings, plan, monkeypatch
):
    """No SMTP server listens on the port: every send fails, and the command says so."""
    monkeypatch.setenv("HITOS_HOME", str(settings.home))
    monkeypatch.setenv("HITOS_SMTP_PORT", str(settings.smtp_port))

    code, output = hitos("cycle", "open", "2023-03")

    assert code == 1
    institutions = len(plan.reporting_institutions())
    assert f"error: {institutions} request email(s) were not sent" in output
    code, output = hitos("status", "2023-03")
    assert code == 0
    assert "MINGOB: request gt-pan5/2023-03/MINGOB/request/1 failed: " in output
    assert "Connection refused" in output or "not attempted" in output


@pytest.mark.slow
def test_an_intake_whose_reply_is_stuck_exits_1(prefect_server, settings, plan, monkeypatch):
    monkeypatch.setenv("HITOS_HOME", str(settings.home))
    monkeypatch.setenv("HITOS_SMTP_PORT", str(settings.smtp_port))
    open_cycle_record(settings, plan, "2023-03", date(2023, 3, 1))
    message = EmailMessage()
    message["From"] = "enlace@mingob.example"
    message["To"] = settings.sender
    message["Subject"] = "Avances"
    message["Message-ID"] = "<stuck@mingob.example>"
    message.set_content("Adjunto.")
    message.add_attachment(b"no es una hoja", maintype="text", subtype="plain", filename="a.txt")
    open_maildir(settings.folder("mail", "inbox")).add(message)

    code, output = hitos("intake")

    assert code == 1
    assert "error: 1 answer(s) were not sent" in output
