"""Every view says the same thing about every institution at every moment (issue #21).

A Hypothesis state machine drives random sequences of what happens in a cycle (files that arrive
on any day, weekends and Holy Week included, accepted or not; approvals and returns, extensions,
consolidations, publications) on SQLite and on PostgreSQL, and after each step asks every view:

- ``hitos status --json`` (the command a person runs), and the status rows behind it;
- the console dashboard's rows (what its page renders) and its filter counts;
- whom reminders go to (``waiting_institutions``);
- the newest report version, when it was made from what the ledger holds now, and the published
  one with its outdated flag: a published version that says something else must say it is out
  of date, and one that says the same must not;
- the public board's ``entregas.csv`` after each publication, and the draft email's count.

Files are written to the ledger as intake records them (outcome, version, values), without
reading workbooks: what is on trial is what the views make of the ledger, not the reader.
"""

from __future__ import annotations

import csv
import json
import tempfile
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
import yaml
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import select
from typer.testing import CliRunner

from console.dashboard import DashboardRows
from hitos_cli import app
from tasks.core.refusals import DecisionRefused
from tasks.core.states import Delivery, Outcome
from tasks.cycle.extensions import extend
from tasks.cycle.reminders import waiting_institutions
from tasks.cycle.status import cycle_status
from tasks.people.review import approve, return_submission
from tasks.plans.plan import Plan
from tasks.publication.approval import consolidate_draft, publish_draft
from tasks.publication.consolidation import consolidated_table, used_submissions
from tasks.settings import Settings
from tasks.storage import filestore
from tasks.storage.ledger import Cycle, MilestoneValue, Report, Submission, engine, session
from tasks.storage.queries import (
    newest_report,
    publication_sources,
    publication_state,
    published_report,
    require_cycle,
)
from tests.test_consolidation import PLAN
from tests.test_ledger_backends import SERVER

CYCLE = "2023-03"
DEADLINE = date(2023, 3, 24)
"""A Friday; the weekend after it and Holy Week (6–7 April) are among the arrival days."""
TODAY = date(2023, 4, 14)
INSTITUTIONS = ["MINGOB", "SEGEPLAN", "MSPAS", "SAT"]
OUTCOMES = [Outcome.ACCEPTED, Outcome.ACCEPTED_WITH_WARNINGS, Outcome.REJECTED, Outcome.UNREADABLE]
DIRECTOR = "directora@gae.example"


def fresh_ledger(backend: str, folder: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{folder / f'{uuid.uuid4().hex}.db'}"
    name = f"hitos_agree_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(SERVER, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"{SERVER.rsplit('/', 1)[0].replace('postgresql://', 'postgresql+psycopg://')}/{name}"


def drop_ledger(url: str) -> None:
    engine(url).dispose()
    if url.startswith("postgresql"):
        with psycopg.connect(SERVER, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


class OneCycle(RuleBasedStateMachine):
    """A cycle of the test plan, and everything people and files can do to it."""

    backend = "sqlite"
    smtp_port = 0
    folder = Path()

    def __init__(self) -> None:
        super().__init__()
        home = Path(tempfile.mkdtemp(dir=self.folder))
        url = fresh_ledger(self.backend, home)
        plan_file = home / "gt-prueba.yaml"
        plan_file.write_text(yaml.safe_dump(PLAN, allow_unicode=True), encoding="utf-8")
        self.settings = Settings(
            home=home / "ws", plan=plan_file, database_url=url, smtp_port=self.smtp_port
        )
        self.plan = Plan.model_validate(PLAN)
        with session(self.settings.database) as db:
            db.add(Cycle(id=CYCLE, plan_id=self.plan.id, opened_on=date(2023, 3, 10),
                         deadline=DEADLINE))  # fmt: skip
        self.versions = dict.fromkeys(INSTITUTIONS, 0)
        self.draft_counts: list[tuple[int, int]] = []

    def teardown(self) -> None:
        drop_ledger(self.settings.database)

    # What happens.

    @rule(
        institution=st.sampled_from(INSTITUTIONS),
        day=st.integers(min_value=-6, max_value=14),
        hour=st.sampled_from([0, 9, 17, 23]),
        outcome=st.sampled_from(OUTCOMES),
    )
    def a_file_arrives(self, institution: str, day: int, hour: int, outcome: Outcome) -> None:
        local = datetime.combine(
            DEADLINE + timedelta(days=day), time(hour), ZoneInfo("America/Guatemala")
        )
        self.versions[institution] += 1
        version = self.versions[institution]
        with session(self.settings.database) as db:
            sub = Submission(
                sha256=filestore.put(db, f"{institution} {uuid.uuid4()}".encode()),
                filename=f"{institution}-{version}.xlsx",
                sender=f"enlace@{institution.lower()}.example",
                channel="mail",
                received_at=local.astimezone(UTC).replace(tzinfo=None),
                plan_id=self.plan.id,
                cycle_id=CYCLE,
                institution=institution,
                version=version,
                outcome=outcome,
            )
            if outcome.accepted:
                for milestone in self.plan.milestones_of(institution):
                    sub.values.append(
                        MilestoneValue(
                            milestone=milestone.code, estado="started", avance_pct=10 * version,
                            descripcion_avance="Avance.", evidencia_url="https://x.example/e",
                        )
                    )  # fmt: skip
            db.add(sub)

    @rule(institution=st.sampled_from(INSTITUTIONS), approves=st.booleans())
    def a_reviewer_decides(self, institution: str, approves: bool) -> None:
        with session(self.settings.database) as db:
            newest = db.scalar(
                select(Submission.id)
                .where(
                    Submission.institution == institution,
                    Submission.outcome.in_([Outcome.ACCEPTED, Outcome.ACCEPTED_WITH_WARNINGS]),
                )
                .order_by(Submission.version.desc())
            )
        if newest is None:
            return
        try:
            if approves:
                approve(self.settings, self.plan, newest, "revisora@gae.example")
            else:
                return_submission(self.settings, self.plan, newest, "revisora@gae.example", "No.")
        except DecisionRefused:
            pass  # already decided: the rules refuse a second decision, which is a view too

    @rule(institution=st.sampled_from(INSTITUTIONS), days=st.integers(1, 10))
    def the_director_extends(self, institution: str, days: int) -> None:
        until = DEADLINE + timedelta(days=days)
        extend(self.settings, self.plan, CYCLE, institution, until, "Cambio de enlace.", DIRECTOR)

    @rule()
    def the_director_consolidates(self) -> None:
        publication = consolidate_draft(self.settings, self.plan, CYCLE, DIRECTOR)
        if publication.report.state == "draft":
            status = self.deliveries()
            delivered = sum(state != Delivery.NOT_DELIVERED for state in status.values())
            assert publication.figures.delivered == delivered  # what the draft email states
            assert publication.figures.not_delivered == [
                code for code, state in status.items() if state == Delivery.NOT_DELIVERED
            ]

    @rule()
    def the_director_publishes(self) -> None:
        try:
            publish_draft(self.settings, self.plan, CYCLE, DIRECTOR)
        except DecisionRefused:
            return
        published = self.published_deliveries()
        board = self.settings.folder("board", self.plan.id, "datos") / "entregas.csv"
        with board.open(encoding="utf-8") as handle:
            rows = [r for r in csv.DictReader(handle) if r["ciclo"] == CYCLE]
        labels = {state.label("es"): state for state in Delivery}
        assert {r["institucion"]: labels[r["estado_entrega"]] for r in rows} == published

    # What every view says.

    def deliveries(self) -> dict[str, Delivery]:
        return {
            r.institution: r.delivery for r in cycle_status(self.settings, self.plan, CYCLE, TODAY)
        }

    def deadlines(self) -> dict[str, str]:
        """Institution → its extension's date (empty without one), as status shows it."""
        rows = cycle_status(self.settings, self.plan, CYCLE, TODAY)
        return {r.institution: r.extension["until"] if r.extension else "" for r in rows}

    def published_deliveries(self) -> dict[str, Delivery]:
        with session(self.settings.database) as db:
            report = published_report(db, self.plan.id, CYCLE)
            assert report is not None
            return {i["codigo"]: Delivery(i["estado_entrega"]) for i in report.institutions}

    @invariant()
    def status_console_and_reminders_agree(self) -> None:
        status = self.deliveries()
        asked = ["status", CYCLE, "--json", "--today", TODAY.isoformat()]
        where = {
            "HITOS_HOME": str(self.settings.home),
            "HITOS_PLAN": str(self.settings.plan),
            "HITOS_DATABASE_URL": self.settings.database_url,
        }
        result = CliRunner().invoke(app, asked, env=where)
        assert result.exit_code == 0, result.output
        assert {r["institution"]: r["delivery"] for r in json.loads(result.stdout)} == status
        rows = DashboardRows(self.settings, self.plan).of(CYCLE, TODAY)
        assert {r["institution"]: r["delivery"] for r in rows.rows} == status
        for state in Delivery:
            assert rows.counts[state] == sum(s == state for s in status.values())
        waiting = {i.code for i in waiting_institutions(self.settings, self.plan, CYCLE)}
        assert waiting == {c for c, s in status.items() if s == Delivery.NOT_DELIVERED}

    @invariant()
    def reports_agree_or_say_they_are_out_of_date(self) -> None:
        status = self.deliveries()
        with session(self.settings.database) as db:
            cycle = require_cycle(db, self.plan.id, CYCLE)
            key = publication_sources(db, self.plan, cycle, TODAY).key
            used_now = used_submissions(consolidated_table(db, self.plan, cycle))
            newest = newest_report(db, self.plan.id, CYCLE)
            published = published_report(db, self.plan.id, CYCLE)
            outdated = publication_state(db, self.plan, cycle, TODAY).outdated
            keys = list(db.scalars(select(Report.sources)))

        def says(report: Report) -> tuple[dict[str, Delivery], dict[str, str], list[int]]:
            """What a version tells the public: deliveries, extensions and whose values."""
            institutions = report.institutions
            return (
                {i["codigo"]: Delivery(i["estado_entrega"]) for i in institutions},
                {i["codigo"]: i["prorroga"] for i in institutions},
                report.submissions,
            )

        now = (status, self.deadlines(), used_now)
        if newest is not None and newest.sources == key:  # what consolidating now gives
            assert says(newest) == now
        if published is not None:
            same = says(published) == now
            assert outdated == (not same), "the public report and the ledger disagree, unflagged"
        assert len(keys) == len(set(keys))  # one version per set of sources


OneCycle.TestCase.settings = hypothesis_settings(
    max_examples=12,
    stateful_step_count=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_every_view_says_the_same_after_any_sequence_of_events(backend, smtp, settings, tmp_path):
    if backend == "postgresql":
        try:
            psycopg.connect(SERVER, connect_timeout=5).close()
        except psycopg.OperationalError as exc:
            pytest.fail(f"PostgreSQL is not reachable at {SERVER}: {exc}")

    class Machine(OneCycle):
        pass

    Machine.backend, Machine.smtp_port, Machine.folder = backend, settings.smtp_port, tmp_path
    # What the views decide is the same code on both; PostgreSQL adds its SQL's semantics (its
    # aggregates, timestamps, locks), which fewer sequences exercise as well: half as many there.
    examples = OneCycle.TestCase.settings.max_examples
    budget = hypothesis_settings(
        OneCycle.TestCase.settings,
        max_examples=examples // 2 if backend == "postgresql" else examples,
    )
    run_state_machine_as_test(Machine, settings=budget)
