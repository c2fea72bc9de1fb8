"""Two people (or a person and a scheduled run) acting on the same thing at the same moment.

Each pair of steps that can meet runs in two threads released by a barrier (separate sessions
and connections, as two workers or two terminals), 20 times on PostgreSQL and 5 on SQLite, each
trial on a fresh ledger. After each trial: one result and at most one clear refusal (a
``DecisionRefused``: the CLI's one sentence and exit 1), never another error; one audit row per
decision taken; the public board whole.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from sqlalchemy import func, select

from tasks.core.refusals import DecisionRefused
from tasks.core.states import Outcome, Review
from tasks.cycle.closing import close_cycle
from tasks.cycle.extensions import extend
from tasks.cycle.reminders import reminder_email, waiting_institutions
from tasks.cycle.requests import open_cycle_record
from tasks.mail.outgoing import send_all
from tasks.people.review import approve, return_submission
from tasks.plans.plan import Plan
from tasks.publication.approval import consolidate_draft, publish_draft
from tasks.publication.board import build_board
from tasks.settings import Settings
from tasks.storage import filestore
from tasks.storage.ledger import (
    Base,
    Cycle,
    Decision,
    Email,
    MilestoneValue,
    Submission,
    engine,
    session,
)
from tests.test_consolidation import PLAN
from tests.test_ledger_backends import SERVER

CYCLE = "2023-03"
DEADLINE = date(2023, 3, 24)
DIRECTOR = "directora@gae.example"
TRIALS = {"sqlite": 5, "postgresql": 20}
BOARD_FILES = ("index.html", "ogp.html", "estilo.css", f"datos/{CYCLE}", "datos/datapackage.json")


@dataclass
class World:
    settings: Settings
    plan: Plan

    def decisions(self, action: str) -> int:
        with session(self.settings.database) as db:
            return int(db.scalar(select(func.count()).where(Decision.action == action)) or 0)

    def emails(self, kind: str) -> int:
        with session(self.settings.database) as db:
            return int(db.scalar(select(func.count()).where(Email.kind == kind)) or 0)


def a_file(world: World, institution: str, review: Review = Review.PENDING) -> int:
    """An accepted file of the institution, as intake records one; its id."""
    with session(world.settings.database) as db:
        version = 1 + int(
            db.scalar(select(func.count()).where(Submission.institution == institution)) or 0
        )
        sub = Submission(
            sha256=filestore.put(db, f"{institution} {uuid.uuid4()}".encode()),  # its bytes
            filename=f"{institution}.xlsx",
            sender=f"enlace@{institution.lower()}.example",
            channel="mail",
            received_at=datetime(2023, 3, 20, 15, tzinfo=UTC).replace(tzinfo=None),
            plan_id=world.plan.id,
            cycle_id=CYCLE,
            institution=institution,
            version=version,
            outcome=Outcome.ACCEPTED,
            review=review,
        )
        for milestone in world.plan.milestones_of(institution):
            sub.values.append(
                MilestoneValue(
                    milestone=milestone.code, estado="started", avance_pct=40,
                    descripcion_avance="Avance.", evidencia_url="https://x.example/e",
                )
            )  # fmt: skip
        db.add(sub)
        db.flush()
        return sub.id


@pytest.fixture(params=["sqlite", "postgresql"])
def worlds(request, smtp, settings, tmp_path) -> Iterator[tuple[int, Callable[[], World]]]:
    """A maker of fresh worlds (the test plan's open cycle on an empty ledger, a workspace of
    its own) and how many trials. One database per test, emptied between trials: creating a
    PostgreSQL database per trial cost more than the trials."""
    backend: str = request.param
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'hitos.db'}"
    else:
        name = f"hitos_race_{uuid.uuid4().hex[:12]}"
        try:
            with psycopg.connect(SERVER, autocommit=True, connect_timeout=5) as admin:
                admin.execute(f'CREATE DATABASE "{name}"')
        except psycopg.OperationalError as exc:
            pytest.fail(f"PostgreSQL is not reachable at {SERVER}: {exc}")
        url = SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        url = f"{url}/{name}"
    plan_file = tmp_path / "gt-prueba.yaml"
    plan_file.write_text(yaml.safe_dump(PLAN, allow_unicode=True), encoding="utf-8")
    plan = Plan.model_validate(PLAN)

    def make() -> World:
        with session(url) as db:
            for table in reversed(Base.metadata.sorted_tables):
                db.execute(table.delete())
            db.add(Cycle(id=CYCLE, plan_id=plan.id, opened_on=date(2023, 3, 10),
                         deadline=DEADLINE))  # fmt: skip
        home = tmp_path / uuid.uuid4().hex[:8]
        port = settings.smtp_port
        return World(Settings(home=home, plan=plan_file, database_url=url, smtp_port=port), plan)

    yield TRIALS[backend], make
    engine(url).dispose()
    if backend == "postgresql":
        with psycopg.connect(SERVER, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def at_once(*steps: Callable[[], Any]) -> list[Any]:
    """Each step in its own thread, released together; what each returned, or the refusal it
    raised. Any other error fails the test (a traceback is never an answer)."""
    start = threading.Barrier(len(steps))
    results: list[Any] = [None] * len(steps)

    def run(index: int, step: Callable[[], Any]) -> None:
        start.wait()
        try:
            results[index] = step()
        except DecisionRefused as refusal:
            results[index] = refusal
        except BaseException as error:  # handed to the test below
            results[index] = error

    threads = [threading.Thread(target=run, args=(i, s)) for i, s in enumerate(steps)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, DecisionRefused):
            raise result
    return results


def refused(results: list[Any]) -> int:
    return sum(isinstance(r, DecisionRefused) for r in results)


def board_is_whole(world: World) -> None:
    board = world.settings.folder("board") / world.plan.id
    missing = [name for name in BOARD_FILES if not (board / name).exists()]
    assert missing == [], f"the board lacks {missing}"


def trials(worlds: tuple[int, Callable[[], World]], trial: Callable[[World], None]) -> None:
    """The trial on as many fresh worlds as the backend asks for."""
    count, make = worlds
    for _ in range(count):
        trial(make())


@pytest.mark.slow
def test_two_publications_at_once_publish_once(worlds):
    def trial(world: World) -> None:
        a_file(world, "MINGOB", Review.APPROVED)
        consolidate_draft(world.settings, world.plan, CYCLE, DIRECTOR)

        def publish() -> object:
            return publish_draft(world.settings, world.plan, CYCLE, DIRECTOR)

        assert refused(at_once(publish, publish)) == 1
        assert world.decisions("publish") == 1 and world.emails("report") == 1
        board_is_whole(world)

    trials(worlds, trial)


@pytest.mark.slow
def test_two_board_builds_at_once_both_finish_and_leave_a_whole_board(worlds):
    count, make = worlds
    world = make()
    a_file(world, "MINGOB", Review.APPROVED)
    consolidate_draft(world.settings, world.plan, CYCLE, DIRECTOR)
    publish_draft(world.settings, world.plan, CYCLE, DIRECTOR)

    def build() -> object:
        return build_board(world.settings, world.plan)

    for _ in range(count):
        first, second = at_once(build, build)
        assert first.published == second.published == {CYCLE: 1}
        board_is_whole(world)
    root = world.settings.folder("board")
    built = [p.name for p in root.iterdir() if p.is_dir() and not p.is_symlink()]
    assert len(built) == 1, built  # the board served; no build left behind


@pytest.mark.slow
def test_a_consolidation_and_a_publication_at_once_never_publish_what_nobody_saw(worlds):
    def trial(world: World) -> None:
        a_file(world, "MINGOB", Review.APPROVED)
        consolidate_draft(world.settings, world.plan, CYCLE, DIRECTOR)  # v1, seen by the director
        a_file(world, "SAT", Review.APPROVED)  # the ledger moves: a consolidation now makes v2

        published, made = at_once(
            lambda: publish_draft(world.settings, world.plan, CYCLE, DIRECTOR, version=1),
            lambda: consolidate_draft(world.settings, world.plan, CYCLE, DIRECTOR),
        )

        # v1 no longer matches the ledger, or v2 replaced it: refused, whatever the order.
        assert isinstance(published, DecisionRefused)
        assert published.code in ("draft-outdated", "draft-replaced")
        assert made.report.version == 2 and made.report.state == "draft"
        assert world.decisions("publish") == 0 and world.decisions("consolidate") == 2

    trials(worlds, trial)


@pytest.mark.slow
def test_approving_and_returning_one_file_at_once_gives_one_decision(worlds):
    def trial(world: World) -> None:
        file = a_file(world, "MINGOB")

        results = at_once(
            lambda: approve(world.settings, world.plan, file, "revisora@gae.example"),
            lambda: return_submission(world.settings, world.plan, file, "otra@gae.example", "No."),
        )

        assert refused(results) == 1
        with session(world.settings.database) as db:
            review = db.scalar(select(Submission.review).where(Submission.id == file))
        decided = "approve" if review == Review.APPROVED else "return"
        assert world.decisions("approve") + world.decisions("return") == 1
        assert world.decisions(decided) == 1
        # The liaison is told of a return only when the file really ended returned.
        assert world.emails("returned") == (review == Review.RETURNED)

    trials(worlds, trial)


@pytest.mark.slow
def test_an_extension_and_the_reminders_at_once(worlds):
    late = date(2023, 3, 29)

    def trial(world: World) -> None:
        cycle = open_cycle_record(world.settings, world.plan, CYCLE, date(2023, 3, 10))

        def remind() -> dict[str, str]:
            waiting = waiting_institutions(world.settings, world.plan, CYCLE)
            mails = [reminder_email(world.settings, world.plan, cycle, i, late) for i in waiting]
            return send_all(world.settings, [m for m in mails if m is not None])

        def grant() -> object:
            until = date(2023, 4, 14)
            return extend(world.settings, world.plan, CYCLE, "MINGOB", until, "Nuevo.", DIRECTOR)

        at_once(grant, grant, remind)

        assert world.decisions("extend") == 1
        with session(world.settings.database) as db:
            keys = list(db.scalars(select(Email.key).where(Email.kind == "reminder")))
        assert len(keys) == len(set(keys))

    trials(worlds, trial)


@pytest.mark.slow
def test_closing_a_cycle_twice_at_once_records_it_once(worlds):
    def trial(world: World) -> None:
        def close() -> object:
            return close_cycle(world.settings, CYCLE, world.plan.id, DIRECTOR)

        first, second = at_once(close, close)
        assert sorted([first.changed, second.changed]) == [False, True]
        assert world.decisions("close") == 1

    trials(worlds, trial)


@pytest.mark.slow
def test_a_file_arriving_while_its_predecessor_is_reviewed(worlds):
    def trial(world: World) -> None:
        older = a_file(world, "MINGOB")

        results = at_once(
            lambda: approve(world.settings, world.plan, older, "revisora@gae.example"),
            lambda: a_file(world, "MINGOB"),
        )

        # Either the approval came first, or the newer file did and replaced the older one.
        if isinstance(results[0], DecisionRefused):
            assert results[0].code == "superseded"
        assert world.decisions("approve") == (0 if refused(results) else 1)

    trials(worlds, trial)


@pytest.mark.slow
def test_two_openings_of_one_cycle_make_one_cycle(worlds):
    def trial(world: World) -> None:
        def open_() -> object:
            return open_cycle_record(world.settings, world.plan, "2023-08", date(2023, 8, 1))

        first, second = at_once(open_, open_)
        assert (first.deadline, first.opened_on) == (second.deadline, second.opened_on)
        with session(world.settings.database) as db:
            assert db.scalar(select(func.count()).where(Cycle.id == "2023-08")) == 1

    trials(worlds, trial)


def test_the_board_folder_is_a_link_to_the_board_being_served(settings, plan, tmp_path: Path):
    build_board(settings, plan)
    board = settings.folder("board") / plan.id
    assert board.is_symlink() and (board / "index.html").exists()
    assert oct(board.resolve().stat().st_mode & 0o777) == "0o755"
