"""A corpus of what real offices send, mailed to the intake inbox and run through one intake.

Every file is built here, as a liaison's spreadsheet program would have saved it, and arrives as
an email attachment in the workspace Maildir. One ``store_all`` + ``process`` handles the whole
batch, as the intake flow does; each file's outcome and findings are then checked.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from tasks.core.contract import FILLED_BY_INSTITUTION
from tasks.core.contract import KEYS as COLUMNS
from tasks.cycle.intake import Outcome, process, store, store_all
from tasks.cycle.requests import build_request, open_cycle_record
from tasks.mail.inbox import Attachment, Received, open_maildir
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage import filestore
from tasks.storage.ledger import Submission, session
from tasks.workbooks.layout import HEADER_ROW
from tasks.workbooks.layout import header as workbook_header
from tests.conftest import SAMPLE_PLAN, free_port

LIAISON = "enlace@mingob.example"
# MINGOB's five milestones, all on time: 1.1-1.4 ended before the March 2023 deadline.
GOOD: dict[str, dict[str, object]] = {
    **{
        code: {
            "estado": "Completado",
            "avance_pct": 100,
            "descripcion_avance": f"Hito {code} cumplido y publicado.",
            "evidencia_url": f"https://mingob.example/ga/{code}",
        }
        for code in ("1.1", "1.2", "1.3", "1.4")
    },
    "1.5": {
        "estado": "Iniciado",
        "avance_pct": 40,
        "descripcion_avance": "Gestión de mesas con sociedad civil.",
        "evidencia_url": "https://mingob.example/ga/1.5",
    },
}


@dataclass
class Case:
    """One file of the corpus and what intake must conclude about it."""

    filename: str
    build: Callable[[Context], bytes]
    outcome: str
    expected: set[tuple[str, str, str]] = field(default_factory=set)
    sender: str = LIAISON


@dataclass
class Context:
    plan: object
    template: bytes

    def rows(self, **changes: Mapping[str, object]) -> list[dict[str, object]]:
        """The contract rows of MINGOB filled correctly, with per-milestone changes."""
        rows = []
        for milestone in self.plan.milestones_of("MINGOB"):  # type: ignore[attr-defined]
            row: dict[str, object] = {
                "institucion": "MINGOB",
                "codigo_hito": milestone.code,
                "compromiso": f"{milestone.commitment}. Compromiso",
                "hito": milestone.description,
                "fecha_inicio": milestone.start,
                "fecha_fin": milestone.end,
                **GOOD[milestone.code],
                "observaciones": "",
            }
            row.update(changes.get(milestone.code.replace(".", "_"), {}))
            rows.append(row)
        return rows


def filled(ctx: Context, **changes: Mapping[str, object]) -> bytes:
    """The signed request workbook, filled in Excel-style (cell by cell)."""
    book = load_workbook(io.BytesIO(ctx.template))
    sheet = book["Hitos"]
    header_row, header = workbook_header(sheet)
    assert header_row is not None
    wanted = {r["codigo_hito"]: r for r in ctx.rows(**changes)}
    for row in range(header_row + 1, sheet.max_row + 1):
        code = sheet.cell(row, header["codigo_hito"]).value
        for column in FILLED_BY_INSTITUTION:
            sheet.cell(row, header[column]).value = wanted[code][column]
        if code != wanted[code]["codigo_hito"]:
            sheet.cell(row, header["codigo_hito"]).value = wanted[code]["codigo_hito"]
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def without_row(ctx: Context, code: str) -> bytes:
    book = load_workbook(io.BytesIO(filled(ctx)))
    sheet = book["Hitos"]
    sheet.protection.sheet = False
    for row in range(HEADER_ROW + 1, sheet.max_row + 1):
        if sheet.cell(row, 2).value == code:
            sheet.delete_rows(row)
            break
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def plain_xlsx(
    rows: list[dict[str, object]],
    columns: list[str] = COLUMNS,
    title_rows: int = 0,
    blank_column: bool = False,
    as_number: bool = False,
    header: bool = True,
) -> bytes:
    """A workbook an office made itself: no template, no signature."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Hitos"
    for n in range(title_rows):
        sheet.append([f"Ministerio de Gobernación — informe {n + 1}"])
    if title_rows:
        sheet.append([])
    pad = [None] if blank_column else []
    if header:
        sheet.append(pad + list(columns))
    for index, row in enumerate(rows):
        values = [row.get(c) for c in columns]
        if as_number:
            values = [
                float(str(v)) if c == "codigo_hito" else v
                for c, v in zip(columns, values, strict=False)
            ]
        sheet.append(pad + values)
        if index == 1:
            sheet.append([])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def as_csv(
    rows: list[dict[str, object]],
    columns: list[str] = COLUMNS,
    sep: str = ",",
    encoding: str = "utf-8",
    decimal_comma: bool = False,
    percent: bool = False,
) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep)
    writer.writerow(columns)
    for row in rows:
        values = []
        for column in columns:
            value = row.get(column)
            if isinstance(value, date):
                value = value.strftime("%d/%m/%Y")
            elif column == "avance_pct" and isinstance(value, int | float):
                value = f"{value:.1f}".replace(".", ",") if decimal_comma else str(value)
                value = value + "%" if percent else value
            values.append("" if value is None else value)
        writer.writerow(values)
    return out.getvalue().encode(encoding)


def legacy_xls(rows: list[dict[str, object]]) -> bytes:
    xlwt = pytest.importorskip("xlwt", reason="writing .xls needs xlwt (a dev dependency)")
    book = xlwt.Workbook()
    sheet = book.add_sheet("Hitos")
    dates = xlwt.easyxf(num_format_str="dd/mm/yyyy")
    for column, name in enumerate(COLUMNS):
        sheet.write(0, column, name)
    for index, row in enumerate(rows, start=1):
        for column, name in enumerate(COLUMNS):
            value = row.get(name)
            if name == "codigo_hito":
                sheet.write(index, column, float(str(value)))
            elif isinstance(value, date):
                sheet.write(index, column, value, dates)
            else:
                sheet.write(index, column, value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def with_macros(ctx: Context) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(filled(ctx)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item))
        target.writestr("xl/vbaProject.bin", b'Attribute VB_Name = "Module1"\x00' * 10)
    return out.getvalue()


def bomb(ctx: Context) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * (50 * 1024 * 1024))
    return out.getvalue()


def tampered_meta(ctx: Context) -> bytes:
    book = load_workbook(io.BytesIO(filled(ctx)))
    meta = book["_meta"]
    for row in meta.iter_rows():
        if row[0].value == "cycle":
            row[1].value = "2022-08"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def err(rule: str, milestone: str, column: str) -> set[tuple[str, str, str]]:
    return {(rule, milestone, column)}


CASES = [
    # What intake tolerates: accepted as the same five values.
    Case("reporte final (2).xlsx", lambda c: filled(c), "accepted"),
    Case("avances.xlsm", with_macros, "accepted"),
    Case("avances_2003.xls", lambda c: legacy_xls(c.rows()), "accepted"),
    Case("avances.csv", lambda c: as_csv(c.rows()), "accepted"),
    Case("avances-bom.csv", lambda c: as_csv(c.rows(), sep=";", encoding="utf-8-sig"), "accepted"),
    Case(
        "avances-excel-es.csv",
        lambda c: as_csv(c.rows(), sep=";", encoding="cp1252", decimal_comma=True),
        "accepted",
    ),
    Case("con-porcentaje.csv", lambda c: as_csv(c.rows(), percent=True), "accepted"),
    Case(
        "titulos-y-blancos.xlsx",
        lambda c: plain_xlsx(c.rows(), title_rows=2, blank_column=True),
        "accepted",
    ),
    Case("codigos-numero.xlsx", lambda c: plain_xlsx(c.rows(), as_number=True), "accepted"),
    Case(
        "estados-sin-tilde.xlsx",
        lambda c: plain_xlsx(
            c.rows(
                **{
                    "1_1": {"estado": "COMPLETADO"},
                    "1_2": {"estado": "completado"},
                    "1_5": {"estado": "en proceso"},
                }
            )
        ),
        "accepted",
    ),
    Case(
        "fechas-texto.xlsx",
        lambda c: plain_xlsx(
            [
                {**r, "fecha_inicio": r["fecha_inicio"].strftime("%d/%m/%Y")}  # type: ignore[attr-defined]
                for r in c.rows()
            ]
        ),
        "accepted",
    ),
    Case(
        "avance-50,0.csv",
        lambda c: as_csv(c.rows(**{"1_5": {"avance_pct": "40,0"}}), sep=";"),
        "accepted",
    ),
    Case(
        "sin-columna-institucion.csv",
        lambda c: as_csv(c.rows(), columns=COLUMNS[1:]),
        "accepted",
    ),
    # Accepted, with what reviewers must see.
    Case(
        "vencido.xlsx",
        lambda c: filled(c, **{"1_4": {"estado": "Iniciado", "avance_pct": 90}}),
        "accepted_with_warnings",
        err("milestone-overdue", "1.4", "estado"),
    ),
    Case(
        "desde-gmail.xlsx",
        lambda c: filled(c, **{"1_5": {"observaciones": "enviado desde casa"}}),
        "accepted_with_warnings",
        {("sender-not-a-contact", "", "")},
        sender="enlace.mingob@gmail.example",
    ),
    Case("meta-alterada.xlsx", tampered_meta, "accepted_with_warnings"),
    # Each error kind: rejected, naming milestone and column.
    Case(
        "completado-80.xlsx",
        lambda c: filled(c, **{"1_1": {"avance_pct": 80}}),
        "rejected",
        err("completed-requires-100", "1.1", "avance_pct"),
    ),
    Case(
        "no-iniciado-30.xlsx",
        lambda c: filled(c, **{"1_5": {"estado": "No iniciado", "avance_pct": 30}}),
        "rejected",
        err("not-started-requires-0", "1.5", "avance_pct"),
    ),
    Case(
        "iniciado-100.xlsx",
        lambda c: filled(c, **{"1_5": {"avance_pct": 100}}),
        "rejected",
        err("started-requires-1-to-99", "1.5", "avance_pct"),
    ),
    Case(
        "estado-terminado.xlsx",
        lambda c: filled(c, **{"1_2": {"estado": "Terminado"}}),
        "rejected",
        err("state-invalid", "1.2", "estado"),
    ),
    Case(
        "avance-texto.csv",
        lambda c: as_csv(c.rows(**{"1_5": {"avance_pct": "cuarenta"}})),
        "rejected",
        err("progress-not-a-number", "1.5", "avance_pct"),
    ),
    Case(
        "avance-150.csv",
        lambda c: as_csv(c.rows(**{"1_2": {"avance_pct": 150}})),
        "rejected",
        err("progress-out-of-range", "1.2", "avance_pct"),
    ),
    Case(
        "avance-decimal.xlsx",
        lambda c: plain_xlsx(c.rows(**{"1_5": {"avance_pct": 40.5}})),
        "rejected",
        err("progress-not-whole", "1.5", "avance_pct"),
    ),
    Case(
        "sin-evidencia.xlsx",
        lambda c: filled(c, **{"1_3": {"evidencia_url": None}}),
        "rejected",
        err("evidence-url-missing", "1.3", "evidencia_url"),
    ),
    Case(
        "evidencia-sin-http.xlsx",
        lambda c: filled(c, **{"1_5": {"evidencia_url": "www.mingob.gob.gt/ga"}}),
        "rejected",
        err("evidence-url-invalid", "1.5", "evidencia_url"),
    ),
    Case(
        "sin-descripcion.xlsx",
        lambda c: filled(c, **{"1_5": {"descripcion_avance": None}}),
        "rejected",
        err("progress-description-missing", "1.5", "descripcion_avance"),
    ),
    Case(
        "fila-borrada.xlsx",
        lambda c: without_row(c, "1.3"),
        "rejected",
        err("milestone-absent", "1.3", "codigo_hito"),
    ),
    Case(
        "codigo-inventado.csv",
        lambda c: as_csv([*c.rows(), {**c.rows()[4], "codigo_hito": "9.9"}]),
        "rejected",
        err("milestone-unknown", "9.9", "codigo_hito"),
    ),
    Case(
        "fila-repetida.csv",
        lambda c: as_csv([*c.rows(), c.rows()[1]]),
        "rejected",
        err("milestone-duplicated", "1.2", "codigo_hito"),
    ),
    Case(
        "sin-columna-avance.csv",
        lambda c: as_csv(c.rows(), columns=[x for x in COLUMNS if x != "avance_pct"]),
        "rejected",
        {("column-missing", "", "avance_pct")},
    ),
    Case(
        "sin-encabezados.xlsx",
        lambda c: plain_xlsx(c.rows(), header=False),
        "rejected",
        {("header-missing", "", "")},
    ),
    # Files that are not readable spreadsheets.
    Case("vacio.xlsx", lambda c: b"", "unreadable", {("file-unreadable", "", "")}),
    Case("cortado.xlsx", lambda c: filled(c)[:3000], "unreadable", {("file-unreadable", "", "")}),
    Case(
        "informe.xlsx",
        lambda c: b"%PDF-1.7\n" + b"0" * 2000,
        "unreadable",
        {("file-unreadable", "", "")},
    ),
    Case("bomba.xlsx", bomb, "unreadable", {("file-unreadable", "", "")}),
    Case(
        "enorme.csv",
        lambda c: as_csv(c.rows(**{"1_5": {"observaciones": "x" * (2 * 1024 * 1024)}})),
        "unreadable",
        {("file-too-large", "", "")},
    ),
    # A name that tries to climb out of the workspace decides nothing.
    Case(
        "../../../tmp/hitos-fuera.xlsx",
        lambda c: filled(c, **{"1_5": {"observaciones": "Nombre con ruta."}}),
        "accepted",
    ),
    # A file nobody can tie to a request.
    Case(
        "datos.csv",
        lambda c: as_csv(
            c.rows(**{"1_5": {"observaciones": "De otra fuente."}}), columns=COLUMNS[1:]
        ),
        "quarantined",
        {("not-identified", "", "")},
        sender="alguien@desconocido.example",
    ),
]


def mail_to_intake(settings, case: Case, data: bytes) -> None:
    message = EmailMessage()
    message["From"] = case.sender
    message["To"] = settings.sender
    message["Subject"] = f"Avances MINGOB: {case.filename}"
    message["Message-ID"] = f"<{case.filename.replace(' ', '_')}@corpus.example>"
    message.set_content("Adjunto el reporte.")
    message.add_attachment(
        data, maintype="application", subtype="octet-stream", filename=case.filename
    )
    open_maildir(settings.folder("mail", "inbox")).add(message)


@dataclass
class Corpus:
    settings: Settings
    outcomes: dict[str, Outcome]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, plan) -> Corpus:
    """The whole corpus through one intake run; the outcome of each file by its name."""
    home = tmp_path_factory.mktemp("corpus") / "ws"
    settings = Settings(home=home, smtp_port=free_port(), plan=SAMPLE_PLAN, max_file_mb=1)
    cycle = open_cycle_record(settings, plan, "2023-03", date(2023, 3, 1))
    template = build_request(settings, plan, cycle, plan.institution("MINGOB")).read_bytes()
    for other in plan.reporting_institutions():
        build_request(settings, plan, cycle, other)
    ctx = Context(plan, template)
    for case in CASES:
        mail_to_intake(settings, case, case.build(ctx))

    stored = store_all(settings)
    results = process(settings, plan)

    assert len(stored) == len(CASES)
    return Corpus(settings, {o.filename: o for o in results})


def test_the_corpus_has_at_least_thirty_distinct_files():
    assert len({c.filename for c in CASES}) == len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c.filename for c in CASES])
def test_each_file_gets_its_outcome_and_findings(corpus, case):
    outcome = corpus.outcomes[Path(case.filename).name]
    found = {(f.rule, f.milestone or "", f.column or "") for f in outcome.findings}
    rules = {f.rule for f in outcome.findings}

    assert outcome.outcome == case.outcome, [f.message for f in outcome.findings]
    for rule, milestone, column in case.expected:
        if milestone or column:
            assert (rule, milestone, column) in found
        else:
            assert rule in rules
    if case.outcome != "quarantined":
        assert outcome.institution == "MINGOB" and outcome.cycle == "2023-03"


def test_every_finding_of_a_rejected_file_says_what_to_fix_in_spanish(corpus):
    for case in CASES:
        for f in corpus.outcomes[Path(case.filename).name].findings:
            assert f.message and f.message[0].isupper() and f.message.endswith(".")
            if f.milestone and f.rule != "sender-not-a-contact":
                assert f.milestone in f.message


def test_files_are_kept_by_content_whatever_their_names(corpus):
    settings = corpus.settings
    with session(settings.database) as db:
        subs = db.query(Submission).all()

    assert len(subs) == len(CASES)
    for sub in subs:
        with session(settings.database) as db:
            data = filestore.get(db, sub.sha256)
        assert hashlib.sha256(data).hexdigest() == sub.sha256
        assert (settings.home / "files" / sub.sha256[:2] / sub.sha256).read_bytes() == data
    assert not Path("/tmp/hitos-fuera.xlsx").exists()


def test_a_code_turned_into_a_number_is_recorded_under_the_plans_code(tmp_path, plan):
    """A plan numbering 1.10 after a gap: the liaison's spreadsheet turned «1.10» into the number
    1.1; intake maps it back, and the accepted value is stored under 1.10, not 1.1."""
    data = plan.model_dump()
    for commitment in data["commitments"]:
        for milestone in commitment["milestones"]:
            if milestone["code"] == "1.1":
                milestone["code"] = "1.10"
    gapped = Plan.model_validate(data)
    settings = Settings(home=tmp_path / "ws", smtp_port=free_port(), plan=SAMPLE_PLAN)
    open_cycle_record(settings, gapped, "2023-03", date(2023, 3, 1))
    rows = Context(plan, b"").rows()
    rows[0]["codigo_hito"] = "1.10"
    workbook = plain_xlsx(rows, as_number=True)
    store(
        settings,
        [
            Received(
                "<gap@mingob.example>",
                "mail",
                LIAISON,
                attachments=[Attachment("a.xlsx", workbook)],
            )
        ],
        institution="MINGOB",
        cycle_id="2023-03",
    )

    [outcome] = process(settings, gapped)

    assert outcome.outcome == "accepted", [f.message for f in outcome.findings]
    with session(settings.database) as db:
        sub = db.get(Submission, outcome.submission_id)
        assert sub is not None
        recorded = [v.milestone for v in sub.values]
    assert recorded == [m.code for m in gapped.milestones_of("MINGOB")]
    assert "1.10" in recorded
