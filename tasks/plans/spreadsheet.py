"""A plan from the directorate's own spreadsheet, and a plan written back as that spreadsheet.

A directorate keeps its plan as a table: sheets ``Plan`` (field, value), ``Instituciones``,
``Compromisos`` and ``Hitos``, one row each. Sheet and column names are matched in Spanish or
English, without case or accents (the labels are in the catalogues, ``plan_table.*``). Every
bad row gives one English sentence naming the sheet and row; the plan that comes out is
checked with ``tasks.plans.check`` before it is written as YAML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from io import BytesIO
from typing import Any

import yaml
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from tasks.catalogues import LANGUAGES, text
from tasks.core.contract import words
from tasks.plans.check import PlanProblem, check_data
from tasks.plans.plan import Plan

PLAN_FIELDS = [
    "id",
    "name",
    "short_name",
    "country",
    "timezone",
    "language",
    "start",
    "end",
    "coordinator",
    "coordinator_name",
    "director_name",
    "director_email",
]
OPTIONAL_PLAN_FIELDS = {"short_name", "coordinator_name"}
TABLES: dict[str, list[str]] = {
    "institutions": [
        "code",
        "name",
        "liaison_name",
        "liaison_email",
        "head_name",
        "head_email",
        "sample",
        "article",
    ],
    "commitments": ["number", "ogp_id", "title", "leads", "irm_cluster", "sample"],
    "milestones": [
        "code",
        "commitment",
        "institution",
        "description",
        "start",
        "end",
        "expected_result",
    ],
}
REQUIRED: dict[str, set[str]] = {
    "institutions": {"code", "name", "liaison_email", "head_email"},
    "commitments": {"number", "title", "leads"},
    "milestones": {"code", "commitment", "institution", "description", "start", "end"},
}
_YES = {"si", "yes", "true", "1", "x"}


@dataclass
class Imported:
    """The plan read from a table, as plain data, and what is wrong with it."""

    data: dict[str, Any]
    problems: list[PlanProblem] = field(default_factory=list)

    def yaml(self) -> str:
        return yaml.safe_dump(self.data, sort_keys=False, allow_unicode=True, width=100)


def _normal(label: object) -> str:
    return "_".join(words(str(label))) if label is not None else ""


def _names(kind: str, key: str) -> set[str]:
    return {_normal(text(language, f"plan_table.{kind}.{key}")) for language in LANGUAGES}


def import_plan(data: bytes) -> Imported:
    """The plan in a workbook of the directorate's table; problems instead of exceptions."""
    try:
        book = load_workbook(BytesIO(data), read_only=True, data_only=True)
    # openpyxl fails in many ways on what is not an .xlsx: all mean "not a workbook".
    except Exception as exc:
        return Imported({}, [PlanProblem("unreadable", "", f"not an .xlsx workbook ({exc})")])
    sheets = {_normal(name): name for name in book.sheetnames}
    problems: list[PlanProblem] = []
    found: dict[str, list[list[object]]] = {}
    for kind in ("plan", *TABLES):
        name = next((sheets[n] for n in _names("sheets", kind) if n in sheets), None)
        if name is None:
            wanted = text("es", f"plan_table.sheets.{kind}")
            problems.append(PlanProblem("sheet-missing", "", f"the sheet «{wanted}» is missing"))
            continue
        found[kind] = [list(row) for row in book[name].iter_rows(values_only=True)]
    if problems:
        return Imported({}, problems)
    plan = _plan_fields(found["plan"], problems)
    tables = {kind: _rows(kind, found[kind], problems) for kind in TABLES}
    plan["institutions"] = [_institution(row, problems) for row in tables["institutions"]]
    by_number: dict[str, dict[str, Any]] = {}
    for row in tables["commitments"]:
        commitment = _commitment(row, problems)
        if commitment is not None:
            by_number[str(commitment["number"])] = commitment
    for row in tables["milestones"]:
        _milestone(row, by_number, problems)
    plan["commitments"] = list(by_number.values())
    if not problems:
        problems = check_data(plan)
    return Imported(plan, problems)


def _cell(value: object) -> str:
    """A cell as text: a number without a spurious ``.0``, a date as ISO."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _day(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raw = _cell(value)
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(raw, pattern).date()
        except ValueError:
            continue
    return None


def _plan_fields(rows: list[list[object]], problems: list[PlanProblem]) -> dict[str, Any]:
    keys = {name: key for key in PLAN_FIELDS for name in _names("plan", key)}
    values: dict[str, object] = {}
    for row in rows:
        if row and _normal(row[0]) in keys:
            values[keys[_normal(row[0])]] = row[1] if len(row) > 1 else None
    missing = [
        key for key in PLAN_FIELDS if key not in OPTIONAL_PLAN_FIELDS and not _cell(values.get(key))
    ]
    for key in missing:
        label = text("es", f"plan_table.plan.{key}")
        problems.append(PlanProblem("field-missing", "Plan", f"the field «{label}» has no value"))
    plan: dict[str, Any] = {
        key: _cell(values.get(key))
        for key in ("id", "name", "short_name", "country", "timezone", "language")
    }
    for key in ("start", "end"):
        day = _day(values.get(key))
        if values.get(key) is not None and day is None:
            problems.append(
                PlanProblem("date-invalid", "Plan", f"{key} is not a date (YYYY-MM-DD)")
            )
        plan[key] = day
    plan["coordinator"] = {
        "institution": _cell(values.get("coordinator")),
        "director": {
            "name": _cell(values.get("director_name")),
            "email": _cell(values.get("director_email")),
        },
    }
    if _cell(values.get("coordinator_name")):
        plan["coordinator"]["name"] = _cell(values.get("coordinator_name"))
    return plan


def _rows(
    kind: str, rows: list[list[object]], problems: list[PlanProblem]
) -> list[tuple[str, dict[str, object]]]:
    """Each non-blank row under the header, as (where, key → cell)."""
    sheet = text("es", f"plan_table.sheets.{kind}")
    keys = {name: key for key in TABLES[kind] for name in _names(kind, key)}
    header_at = next(
        (i for i, row in enumerate(rows) if sum(_normal(c) in keys for c in row) >= 2), None
    )
    if header_at is None:
        problems.append(PlanProblem("header-missing", sheet, "has no header row"))
        return []
    columns = {keys[_normal(c)]: at for at, c in enumerate(rows[header_at]) if _normal(c) in keys}
    for key in sorted(REQUIRED[kind] - set(columns)):
        label = text("es", f"plan_table.{kind}.{key}")
        problems.append(PlanProblem("column-missing", sheet, f"the column «{label}» is missing"))
    found = []
    for index in range(header_at + 1, len(rows)):
        row = rows[index]
        values = {key: row[at] if at < len(row) else None for key, at in columns.items()}
        if not any(_cell(v) for v in values.values()):
            continue
        found.append((f"{sheet}, row {index + 1}", values))
    return found


def _required(
    where: str, values: dict[str, object], keys: list[str], problems: list[PlanProblem]
) -> bool:
    blank = [key for key in keys if not _cell(values.get(key))]
    for key in blank:
        problems.append(PlanProblem("cell-blank", where, f"{key} is blank"))
    return not blank


def _institution(row: tuple[str, dict[str, object]], problems: list[PlanProblem]) -> dict:
    where, values = row
    _required(where, values, ["code", "name", "liaison_email", "head_email"], problems)
    institution: dict[str, Any] = {
        "code": _cell(values.get("code")),
        "name": _cell(values.get("name")),
        "liaison": {
            "name": _cell(values.get("liaison_name")),
            "email": _cell(values.get("liaison_email")),
        },
        "head": {
            "name": _cell(values.get("head_name")),
            "email": _cell(values.get("head_email")),
        },
    }
    if _normal(values.get("sample")) in _YES:
        institution["sample"] = True
    if _cell(values.get("article")):  # blank: the language's rule decides
        institution["article"] = _cell(values.get("article"))
    return institution


def _commitment(
    row: tuple[str, dict[str, object]], problems: list[PlanProblem]
) -> dict[str, Any] | None:
    where, values = row
    if not _required(where, values, ["number", "title", "leads"], problems):
        return None
    number = _cell(values.get("number"))
    if not number.isdigit():
        problems.append(PlanProblem("number-invalid", where, f"number {number!r} is not whole"))
        return None
    leads = [lead.strip() for lead in _cell(values.get("leads")).split(",")]
    commitment: dict[str, Any] = {
        "number": int(number),
        "ogp_id": _cell(values.get("ogp_id")),
        "title": _cell(values.get("title")),
        "leads": [lead for lead in leads if lead],
    }
    if _cell(values.get("irm_cluster")):
        commitment["irm_cluster"] = _cell(values.get("irm_cluster"))
    if _normal(values.get("sample")) in _YES:
        commitment["sample"] = True
    commitment["milestones"] = []
    return commitment


def _milestone(
    row: tuple[str, dict[str, object]],
    commitments: dict[str, dict[str, Any]],
    problems: list[PlanProblem],
) -> None:
    where, values = row
    keys = ["code", "commitment", "institution", "description", "start", "end"]
    if not _required(where, values, keys, problems):
        return
    number = _cell(values.get("commitment"))
    commitment = commitments.get(number)
    if commitment is None:
        problems.append(
            PlanProblem("unknown-commitment", where, f"commitment {number} is not listed")
        )
        return
    start, end = _day(values.get("start")), _day(values.get("end"))
    for key, day in (("start", start), ("end", end)):
        if day is None:
            problems.append(
                PlanProblem(
                    "date-invalid",
                    where,
                    f"{key} {_cell(values.get(key))!r} is not a date (dd/mm/yyyy or YYYY-MM-DD)",
                )
            )
    if start is None or end is None:
        return
    milestone: dict[str, Any] = {
        "code": _cell(values.get("code")),
        "institution": _cell(values.get("institution")),
        "description": _cell(values.get("description")),
        "start": start,
        "end": end,
    }
    if _cell(values.get("expected_result")):
        milestone["expected_result"] = _cell(values.get("expected_result"))
    commitment["milestones"].append(milestone)


def export_plan(plan: Plan, language: str = "es") -> bytes:
    """The plan as the directorate's table (the format ``import_plan`` reads)."""
    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)

    def sheet(kind: str, keys: list[str], rows: list[list[object]]) -> None:
        target = book.create_sheet(text(language, f"plan_table.sheets.{kind}"))
        header = [text(language, f"plan_table.{kind}.{key}") for key in keys]
        for row in [header, *rows]:
            target.append(row)
        for index, key in enumerate(keys, start=1):
            target.cell(1, index).font = Font(bold=True)
            target.cell(1, index).fill = PatternFill("solid", fgColor="DDEBF7")
            wide = key in ("name", "title", "description", "expected_result")
            target.column_dimensions[get_column_letter(index)].width = 50 if wide else 16
        target.freeze_panes = "A2"

    director = plan.coordinator.director
    fields = dict(
        zip(
            PLAN_FIELDS,
            [
                plan.id,
                plan.name,
                plan.short_name,
                plan.country,
                plan.timezone,
                plan.language,
                plan.start,
                plan.end,
                plan.coordinator.institution,
                plan.coordinator.name,
                director.name,
                director.email,
            ],
            strict=True,
        )
    )
    sheet(
        "plan",
        ["field", "value"],
        [[text(language, f"plan_table.plan.{key}"), value] for key, value in fields.items()],
    )
    yes = text(language, "plan_table.affirmative")
    sheet(
        "institutions",
        TABLES["institutions"],
        [
            [
                i.code,
                i.name,
                i.liaison.name,
                i.liaison.email,
                i.head.name,
                i.head.email,
                yes if i.sample else "",
                i.article or "",
            ]
            for i in plan.institutions
        ],
    )
    sheet(
        "commitments",
        TABLES["commitments"],
        [
            [
                c.number,
                c.ogp_id,
                c.title,
                ", ".join(c.leads),
                c.irm_cluster,
                yes if c.sample else "",
            ]
            for c in plan.commitments
        ],
    )
    sheet(
        "milestones",
        TABLES["milestones"],
        [
            [m.code, m.commitment, m.institution, m.description, m.start, m.end, m.expected_result]
            for m in plan.milestones
        ],
    )
    for target in book.worksheets:
        for row in target.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, date):
                    cell.number_format = "yyyy-mm-dd"
                elif isinstance(cell.value, str):
                    cell.data_type = "s"  # a code like 1.10 stays text
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()
