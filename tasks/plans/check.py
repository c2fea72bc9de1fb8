"""Checking a plan before cycles run on it: every problem at once, one English sentence each.

Loading a plan (``tasks.plans.plan.load_plan``) stops at the first problem; a directorate fixing a
plan wants the whole list. The checks run on the file's raw data, so one bad field does not
hide the others, and then the plan's own model is asked for what only it knows (types, email
addresses, code patterns).
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from tasks.plans.plan import Plan, PlanFileTooLarge, read_plan_yaml


@dataclass(frozen=True)
class PlanProblem:
    """One problem in a plan: a stable code, where it is, and what to change."""

    code: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


def check_file(path: Path) -> list[PlanProblem]:
    """The problems of a plan file; an empty list when cycles can run on it."""
    try:
        data = read_plan_yaml(path)
    except PlanFileTooLarge as exc:
        return [PlanProblem("yaml-too-large", "", str(exc))]
    except (OSError, yaml.YAMLError) as exc:
        return [PlanProblem("unreadable", str(path), f"cannot be read as YAML ({exc})")]
    return check_data(data)


def check_data(data: Any) -> list[PlanProblem]:
    """Every problem of a plan given as plain data (a parsed YAML file)."""
    if not isinstance(data, dict):
        return [PlanProblem("not-a-plan", "", "the file is not a mapping of plan fields")]
    problems = _links(data)
    try:
        Plan.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            if not error["loc"]:  # the model's own link check: reported above, all at once
                continue
            where = ".".join(str(part) for part in error["loc"])
            if error["type"] == "extra_forbidden":
                problems.append(_unknown_key(error["loc"]))
                continue
            problems.append(PlanProblem("invalid-field", where, str(error["msg"])))
    except ValueError as exc:  # a link problem raised outside pydantic's error list
        if not problems:
            problems.append(PlanProblem("invalid-plan", "", str(exc)))
    return problems


def _unknown_key(location: tuple[int | str, ...]) -> PlanProblem:
    """A key the plan's model does not know, with the nearest known one when it looks misspelt
    (an unknown key is never ignored: ``liasion:`` would leave an institution without liaison)."""
    *parent, key = location
    model = _model_at(tuple(parent))
    known = sorted(model.model_fields) if model is not None else []
    near = difflib.get_close_matches(str(key), known, n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else f" (known: {', '.join(known)})"
    where = ".".join(str(part) for part in parent)
    return PlanProblem("unknown-key", where, f"unknown key {str(key)!r}{hint}")


def _model_at(location: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The plan model that holds the value at ``location`` (list indexes skipped)."""
    model: type[BaseModel] = Plan
    for part in location:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        inner = _model_of(field.annotation)
        if inner is None:
            return None
        model = inner
    return model


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds, directly or as a list's items."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in getattr(annotation, "__args__", ()):
        if (found := _model_of(argument)) is not None:
            return found
    return None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _links(data: dict[str, Any]) -> list[PlanProblem]:
    """References between institutions, commitments and milestones; codes; dates."""
    problems: list[PlanProblem] = []
    institutions = [i for i in _list(data.get("institutions")) if isinstance(i, dict)]
    known = Counter(str(i.get("code", "")) for i in institutions)
    for code, count in known.items():
        if count > 1:
            problems.append(
                PlanProblem("institution-duplicated", f"institution {code}", "appears twice")
            )
    start, end = _date(data.get("start")), _date(data.get("end"))
    if data.get("start") is None or data.get("end") is None:
        problems.append(
            PlanProblem(
                "period-missing",
                "plan",
                "has no start and end (YYYY-MM-DD): milestone dates cannot be checked against "
                "the plan's period",
            )
        )
    elif start is None or end is None or start > end:
        problems.append(
            PlanProblem("period-invalid", "plan", "start and end must be dates, start first")
        )
    coordinator = data.get("coordinator")
    if isinstance(coordinator, dict) and coordinator.get("institution") not in known:
        problems.append(
            PlanProblem(
                "unknown-institution",
                "coordinator",
                f"institution {coordinator.get('institution')!r} is not under institutions",
            )
        )
    codes: Counter[str] = Counter()
    numbers: Counter[str] = Counter()
    for commitment in _list(data.get("commitments")):
        if not isinstance(commitment, dict):
            continue
        number = str(commitment.get("number", "?"))
        numbers[number] += 1
        where = f"commitment {number}"
        leads = [str(lead) for lead in _list(commitment.get("leads"))]
        if not leads:
            problems.append(PlanProblem("no-lead", where, "has no lead institution"))
        for lead in leads:
            if lead not in known:
                problems.append(
                    PlanProblem(
                        "unknown-institution", where, f"lead {lead!r} is not under institutions"
                    )
                )
        for milestone in _list(commitment.get("milestones")):
            if not isinstance(milestone, dict):
                continue
            code = str(milestone.get("code", ""))
            codes[code] += 1
            problems += _milestone(milestone, code, number, leads, known, start, end)
    for number, count in numbers.items():
        if count > 1:
            problems.append(
                PlanProblem("commitment-duplicated", f"commitment {number}", "appears twice")
            )
    for code, count in codes.items():
        if count > 1:
            problems.append(
                PlanProblem(
                    "milestone-duplicated",
                    f"milestone {code}",
                    f"the code appears {count} times: codes must be unique",
                )
            )
    return problems


def _milestone(
    milestone: dict[str, Any],
    code: str,
    number: str,
    leads: list[str],
    known: Counter[str],
    start: date | None,
    end: date | None,
) -> list[PlanProblem]:
    where = f"milestone {code}"
    problems: list[PlanProblem] = []
    if not code.startswith(f"{number}."):
        problems.append(
            PlanProblem(
                "milestone-misnumbered",
                where,
                f"is under commitment {number}, so its code must start with {number}.",
            )
        )
    institution = str(milestone.get("institution", ""))
    if institution not in known:
        problems.append(
            PlanProblem(
                "unknown-institution",
                where,
                f"institution {institution!r} is not under institutions",
            )
        )
    elif institution not in leads:
        problems.append(
            PlanProblem(
                "institution-not-a-lead",
                where,
                f"{institution} is responsible for it but does not lead commitment {number} "
                f"(leads: {', '.join(leads) or 'none'}): add it to the leads or correct the "
                "milestone's institution",
            )
        )
    begins, ends = _date(milestone.get("start")), _date(milestone.get("end"))
    if begins and ends and begins > ends:
        problems.append(
            PlanProblem("dates-reversed", where, f"starts {begins} after it ends {ends}")
        )
    if start and end:
        for name, day in (("start", begins), ("end", ends)):
            if day and not start <= day <= end:
                problems.append(
                    PlanProblem(
                        "date-outside-period",
                        where,
                        f"{name} {day} is outside the plan's period {start} to {end}",
                    )
                )
    return problems
