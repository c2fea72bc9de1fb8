"""Validation: the Great Expectations suite run over returned rows, turned into findings.

Many submissions are validated in one Great Expectations run (their rows stacked, each tagged
with its submission key), so the set-up cost is paid once per batch, not per file. The suite
runs through a Great Expectations validation definition; ``validate`` returns a report object
(the findings, and the run behind them for the Data Docs). Templates and reports never see Great
Expectations objects: only findings and that report leave this module.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from babel.numbers import get_decimal_symbol

from tasks.checks.findings import Finding, finding
from tasks.plans.plan import Plan
from tasks.workbooks import contract

SUITE = Path(__file__).resolve().parents[2] / "expectations" / "hitos_entrega.json"
TEXT_COLUMNS = [key for key in contract.REQUIRED if contract.BY_KEY[key].kind != "whole"]
"""Required text columns: blank becomes None, which the suite's presence checks see."""


@dataclass
class Prepared:
    """One submission's rows, shaped for the suite, plus what preparing them already found."""

    key: str
    institution: str
    frame: pd.DataFrame
    reference: date
    """The cycle's deadline: milestones ending before it are past due."""
    previous: dict[str, float] = field(default_factory=dict)
    """Milestone code → progress in the institution's last accepted file of the cycle before."""
    previous_cycle: str = ""
    findings: list[Finding] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    """The institution's milestones the file left out: rows are added for them in the batch."""


def resolve_codes(rows: pd.DataFrame, known: list[str], language: str) -> list[Finding]:
    """Map codes a spreadsheet turned into numbers back to the plan's text, when unambiguous."""
    problems: list[Finding] = []
    for index, row in rows[rows["codigo_numerico"]].iterrows():
        code = str(row["codigo_hito"])
        if code in known:
            continue
        try:
            number = float(code)
        except ValueError:
            continue
        candidates = [c for c in known if math.isclose(float(c), number)]
        if len(candidates) == 1:
            rows.at[index, "codigo_hito"] = candidates[0]
        elif len(candidates) > 1:
            problems.append(
                finding(
                    "milestone-code-ambiguous",
                    milestone=code,
                    column="codigo_hito",
                    row=int(row["fila"]),
                    candidates=", ".join(candidates),
                    language=language,
                )
            )
    return problems


def prepare(
    rows: pd.DataFrame,
    key: str,
    plan: Plan,
    institution: str,
    reference: date,
    previous: dict[str, float] | None = None,
    previous_cycle: str = "",
    language: str = "es",
) -> Prepared:
    """One file's rows for the batch, and the institution's milestones it left out.

    Codes a spreadsheet turned into numbers are mapped back to the plan's text in ``rows``
    itself, so the values recorded for an accepted file carry the plan's codes. Everything else
    is done to the whole batch at once (``with_helpers``): per file, a dozen pandas column
    operations cost more than reading the file.
    """
    known = [m.code for m in plan.milestones_of(institution)]
    problems = resolve_codes(rows, known, language) if rows["codigo_numerico"].any() else []
    present = set(rows["codigo_hito"])
    absent = [code for code in known if code not in present]
    return Prepared(
        key, institution, rows, reference, previous or {}, previous_cycle, problems, absent
    )


def with_helpers(prepared: list[Prepared], plan: Plan) -> pd.DataFrame:
    """The batch's rows stacked, with the columns the suite checks beside the file's own.

    ``_envio`` (submission key), ``_clave`` (institution|code), ``_en_plan``, ``avance_pct`` as
    a number, ``_avance_entero``, ``_avance_vacio``, ``avance_anterior`` and ``_vencido``; one
    pass over all rows.
    """
    # Each file's own rows, then one row per milestone a file left out.
    frames = [p.frame for p in prepared]
    absent = [code for p in prepared for code in p.absent]
    if absent:
        frames.append(pd.DataFrame({"codigo_hito": absent, "fila": None}))
    frame = pd.concat(frames, ignore_index=True)
    own = sum(len(p.frame) for p in prepared)
    frame["_presente"] = np.arange(len(frame)) < own
    owners = [*prepared, *(p for p in prepared for _ in p.absent)]
    sizes = [len(p.frame) for p in prepared] + [1] * len(absent)
    for column in TEXT_COLUMNS:
        frame[column] = frame[column].map(lambda v: v if isinstance(v, str) and v else None)
    frame["_envio"] = np.repeat([p.key for p in owners], sizes).astype(object)
    code = frame["codigo_hito"]
    institution = pd.Series(np.repeat([p.institution for p in owners], sizes), dtype=object)
    frame["_clave"] = (institution + "|" + code.fillna("")).where(code.notna(), None)
    ends = {f"{m.institution}|{m.code}": m.end for m in plan.milestones}
    # In the plan for this institution; None (skipped by the suite) where the code is missing.
    frame["_en_plan"] = frame["_clave"].isin(set(ends)).astype(object).where(code.notna(), None)
    avance = pd.to_numeric(frame["avance_pct"], errors="coerce")
    frame["avance_pct"] = avance
    frame["_avance_entero"] = avance.isna() | (avance == avance.round())
    # Blank, not text that is no number: the suite's map rules skip nulls, so it is said apart.
    frame["_avance_vacio"] = avance.isna() & frame["avance_raw"].fillna("").eq("")
    previous = {f"{p.institution}|{c}": v for p in prepared for c, v in p.previous.items()}
    frame["avance_anterior"] = frame["_clave"].map(previous).astype("float64")
    end = pd.to_datetime(frame["_clave"].map(ends))
    reference = pd.to_datetime(np.repeat([p.reference for p in owners], sizes))
    frame["_vencido"] = frame["_presente"] & (end.to_numpy() < reference.to_numpy())
    frame["_id"] = range(len(frame))
    return frame


@dataclass
class SuiteRun:
    """One Great Expectations run as it happened: its result object and the rows it checked."""

    result: Any
    frame: pd.DataFrame


@dataclass
class ValidationReport:
    """One validation of a batch: findings per submission key, and the run that decided them
    (None when there was nothing to validate)."""

    findings: dict[str, list[Finding]]
    run: SuiteRun | None = None


@cache
def _suite_and_batches() -> tuple[Any, Any]:
    """The suite's validation definition (the suite over a whole-dataframe batch) in an
    ephemeral context, built once; and the suite."""
    import great_expectations as gx

    # An ephemeral context announces the temporary folder of a docs site Hitos never uses.
    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}  # type: ignore[assignment]
    with SUITE.open(encoding="utf-8") as handle:
        suite = context.suites.add(gx.ExpectationSuite(**json.load(handle)))
    asset = context.data_sources.add_pandas("hitos").add_dataframe_asset("entregas")
    batches = asset.add_batch_definition_whole_dataframe("todas")
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name="hitos_entrega", data=batches, suite=suite)
    )
    return suite, definition


def run_suite(frame: pd.DataFrame) -> SuiteRun:
    """The suite's validation definition run over a frame.

    The suite takes no parameters: a value set as large as the plan (20,000 keys at 1,000
    institutions) was re-serialised by Great Expectations for every metric it planned, most of
    the run's time. Membership in the plan arrives as the ``_en_plan`` column instead.
    """
    _, definition = _suite_and_batches()
    result = definition.run(
        batch_parameters={"dataframe": frame},
        result_format={
            "result_format": "COMPLETE",
            "unexpected_index_column_names": ["_id"],
            "return_unexpected_index_query": False,
        },
    )
    return SuiteRun(result, frame)


def as_json(run: SuiteRun) -> dict[str, Any]:
    """A run's results as plain JSON (no numpy scalars)."""
    data: dict[str, Any] = json.loads(json.dumps(run.result.to_json_dict(), default=str))
    return data


def shown_value(row: dict[str, Any], column: str, language: str = "es") -> str:
    """The cell's value as the liaison typed it (numbers with a decimal comma, a recognised
    state by its label), for the message."""
    raw = row.get("avance_raw") if column == "avance_pct" else None
    if isinstance(raw, str) and raw:
        return raw
    value = row.get(column)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:g}".replace(".", get_decimal_symbol(language))
    if column == contract.STATE:
        return contract.state_label(str(value), language)
    return str(value)


def validate(prepared: list[Prepared], plan: Plan, language: str = "es") -> ValidationReport:
    """Findings per submission key, from one run of the suite over all the submissions."""
    findings: dict[str, list[Finding]] = {p.key: list(p.findings) for p in prepared}
    if not prepared:
        return ValidationReport(findings)
    frame = with_helpers(prepared, plan)
    institutions = {p.key: p.institution for p in prepared}
    previous_cycles = {p.key: p.previous_cycle for p in prepared}
    ends = {m.code: m.end for m in plan.milestones}
    run = run_suite(frame)
    for result in as_json(run)["results"]:
        if result["success"]:
            continue
        meta = result["expectation_config"]["meta"]
        if result.get("exception_info", {}).get("raised_exception"):
            raise RuntimeError(
                f"expectation {meta['rule']} failed to run: {result['exception_info']}"
            )
        ids = [int(u["_id"]) for u in result["result"].get("unexpected_index_list") or []]
        for row in frame.iloc[ids].to_dict("records"):
            key = str(row["_envio"])
            code = row["codigo_hito"]
            milestone = code if isinstance(code, str) else ""  # a blank code is None or NaN
            fila = row["fila"]
            findings[key].append(
                finding(
                    meta["rule"],
                    meta["severity"],
                    milestone=milestone,
                    column=meta["column"],
                    row=None if fila is None or pd.isna(fila) else int(fila),
                    language=language,
                    value=shown_value(row, meta["column"], language),
                    institution=institutions[key],
                    previous=shown_value(row, "avance_anterior"),
                    previous_cycle=previous_cycles[key],
                    end=ends[milestone].strftime("%d/%m/%Y") if milestone in ends else "",
                )
            )
    for key in findings:
        findings[key].sort(key=lambda f: (f.severity != "error", f.row or 10**6, f.column))
    return ValidationReport(findings, run)
