"""The flows themselves, on Prefect's test server: the demo cycle end to end, then re-runs."""

from __future__ import annotations

import csv
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import select

from tasks.mail.inbox import open_maildir
from tasks.storage.ledger import Cycle, Email, Request, session
from tests.network import free_port
from tests.test_emails import assert_no_path_or_command
from tests.test_mesa_demo import assert_the_mesa_replays_the_seed


@pytest.fixture
def environment(settings, monkeypatch):
    monkeypatch.setenv("HITOS_HOME", str(settings.home))
    monkeypatch.setenv("HITOS_SMTP_PORT", str(settings.smtp_port))
    monkeypatch.setenv("HITOS_DEMO_SITE_PORT", str(free_port()))
    return settings


@pytest.mark.slow
def test_demo_flow_runs_a_cycle_and_reruns_send_nothing_twice(prefect_server, environment, plan):
    from flows.demo import demo
    from flows.open_cycle import open_cycle
    from tasks.mail.local_server import local_smtp_server

    settings = environment
    files = demo("2023-03")

    with Path(files["latest_csv"]).open(encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == len(plan.milestones)
    box = open_maildir(settings.folder("mail", "outbox"))
    sent = len(box)
    received = [message_from_bytes(box.get_bytes(k), policy=policy.default) for k in box.iterkeys()]
    assert_no_path_or_command(received, str(settings.home))  # links only, in every email

    inbox, outbox = settings.folder("mail", "inbox"), settings.folder("mail", "outbox")
    with local_smtp_server(inbox, outbox, settings.sender, settings.smtp_port):
        again = open_cycle("2023-03")
    assert set(again.values()) == {"skipped"}
    assert len(list(open_maildir(outbox))) == sent
    assert_board_shows_both_cycles_of_a_milestone(settings.home / "board" / "gt-pan5", files)
    assert_board_says_which_evidence_answered(settings.home / "board" / "gt-pan5")
    assert_the_mesa_replays_the_seed(settings, files)


def assert_board_says_which_evidence_answered(board: Path) -> None:
    """The demo's institutions link evidence on their websites (run on loopback); CONADI's site
    stops answering. The board links the archived copy of what answered, and says what did not."""
    cards = {
        card.split('"', 1)[0]: card
        for page in (board / "compromisos").glob("*.html")
        for card in page.read_text(encoding="utf-8").split('id="hito-')[1:]
    }
    verified = [c for c in cards.values() if "verificado el" in c]
    unanswered = [c for c in cards.values() if "no respondió el" in c]
    assert verified and unanswered
    assert all("/conadi/" in c for c in unanswered)
    assert all("/conadi/" not in c for c in verified)
    copy = verified[0].split('href="../evidencias/', 1)[1].split('"', 1)[0]
    assert "Gobierno abierto" in (board / "evidencias" / copy).read_text(encoding="utf-8")


def assert_board_shows_both_cycles_of_a_milestone(board: Path, files: dict[str, str]) -> None:
    """The demo's two cycles on the board: milestone 1.2's history is each cycle's report row."""
    reports = board.parent.parent / "reports" / "gt-pan5"
    published = {}
    for cycle in ("2023-03", "2023-08"):
        with (reports / cycle / "latest" / f"gt-pan5-{cycle}.csv").open(encoding="utf-8") as f:
            published[cycle] = {r["codigo_hito"]: r for r in csv.DictReader(f)}["1.2"]
    with (board / "datos" / "historial.csv").open(encoding="utf-8") as handle:
        history = [r for r in csv.DictReader(handle) if r["codigo_hito"] == "1.2"]

    assert [r["ciclo"] for r in history] == ["2023-03", "2023-08"]
    assert history == [published["2023-03"], published["2023-08"]]
    before, after = (float(published[c]["avance_pct"]) for c in ("2023-03", "2023-08"))
    assert after > before  # the demo's institutions report progress in the second cycle
    assert float(published["2023-08"]["cambio_pct"]) == after - before
    page = (board / "compromisos" / "C01.html").read_text(encoding="utf-8")
    row = page.split('id="hito-1.2"')[1].split("</article>")[0]
    for cycle, values in published.items():
        assert f"{cycle}: {values['estado']}, {values['avance_pct']} %" in row
    # The Mesa's change of 1.1's dates, in its history, dated as the rest of the page is.
    assert "(antes: 01/09/2021 – 28/02/2022)" in page
    assert Path(files["latest_csv"]).name == "gt-pan5-2023-08.csv"


@pytest.mark.slow
def test_open_cycle_dry_run_writes_every_email_and_sends_none(prefect_server, environment, plan):
    from flows.open_cycle import open_cycle

    previews = open_cycle("2023-08", dry_run=True)

    assert len(previews) == len(plan.reporting_institutions())
    assert all(
        Path(p).read_text(encoding="utf-8").startswith("Content-Type") for p in previews.values()
    )
    assert not (environment.home / "mail" / "outbox" / "new").exists()
    folder = environment.home / "dry-run" / "gt-pan5" / "2023-08"
    assert sorted(p.name for p in folder.glob("*.xlsx")) == sorted(
        f"gt-pan5-2023-08-{i.code}.xlsx" for i in plan.reporting_institutions()
    )
    with session(environment.database) as db:
        assert db.scalars(select(Cycle)).all() == []
        assert db.scalars(select(Request)).all() == []
        assert db.scalars(select(Email)).all() == []


@pytest.mark.slow
def test_smtp_password_comes_from_a_prefect_secret_block(prefect_server, settings):
    from prefect.blocks.system import Secret
    from pydantic import SecretStr

    from tasks.settings import secret

    Secret(value="desde-el-bloque").save("hitos-smtp-password", overwrite=True)
    try:
        assert secret("HITOS_SMTP_PASSWORD", SecretStr("")) == "desde-el-bloque"
        assert secret("HITOS_SMTP_PASSWORD", SecretStr("del-entorno")) == "del-entorno"
        assert secret("HITOS_IMAP_PASSWORD", SecretStr("")) == ""
    finally:  # the test server is shared: later tests expect no password to be found
        Secret.delete("hitos-smtp-password")
