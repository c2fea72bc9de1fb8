"""The public board, built from the ledger of test_consolidation with both its cycles published.

2022-08: MINGOB's second file (1.1 Iniciado 50 %, 1.2 No iniciado 0 %), SEGEPLAN (1.3 Iniciado
40 %, 2.1 No iniciado). 2023-03: MINGOB's third file (1.1 Completado 100 %, 1.2 Iniciado 30 %),
SAT (2.3 Completado); SEGEPLAN sent nothing accepted, so 1.3 and 2.1 are «último conocido».
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from frictionless import Package
from pypdf import PdfReader
from sqlalchemy import select

from tasks import catalogues
from tasks.cycle.extensions import extend
from tasks.mail.local_server import local_smtp_server
from tasks.publication.approval import publish_draft
from tasks.publication.board import BoardResult, build_board
from tasks.publication.consolidation import CommitmentFigures
from tasks.publication.irm import suggested_completion
from tasks.publication.publishing import consolidate
from tasks.settings import Settings
from tasks.storage.ledger import InboundMessage, MilestoneValue, Submission, session
from tests.network import free_port
from tests.test_consolidation import CURRENT, PREVIOUS, Ledger, build_ledger


@dataclass
class Built:
    ledger: Ledger
    settings: Settings
    result: BoardResult

    @property
    def folder(self) -> Path:
        return self.result.folder

    def page(self, relative: str) -> str:
        return (self.folder / relative).read_text(encoding="utf-8")


def published_board(tmp_path: Path) -> Built:
    """Both cycles of the ledger consolidated and published by the director (a report each,
    the director's emails to a local SMTP server), then the board built."""
    ledger = build_ledger(tmp_path)
    settings = Settings(home=tmp_path / "ws", database_url=ledger.url, smtp_port=free_port())
    mail = settings.folder("mail", "outbox")  # what the director was sent
    with local_smtp_server(mail, mail, settings.sender, settings.smtp_port):
        extend(
            settings, ledger.plan, CURRENT, "SEGEPLAN", date(2023, 3, 31), "Cambio de enlace.", "d"
        )
        for cycle_id in (PREVIOUS, CURRENT):
            consolidate(settings, ledger.plan, cycle_id)
            publish_draft(settings, ledger.plan, cycle_id, "directora@gae.example")
    return Built(ledger, settings, build_board(settings, ledger.plan))


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return published_board(tmp_path_factory.mktemp("board"))


class Text(HTMLParser):
    """The visible text of a page, whitespace collapsed."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    @classmethod
    def of(cls, html: str) -> str:
        parser = cls()
        parser.feed(html)
        return re.sub(r"\s+", " ", " ".join(parser.parts))


def csv_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_board_has_a_home_a_page_per_commitment_and_institution_and_the_data(board):
    files = {p.relative_to(board.folder).as_posix() for p in board.folder.rglob("*")}

    assert {"index.html", "ogp.html", "estilo.css", "datos/index.html"} <= files
    assert {"compromisos/C01.html", "compromisos/C02.html"} <= files
    institutions = {"MINGOB", "SEGEPLAN", "MSPAS", "SAT"}
    assert {f"instituciones/{code}.html" for code in institutions} <= files
    assert "instituciones/GAE.html" not in files  # responsible for no milestone
    for cycle in (PREVIOUS, CURRENT):
        for kind in ("csv", "xlsx", "pdf"):
            assert f"datos/{cycle}/v1/gt-prueba-{cycle}.{kind}" in files
    assert board.result.published == {PREVIOUS: 1, CURRENT: 1}


def test_home_shows_the_headline_every_commitment_and_the_last_publication(board):
    home = Text.of(board.page("index.html"))

    assert "2 de 7 hitos completados (28,57 %)" in home  # 1.1 and 2.3
    assert "C01 GT0101 Transparencia en seguridad 56,67 %" in home
    assert "C02 GT0102 Datos abiertos 25,00 %" in home
    assert "informe del ciclo 2023-03, versión 1, publicado el" in home
    assert "<svg" in board.page("index.html")
    assert "2022-08: 0,00 % de los hitos completados. 2023-03: 28,57 %" in board.page("index.html")
    assert "Avance del compromiso = suma del avance (%) de sus hitos" in home  # the formula's text
    assert "report.formula" not in home


def test_commitment_page_gives_each_milestone_with_its_history_across_cycles(board):
    page = board.page("compromisos/C01.html")
    text = Text.of(page)
    row = Text.of(page.split('id="hito-1.1"')[1].split("</tr>")[0])

    assert "Instituciones responsables: Ministerio de Gobernación (MINGOB)" in text
    assert "GT0101" in text
    assert "01/01/2022" in row and "31/12/2022" in row
    assert "Completado" in row and "Avances de 1.1." not in row
    assert "https://mingob.example/1.1" in row
    assert "2022-08: Iniciado, 50 % 2023-03: Completado, 100 %" in row
    stale = Text.of(page.split('id="hito-1.3"')[1].split("</tr>")[0])
    assert "2023-03: Iniciado, 40 % (último conocido)" in stale


def test_institution_page_gives_its_milestones_and_delivery_in_each_cycle(board):
    text = Text.of(board.page("instituciones/SEGEPLAN.html"))

    assert "Secretaría de Planificación (SEGEPLAN)" in text
    assert "2023-03 24/03/2023 Sin entregar 1 1 31/03/2023" in text  # rejected; extended
    assert "2022-08 12/08/2022 A tiempo 1 0 —" in text
    assert "1.3" in text and "2.1" in text and "1.1" not in text.split("Sus hitos")[1]


def test_board_shows_what_was_published_not_files_accepted_after(tmp_path):
    built = published_board(tmp_path)
    with session(built.ledger.url) as db:
        late = Submission(
            sha256="f" * 64, filename="tarde.xlsx", channel="email", cycle_id=CURRENT,
            plan_id="gt-prueba", institution="MSPAS", version=1, outcome="accepted",
            received_at=datetime(2023, 4, 1),
        )  # fmt: skip
        late.values.append(MilestoneValue(milestone="2.2", estado="Completado", avance_pct=100))
        db.add(late)

    build_board(built.settings, built.ledger.plan)

    history = {r["codigo_hito"]: r for r in csv_rows(built.folder / "datos" / "historial.csv")}
    assert history["2.2"]["fuente"] == "sin_datos"
    assert "2 de 7 hitos completados" in Text.of(built.page("index.html"))


@pytest.mark.parametrize(
    ("counts", "progress", "level"),
    [
        ((0, 0, 0, 4), 0.0, "no-evidence"),
        ((3, 0, 0, 1), 0.0, "not-started"),
        ((1, 2, 0, 0), 20.0, "limited"),
        ((0, 2, 1, 0), 49.99, "limited"),
        ((0, 2, 1, 0), 50.0, "substantial"),
        ((0, 0, 3, 0), 100.0, "complete"),
        ((0, 0, 2, 1), 66.67, "substantial"),
    ],
)
def test_suggested_irm_level_follows_the_stated_rule(counts, progress, level):
    no_iniciado, iniciado, completado, sin_datos = counts
    figures = CommitmentFigures(
        1, "C01", "GT0101", "T", no_iniciado, iniciado, completado, sin_datos, progress
    )

    assert suggested_completion(figures) == level


def test_ogp_view_states_the_rule_and_marks_each_level_as_a_suggestion(board):
    text = Text.of(board.page("ogp.html"))

    assert "Esto es una sugerencia, no la evaluación del MRI." in text
    assert "Sustancial : el avance es de 50 % o más" in text
    assert "C01 GT0101 Transparencia en seguridad — 56,67 % 1 de 3 Sustancial (sugerido)" in text
    assert "C02 GT0102 Datos abiertos — 25,00 % 1 de 4 Limitado (sugerido)" in text


def test_sample_plan_declares_the_irm_cluster_of_commitments_7_and_8(plan):
    clustered = {c.number: c.irm_cluster for c in plan.commitments if c.irm_cluster}

    assert clustered == {7: "Migración irregular", 8: "Migración irregular"}


def test_downloads_page_links_every_version_and_the_whole_history(board):
    page = board.page("datos/index.html")

    for cycle in (PREVIOUS, CURRENT):
        for kind in ("csv", "xlsx", "pdf"):
            assert f'href="../datos/{cycle}/v1/gt-prueba-{cycle}.{kind}"' in page
    assert 'href="historial.csv"' in page and 'href="datapackage.json"' in page
    history = csv_rows(board.folder / "datos" / "historial.csv")
    assert [(r["ciclo"], r["codigo_hito"]) for r in history][:2] == [
        (PREVIOUS, "1.1"),
        (PREVIOUS, "1.2"),
    ]
    assert len(history) == 2 * 7


def test_data_package_describes_every_table_with_licence_version_and_keys(board):
    descriptor = json.loads((board.folder / "datos" / "datapackage.json").read_text("utf-8"))
    resources = {r["name"]: r for r in descriptor["resources"]}

    assert descriptor["licenses"][0]["name"] == "CC-BY-4.0"
    assert descriptor["version"] == f"{CURRENT}-v1"
    assert descriptor["sources"]
    assert set(resources) == {
        "hitos", "compromisos", "instituciones", "historial", "avance_compromisos", "entregas",
        "valoraciones", f"ciclo-{PREVIOUS}-v1", f"ciclo-{CURRENT}-v1",
    }  # fmt: skip
    fields = {f["name"]: f for f in resources["historial"]["schema"]["fields"]}
    assert fields["estado"]["constraints"]["enum"] == ["No iniciado", "Iniciado", "Completado"]
    assert fields["avance_pct"]["unit"] == "%"
    assert fields["vencido"]["type"] == "boolean" and fields["fecha_fin"]["type"] == "date"
    assert resources["historial"]["schema"]["primaryKey"] == ["ciclo", "codigo_hito"]
    references = {
        fk["fields"][0]: fk["reference"]["resource"]
        for fk in resources["historial"]["schema"]["foreignKeys"]
    }
    assert references == {
        "codigo_hito": "hitos",
        "codigo_compromiso": "compromisos",
        "institucion": "instituciones",
    }


def test_data_package_licence_is_a_setting(tmp_path):
    built = published_board(tmp_path)
    settings = built.settings.model_copy(update={"data_license": "CC0-1.0"})

    build_board(settings, built.ledger.plan)

    descriptor = json.loads((built.folder / "datos" / "datapackage.json").read_text("utf-8"))
    assert descriptor["licenses"][0]["name"] == "CC0-1.0"
    assert "licencia CC0-1.0" in Text.of(built.page("index.html"))


def errors(package: Path) -> list[tuple[str, str]]:
    """(resource, error type) of every error frictionless finds in the package."""
    report = Package(str(package)).validate()
    return [(task.name, error.type) for task in report.tasks for error in task.errors]


def test_published_data_package_passes_frictionless_validate(board):
    assert errors(board.folder / "datos" / "datapackage.json") == []


def test_frictionless_catches_a_package_broken_on_purpose(tmp_path):
    built = published_board(tmp_path)
    data = built.folder / "datos"
    history = (data / "historial.csv").read_text("utf-8").splitlines()
    history[1] = history[1].replace(",true,", ",True,").replace(",false,", ",False,")
    history[2] = history[2].replace(",1.2,", ",9.9,")
    (data / "historial.csv").write_text("\n".join(history) + "\n", "utf-8")
    states = (data / "entregas.csv").read_text("utf-8").replace("A tiempo", "Puntual", 1)
    (data / "entregas.csv").write_text(states, "utf-8")

    found = errors(data / "datapackage.json")

    assert ("historial", "type-error") in found  # booleans are true/false
    assert ("historial", "foreign-key") in found  # 9.9 is no milestone of the plan
    assert ("entregas", "constraint-error") in found  # not a delivery state


def texts_under(folder: Path) -> dict[Path, str]:
    """Every file's text as a person or a program would read it: XLSX unzipped, PDF extracted."""
    found = {}
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as book:
                found[path] = " ".join(book.read(n).decode("utf-8") for n in book.namelist())
        elif path.suffix == ".pdf":
            found[path] = " ".join(page.extract_text() for page in PdfReader(path).pages)
        else:
            found[path] = path.read_text(encoding="utf-8")
    return found


def addresses(built: Built) -> set[str]:
    """Every contact in the plan and every sender the ledger knows."""
    plan = built.ledger.plan
    found = {plan.coordinator.director.email}
    found |= {c.email for i in plan.institutions for c in (i.liaison, i.head)}
    with session(built.ledger.url) as db:
        found |= set(db.scalars(select(Submission.sender)))
        found |= set(db.scalars(select(InboundMessage.sender)))
    return {a.lower() for a in found if a}


def test_no_contact_or_sender_address_appears_anywhere_under_the_board(board):
    known = addresses(board)
    texts = texts_under(board.folder)

    assert "enlace@mingob.example" in known and len(texts) > 20
    leaks = {
        (path.relative_to(board.folder).as_posix(), address)
        for path, text in texts.items()
        for address in known
        if address in text.lower()
    }
    assert leaks == set()


def test_the_address_check_finds_an_address_written_into_a_file(board, tmp_path):
    planted = tmp_path / "copia"
    planted.mkdir()
    (planted / "pagina.html").write_text("<p>Escriba a enlace@mingob.example</p>", "utf-8")

    texts = texts_under(planted)

    assert any("enlace@mingob.example" in t for t in texts.values())


def test_package_texts_and_irm_labels_follow_the_language(tmp_path):
    built = published_board(tmp_path)
    settings = built.settings.model_copy(update={"language": "en"})

    build_board(settings, built.ledger.plan)

    descriptor = json.loads((built.folder / "datos" / "datapackage.json").read_text("utf-8"))
    assert descriptor["description"].startswith("Progress of the milestones")
    assert "Substantial" in Text.of(built.page("ogp.html"))
    assert errors(built.folder / "datos" / "datapackage.json") == []


def test_the_board_is_built_in_the_language_setting_from_the_same_templates(tmp_path):
    built = published_board(tmp_path)
    settings = built.settings.model_copy(update={"language": "en"})

    build_board(settings, built.ledger.plan)

    home = built.page("index.html")
    assert '<html lang="en">' in home
    assert "Progress board of the action plan" in Text.of(home)
    assert "2022-08: 0.00% of the milestones completed. 2023-03: 28.57%" in home
    commitment = built.page("compromisos/C01.html")
    assert 'data-label="Milestone"' in commitment and '<th scope="col">History</th>' in commitment
    assert "Deliveries by cycle" in Text.of(built.page("instituciones/SEGEPLAN.html"))
    assert "This is a suggestion, not the IRM's assessment." in Text.of(built.page("ogp.html"))
    # no word of the Spanish board is left on any English page
    spanish = {
        value
        for key, value in catalogues.messages("es").items()
        if key.startswith("board_page.") and isinstance(value, str) and "{" not in value
    } - {c.title for c in built.ledger.plan.commitments}  # the plan's own words stay as written
    left = {
        (path.relative_to(built.folder).as_posix(), word)
        for path in built.folder.rglob("*.html")
        for word in spanish
        if f">{word}<" in path.read_text("utf-8") or f'"{word}"' in path.read_text("utf-8")
    }
    assert left == set()
