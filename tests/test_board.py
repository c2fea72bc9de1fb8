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
from sqlalchemy import func, select

from tasks import catalogues
from tasks.cycle.extensions import extend
from tasks.mail.local_server import local_smtp_server
from tasks.plans.plan import Plan
from tasks.publication.approval import publish_draft
from tasks.publication.board import BoardResult, build_board
from tasks.publication.consolidation import CommitmentFigures
from tasks.publication.irm import suggested_completion
from tasks.publication.publishing import consolidate
from tasks.settings import Settings
from tasks.storage.ledger import InboundMessage, MilestoneValue, Report, Submission, session
from tests.network import free_port
from tests.test_consolidation import CURRENT, PLAN, PREVIOUS, Ledger, build_ledger


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


def published_board(tmp_path: Path, plan: Plan | None = None) -> Built:
    """Both cycles of the ledger consolidated and published by the director (a report each,
    the director's emails to a local SMTP server), then the board built (of ``plan``, the
    ledger's own by default)."""
    ledger = build_ledger(tmp_path)
    if plan is not None:
        ledger = Ledger(ledger.url, plan, ledger.ids)
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
    assert "C02 GT0102 Datos abiertos 25,00 % 2 hitos sin datos (cuentan como 0 %)" in home
    assert "con el informe de marzo 2023, versión 1." in home
    assert "<svg" in board.page("index.html")
    assert "2022-08: 0,00 % de los hitos completados. 2023-03: 28,57 %" in board.page("index.html")
    assert "Avance del compromiso = suma del avance (%) de sus hitos" in home  # the formula's text
    assert "report.formula" not in home


def published_moment(built: Built) -> datetime:
    with session(built.ledger.url) as db:
        moment = db.scalar(select(func.max(Report.published_at)))
    assert moment is not None
    return moment


def test_every_page_says_first_when_it_was_updated_in_the_plans_time_and_language(board):
    moment = catalogues.local_time(published_moment(board), "America/Guatemala", "es")
    expected = f"Actualizado el {moment} (hora de Guatemala), con el informe de marzo 2023"

    for path in sorted(board.folder.rglob("*.html")):
        main = Text.of(path.read_text("utf-8").split('<main id="contenido">')[1])
        assert main.strip().startswith(expected), path.name


def test_the_update_reads_in_english_on_an_english_board(tmp_path):
    built = published_board(tmp_path)
    settings = built.settings.model_copy(update={"language": "en"})

    build_board(settings, built.ledger.plan)

    moment = catalogues.local_time(published_moment(built), "America/Guatemala", "en")
    home = Text.of(built.page("index.html"))
    assert f"Updated {moment} (Guatemala Time), with the report of March 2023, version 1." in home


def test_the_plans_headline_is_charted_across_the_published_cycles(board):
    page = board.page("index.html")
    chart = page.split('<figure class="grafico-titular">')[1].split("</figure>")[0]
    points = re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)"', chart)

    assert len(points) == 2 and float(points[0][0]) < float(points[1][0])  # oldest on the left
    assert float(points[0][1]) > float(points[1][1])  # 0 % below 28.57 %
    assert re.search(r"<polyline [^>]*points=", chart)
    labels = Text.of(chart)
    assert "0,00 %" in labels and "28,57 %" in labels
    assert labels.index("2022-08") < labels.index("2023-03")


def test_commitment_page_gives_each_milestone_with_its_history_across_cycles(board):
    page = board.page("compromisos/C01.html")
    text = Text.of(page)
    row = Text.of(page.split('id="hito-1.1"')[1].split("</tr>")[0])

    assert "Instituciones responsables Ministerio de Gobernación (MINGOB)" in text
    others = "También responden por alguno de sus hitos Secretaría de Planificación (SEGEPLAN)"
    assert others in text
    assert "Fechas de sus hitos del 01/01/2022 al 30/06/2023" in text
    assert "Id. OGP GT0101" in text
    assert "Fechas planificadas del 01/01/2022 al 31/12/2022" in row
    assert "Completado" in row and "Avances de 1.1." not in row
    assert "Evidencia (mingob.example)" in row
    assert "2022-08: Iniciado, 50 % 2023-03: Completado, 100 %" in row
    stale = Text.of(page.split('id="hito-1.3"')[1].split("</article>")[0])
    assert "2023-03: Iniciado, 40 % (último conocido)" in stale


def test_evidence_is_a_link_named_by_its_site_never_a_raw_address(board):
    page = board.page("compromisos/C01.html")
    card = page.split('id="hito-1.2"')[1].split("</article>")[0]

    links = re.findall(r'<a class="evidencia" href="([^"]+)"[^>]*>(.*?)</a>', card, re.S)
    assert [(href, Text.of(text).strip()) for href, text in links] == [
        ("https://mingob.example/evidencia?a=1&amp;b=2", "Evidencia (mingob.example)")
    ]
    assert "https://" not in Text.of(card)
    assert 'href="javascript:' not in board.page("compromisos/C02.html")  # 2.3's is text


def test_a_milestone_nobody_reported_reads_sin_datos_not_zero(board):
    card = board.page("compromisos/C02.html").split('id="hito-2.2"')[1].split("</article>")[0]
    row = board.page("hitos.html").split('data-institucion="MSPAS"')[1].split("</tr>")[0]
    card, line = Text.of(card), Text.of(row)

    assert "Sin datos" in card and "0 %" not in card
    assert "2022-08: Sin datos 2023-03: Sin datos" in card
    assert "Sin datos Sin datos" in line and "0 %" not in line


def test_institution_page_gives_its_milestones_and_delivery_in_each_cycle(board):
    text = Text.of(board.page("instituciones/SEGEPLAN.html"))

    assert "Secretaría de Planificación (SEGEPLAN)" in text
    assert "2023-03 24/03/2023 Sin entregar 1 1 31/03/2023" in text  # rejected; extended
    assert "2022-08 12/08/2022 A tiempo 1 0 —" in text
    assert "Hito 1.3" in text and "Hito 2.1" in text and "1.1" not in text.split("Sus hitos")[1]


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


UNREPORTED = {
    "number": 3,
    "ogp_id": "GT0103",
    "title": "Salud abierta",
    "leads": ["MSPAS"],
    "milestones": [
        {"code": "3.1", "institution": "MSPAS", "description": "Publicar compras.",
         "start": "2022-01-01", "end": "2023-12-31"},
    ],
}  # fmt: skip
"""A commitment whose only institution never reported anything (like MARN's C06 in the demo)."""


@pytest.fixture(scope="module")
def unreported(tmp_path_factory: pytest.TempPathFactory) -> Built:
    plan = Plan.model_validate({**PLAN, "commitments": [*PLAN["commitments"], UNREPORTED]})
    return published_board(tmp_path_factory.mktemp("sin-datos"), plan)


def test_a_commitment_nobody_reported_reads_sin_datos_on_every_page_never_zero(unreported):
    home = Text.of(unreported.page("index.html").split('id="lista-compromisos"')[1])
    ogp = Text.of(unreported.page("ogp.html").split('id="lista-ogp"')[1])
    page = Text.of(unreported.page("compromisos/C03.html"))

    assert "C03 GT0103 Salud abierta Sin datos 0 de 1" in home
    assert "C03 GT0103 Salud abierta — Sin datos 0 de 1 Sin evidencia (sugerido)" in ogp
    assert "Sin datos de avance en el ciclo 2023-03: ninguno de sus hitos fue reportado" in page
    assert "2023-03 Sin datos 0 0 0 1" in page and "2022-08 Sin datos 0 0 0 1" in page
    assert "0,00 %" not in page


def test_open_data_leave_a_missing_progress_empty_and_say_what_empty_means(unreported):
    data = unreported.folder / "datos"
    figures = {
        (r["ciclo"], r["codigo_compromiso"]): r for r in csv_rows(data / "avance_compromisos.csv")
    }
    descriptor = json.loads((data / "datapackage.json").read_text("utf-8"))
    fields = {
        f["name"]: f
        for r in descriptor["resources"]
        if r["name"] == "avance_compromisos"
        for f in r["schema"]["fields"]
    }

    assert figures[(CURRENT, "C03")]["avance_pct"] == ""
    assert figures[(CURRENT, "C03")]["nivel_mri_sugerido"] == "sin-evidencia"
    assert figures[(CURRENT, "C02")]["avance_pct"] == "25"
    assert "vacío si ninguno de sus hitos tiene datos" in fields["avance_pct"]["description"]
    assert errors(data / "datapackage.json") == []
    dictionary = Text.of(unreported.page("datos/index.html").split('id="diccionario"')[1])
    assert "avance_pct Número (%) Avance del compromiso" in dictionary
    assert "nunca significa 0" in dictionary


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
        f"ciclo-{PREVIOUS}-v1", f"ciclo-{CURRENT}-v1",
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
    assert "<dt>Planned dates</dt>" in commitment and "<dt>History</dt>" in commitment
    assert 'data-label="Milestone"' in built.page("hitos.html")
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
