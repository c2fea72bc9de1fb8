"""Validation: the Great Expectations suite run over returned rows, turned into findings.

Many submissions are validated in one Great Expectations run per cycle (their rows stacked,
each tagged with its submission key), so the set-up cost is paid once per batch, not per file.
The suite's rules carry Great Expectations' own ``severity`` (critical rejects the file, warning
does not); it runs as the validation definition of a checkpoint. Given a Data Docs site, each run
is handed to it once it is done (``tasks.checks.data_docs`` keeps each submission's part in the
shared store). ``validate`` returns a report object: the findings, and the runs behind them.
Templates and reports never see Great Expectations objects: only findings and that report leave
this module.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from babel.numbers import get_decimal_symbol

from tasks.catalogues import short_date, text
from tasks.core import contract
from tasks.core.findings import Finding, Severity, finding
from tasks.plans.plan import Plan

SUITE = Path(__file__).resolve().parents[2] / "expectations" / "hitos_entrega.json"
logger = logging.getLogger(__name__)
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
    previous: dict[str, dict[str, object]] = field(default_factory=dict)
    """Milestone code → its values (the contract's value columns) in the institution's last
    accepted file of the cycle before."""
    previous_cycle: str = ""
    findings: list[Finding] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    """The institution's milestones the file left out: rows are added for them in the batch."""
    cycle: str = ""
    """The cycle the file answers: each cycle's rows are one run, filed in that cycle's docs."""


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
    previous: dict[str, dict[str, object]] | None = None,
    previous_cycle: str = "",
    language: str = "es",
    cycle: str = "",
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
        key, institution, rows, reference, previous or {}, previous_cycle, problems, absent, cycle
    )


def with_helpers(prepared: list[Prepared], plan: Plan, language: str = "es") -> pd.DataFrame:
    """The batch's rows stacked, with the columns the suite checks beside the file's own.

    ``_envio`` (submission key), ``_clave`` (institution|code), ``_en_plan``, ``avance_pct`` as
    a number, ``_avance_vacio``, ``avance_anterior``, ``_como_antes``, ``_vencido`` and each
    row's name for reviewers (``ROW``); one pass over all rows.
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
    # Blank, not text that is no number: the suite's map rules skip nulls, so it is said apart.
    frame["_avance_vacio"] = avance.isna() & frame["avance_raw"].fillna("").eq("")
    previous = {f"{p.institution}|{c}": v for p in prepared for c, v in p.previous.items()}
    before = frame["_clave"].map(previous)
    frame["avance_anterior"] = before.map(
        lambda v: v.get(contract.PROGRESS) if isinstance(v, dict) else None
    ).astype("float64")
    frame[AS_BEFORE] = [
        row[0] if isinstance(values, dict) and _as_before(row, values) else None
        for values, row in zip(before, frame[list(SAME_AS_BEFORE)].to_numpy(), strict=True)
    ]
    end = pd.to_datetime(frame["_clave"].map(ends))
    reference = pd.to_datetime(np.repeat([p.reference for p in owners], sizes))
    frame["_vencido"] = frame["_presente"] & (end.to_numpy() < reference.to_numpy())
    frame[ROW] = row_names(frame, institution, language)
    return frame


AS_BEFORE = "_como_antes"
"""The frame's column holding a row's description where it and the evidence are, word for word,
last cycle's accepted ones (what a pre-filled workbook sent back without a new word says), else
None: the suite expects it empty, and Data Docs show the repeated text."""
SAME_AS_BEFORE = ("descripcion_avance", contract.EVIDENCE)


def _as_before(row: Any, values: dict[str, object]) -> bool:
    """Whether every ``SAME_AS_BEFORE`` cell says what last cycle's file said (spacing aside),
    and says something."""
    said = [" ".join(str(v).split()) if isinstance(v, str) else "" for v in row]
    before = [" ".join(str(values.get(key) or "").split()) for key in SAME_AS_BEFORE]
    return all(said) and said == before


def row_names(frame: pd.DataFrame, institution: pd.Series, language: str) -> list[str]:
    """``envío 3 · MINEDUC 4.1 (fila 5)``: each row as reviewers look it up, unique in a batch
    (a submission's rows differ by row number; the rows added for absent milestones by code)."""
    # The catalogue's templates rendered once with placeholders, then filled per row: a Jinja2
    # render per row would cost a second at 20,000 rows.
    fields = ("submission", "institution", "milestone", "where")
    label = text(language, "data_docs.row_label", **{f: "{" + f + "}" for f in fields})
    at = text(language, "data_docs.row_where", row="{row}")
    absent, no_code = (text(language, f"data_docs.{k}") for k in ("row_absent", "no_code"))
    return [
        label.format(
            submission=key,
            institution=who,
            milestone=code if isinstance(code, str) else no_code,
            where=absent if pd.isna(row) else at.format(row=int(row)),
        )
        for key, who, code, row in zip(
            frame["_envio"], institution, frame["codigo_hito"], frame["fila"], strict=True
        )
    ]


ROW = "_fila_revisada"
"""The frame's column naming each row as reviewers look it up (``envío 3 · MINEDUC 4.1 (fila
5)``); the suite's failing rows are identified by it, so Data Docs show it instead of an index."""
SUITE_NAME = "hitos_entrega"


@dataclass(frozen=True)
class DocsSite:
    """A cycle's Data Docs site (``tasks.checks.data_docs.site``): ``filed`` is told of each suite
    run of the cycle once it is done, and keeps what reviewers will read of it."""

    name: str
    filed: Callable[[SuiteRun], None] = field(hash=False, compare=False)


@dataclass
class SuiteRun:
    """One checkpoint run as it happened: its result and the rows it checked."""

    result: Any
    """Great Expectations' ``CheckpointResult``."""
    frame: pd.DataFrame
    cycle: str = ""

    @cached_property
    def documents(self) -> list[dict[str, Any]]:
        """Each validation result of the run as plain JSON (no numpy scalars), made once: the
        findings and the Data Docs both read it (``to_json_dict`` is a third of a large run)."""
        return [
            json.loads(json.dumps(result.to_json_dict(), default=str)) for result in self.results()
        ]

    @property
    def success(self) -> bool:
        """False when a critical rule failed: failed warnings leave the run a success."""
        return all(blocking_passed(r) for r in self.results())

    def results(self) -> list[Any]:
        """The checkpoint's validation results (one: the suite over the batch)."""
        return list(self.result.run_results.values())


def blocking_passed(result: Any) -> bool:
    """Whether no critical rule failed in a validation result (Great Expectations' own
    ``severity``; its ``success`` is False when any rule failed, warnings included)."""
    from great_expectations.expectations.metadata_types import FailureSeverity

    return bool(result.success) or result.get_max_severity_failure() != FailureSeverity.CRITICAL


@dataclass
class ValidationReport:
    """One validation of a batch: findings per submission key, and the runs that decided them
    (one per cycle in the batch; none when there was nothing to validate)."""

    findings: dict[str, list[Finding]]
    runs: list[SuiteRun] = field(default_factory=list)

    @property
    def run(self) -> SuiteRun | None:
        """The batch's one run, when it held one cycle (the usual case)."""
        return self.runs[0] if len(self.runs) == 1 else None


def suite(language: str) -> Any:
    """The suite, each expectation described in ``language`` (what Data Docs show for it) from
    ``data_docs.rules.<rule>`` of the catalogue."""
    import great_expectations as gx

    with SUITE.open(encoding="utf-8") as handle:
        data = json.load(handle)
    expectations = [
        {**e, "description": text(language, f"data_docs.rules.{e['meta']['rule']}")}
        for e in data["expectations"]
    ]
    return gx.ExpectationSuite(name=data["name"], expectations=expectations, meta=data["meta"])


_CHECKPOINTS: dict[str, Any] = {}


def checkpoint(language: str) -> Any:
    """The checkpoint of the suite's validation definition over a whole-dataframe batch, in an
    ephemeral context. Built once per process and language."""
    if language in _CHECKPOINTS:
        return _CHECKPOINTS[language]
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
    )

    # An ephemeral context announces the temporary folder of a docs site Hitos never uses.
    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False)
    )
    context = gx.get_context(project_config=config, mode="ephemeral")
    context.variables.progress_bars = {"globally": False}  # type: ignore[assignment]
    asset = context.data_sources.add_pandas("hitos").add_dataframe_asset("entregas")
    batches = asset.add_batch_definition_whole_dataframe("todas")
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(
            name=SUITE_NAME, data=batches, suite=context.suites.add(suite(language))
        )
    )
    built = context.checkpoints.add(
        gx.Checkpoint(
            name="hitos-intake",
            validation_definitions=[definition],
            result_format={
                "result_format": "COMPLETE",
                "unexpected_index_column_names": [ROW],
                "return_unexpected_index_query": False,
            },
        )
    )
    # Great Expectations' first run in a process imports and registers what its metrics need:
    # 1 to 2 s more than any later run (measured on 100 and 1,920 rows). Paid here, once per
    # process with the context, on one correct row, rather than by the first batch of files.
    built.run(batch_parameters={"dataframe": pd.DataFrame([WARM_UP_ROW])})
    _CHECKPOINTS[language] = built
    return built


WARM_UP_ROW: dict[str, Any] = {
    contract.CODE: "1.1",
    "_en_plan": True,
    "_envio": "warm-up",
    "_presente": True,
    contract.STATE: contract.IN_PROGRESS,
    "_avance_vacio": False,
    contract.PROGRESS: 50.0,
    contract.EVIDENCE: "https://example.org/evidence",
    "descripcion_avance": "warm-up",
    "avance_anterior": 40.0,
    "_como_antes": None,
    "_vencido": False,
    ROW: "warm-up",
}
"""One correct row with every column the suite reads, for the context's first run."""


def run_suite(
    frame: pd.DataFrame,
    language: str = "es",
    site: DocsSite | None = None,
    run_name: str = "",
    cycle: str = "",
) -> SuiteRun:
    """The checkpoint run over a frame (and, with a site, handed to it).

    The suite takes no parameters: a value set as large as the plan (20,000 keys at 1,000
    institutions) was re-serialised by Great Expectations for every metric it planned, most of
    the run's time. Membership in the plan arrives as the ``_en_plan`` column instead.
    """
    from great_expectations.core.run_identifier import RunIdentifier

    run_id = RunIdentifier(run_name=run_name or None, run_time=datetime.now(UTC))
    result = checkpoint(language).run(batch_parameters={"dataframe": frame}, run_id=run_id)
    run = SuiteRun(result, frame, cycle)
    if site is not None:
        try:
            site.filed(run)
        except Exception:
            # Data Docs are for reviewers; findings must not wait on them. Logged, then without.
            logger.exception(
                "keeping the Data Docs of %s failed; validating without them", site.name
            )
    return run


def as_json(run: SuiteRun) -> list[dict[str, Any]]:
    """Every expectation's result of a run as plain JSON (no numpy scalars)."""
    return [item for document in run.documents for item in document["results"]]


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


def validate(
    prepared: list[Prepared],
    plan: Plan,
    language: str = "es",
    sites: Callable[[str], DocsSite] | None = None,
) -> ValidationReport:
    """Findings per submission key, from one checkpoint run per cycle over its submissions.

    ``sites`` gives a cycle's Data Docs site (``tasks.checks.data_docs.site``); without it the
    run keeps no docs (tests, benchmarks of validation alone).
    """
    findings: dict[str, list[Finding]] = {p.key: list(p.findings) for p in prepared}
    if not prepared:
        return ValidationReport(findings)
    cycles: dict[str, list[Prepared]] = {}
    for p in prepared:
        cycles.setdefault(p.cycle, []).append(p)
    runs = []
    for cycle, batch in cycles.items():
        frame = with_helpers(batch, plan, language)
        site = sites(cycle) if sites is not None and cycle else None
        run = run_suite(frame, language, site, run_name([p.key for p in batch]), cycle)
        runs.append(run)
        for key, found in run_findings(run, batch, plan, language).items():
            findings[key].extend(found)
    for key in findings:
        findings[key].sort(key=lambda f: (f.severity != "error", f.row or 10**6, f.column))
    return ValidationReport(findings, runs)


def run_name(keys: list[str]) -> str:
    """``envios-1-4_7``: the submissions of a run, as ranges (the index's Run Name column)."""
    numbers = sorted(int(k) for k in keys if k.isdigit())
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][-1] + 1:
            spans[-1].append(n)
        else:
            spans.append([n])
    parts = [f"{s[0]}-{s[-1]}" if len(s) > 1 else str(s[0]) for s in spans]
    return "envios-" + "_".join(parts + sorted(k for k in keys if not k.isdigit()))[:120]


def run_findings(
    run: SuiteRun, batch: list[Prepared], plan: Plan, language: str
) -> dict[str, list[Finding]]:
    """The run's failing rows as findings, per submission key."""
    frame = run.frame
    position = {name: i for i, name in enumerate(frame[ROW])}
    institutions = {p.key: p.institution for p in batch}
    previous_cycles = {p.key: p.previous_cycle for p in batch}
    ends = {m.code: m.end for m in plan.milestones}
    findings: dict[str, list[Finding]] = {}
    for result in as_json(run):
        if result["success"]:
            continue
        config = result["expectation_config"]
        meta = config["meta"]
        if result.get("exception_info", {}).get("raised_exception"):
            raise RuntimeError(
                f"expectation {meta['rule']} failed to run: {result['exception_info']}"
            )
        severity: Severity = "warning" if config.get("severity") == "warning" else "error"
        ids = [position[u[ROW]] for u in result["result"].get("unexpected_index_list") or []]
        for row in frame.iloc[ids].to_dict("records"):
            key = str(row["_envio"])
            code = row["codigo_hito"]
            milestone = code if isinstance(code, str) else ""  # a blank code is None or NaN
            fila = row["fila"]
            findings.setdefault(key, []).append(
                finding(
                    meta["rule"],
                    severity,
                    milestone=milestone,
                    column=meta["column"],
                    row=None if fila is None or pd.isna(fila) else int(fila),
                    language=language,
                    value=shown_value(row, meta["column"], language),
                    institution=institutions[key],
                    previous=shown_value(row, "avance_anterior"),
                    previous_cycle=previous_cycles[key],
                    end=short_date(ends[milestone], language) if milestone in ends else "",
                )
            )
    return findings
