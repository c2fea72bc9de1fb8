"""Each submission's part of a suite run, kept in the shared store as a result of its own.

Intake validates a batch of files in one Great Expectations run (``tasks.checks.validation``);
reviewers open one file at a time. The run's result is cut here into one result per submission
(its own rows' failures, its own counts) in Great Expectations' JSON, which its renderers read
back, and kept in the file store with a ``ValidationRun`` row per submission, in one
transaction. Pages are not rendered here: at about 20 ms a page that would be most of intake's
time, so ``tasks.checks.data_docs.store`` renders a page the first time someone asks for it.
"""

from __future__ import annotations

import gc
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, insert

from tasks.catalogues import text
from tasks.checks.validation import ROW, SUITE_NAME, DocsSite, SuiteRun
from tasks.core.cycles import cycle_label
from tasks.settings import Settings
from tasks.storage import filestore
from tasks.storage.ledger import ValidationRun, session

SUITE_PAGE = f"expectations/{SUITE_NAME}.html"
"""The suite's page in a site, where Great Expectations puts it."""
NULLS_LOOKED_AT = ("expect_column_values_to_not_be_null", "expect_column_values_to_be_null")
"""Rules about blanks themselves: Great Expectations skips no row of theirs as missing."""
PARTIAL = 20
"""How many unexpected values Great Expectations lists as a sample (its ``partial_*`` lists)."""


def site(settings: Settings, cycle_id: str, language: str = "es", plan_id: str = "") -> DocsSite:
    """The plan's cycle's Data Docs site, as intake's validation hands it each run (the
    settings' plan unless ``plan_id`` says: two plans' 2023-08 are two sites)."""
    plan_id = plan_id or settings.plan_id
    return DocsSite(
        name=text(language, "data_docs.site", cycle=cycle_label(plan_id, cycle_id)),
        filed=partial(keep, settings, plan_id, cycle_id, language),
    )


@dataclass(frozen=True)
class Run:
    """A submission's validation as its Data Docs show it."""

    submission_id: int
    plan_id: str
    cycle_id: str
    institution: str
    filename: str
    run_time: datetime
    """UTC."""
    status: str
    language: str
    result: str = ""
    """The file-store key of its result."""
    page: str | None = None
    """The file-store key of its page, once made."""

    @property
    def page_name(self) -> str:
        """Its page in the site, where Great Expectations puts a run's page (four folders
        down: its templates link the rest of the site from there)."""
        moment = f"{self.run_time:%Y%m%dT%H%M%S.%f}Z"
        run = run_name(self.submission_id)
        return f"validations/{SUITE_NAME}/{run}/{moment}/{run}.html"


def run_name(submission_id: int) -> str:
    """``envio-12``: a submission's run, as its page's folder names it."""
    return f"envio-{submission_id}"


def keep(settings: Settings, plan_id: str, cycle_id: str, language: str, run: SuiteRun) -> None:
    """Each submission's part of a run in the file store, and its ``ValidationRun`` row
    (replacing the row of an earlier validation of the same file)."""
    gc.disable()  # split makes ~20 small dicts per file, no cycles; collections tripled its time
    try:
        parts = {int(key): part for key, part in split(run, language).items() if key.isdigit()}
    finally:
        gc.enable()
    if not parts:
        return
    moment = datetime.fromisoformat(run.documents[0]["meta"]["run_id"]["run_time"])
    moment = moment.astimezone(UTC).replace(tzinfo=None)
    files = [json.dumps(part, ensure_ascii=False).encode() for part in parts.values()]
    with session(settings.database) as db:
        keys = filestore.put_many(db, files)
        db.execute(delete(ValidationRun).where(ValidationRun.submission_id.in_(parts)))
        db.execute(
            insert(ValidationRun),
            [
                {
                    "submission_id": submission_id,
                    "plan_id": plan_id,
                    "cycle_id": cycle_id,
                    "run_time": moment,
                    "status": status_of(part),
                    "language": language,
                    "result": key,
                    "page": None,
                }
                for (submission_id, part), key in zip(parts.items(), keys, strict=True)
            ],
        )


def status_of(result: dict[str, Any]) -> str:
    """``succeeded``; ``warnings`` when only warning rules failed (the file is accepted);
    ``failed`` when a critical rule failed."""
    failed = [r for r in result["results"] if not r["success"]]
    if not failed:
        return "succeeded"
    if all(r["expectation_config"].get("severity") == "warning" for r in failed):
        return "warnings"
    return "failed"


def split(run: SuiteRun, language: str = "es") -> dict[str, dict[str, Any]]:
    """The run's result as one result per submission key: each rule's failures among that
    submission's rows only, and its counts over those rows (the rows the rule's condition
    selects, as Great Expectations counts them)."""
    [document] = run.documents
    frame = run.frame
    envios = frame["_envio"].astype(str).tolist()
    codes, keys = pd.factorize(np.array(envios, dtype=object))
    size = len(keys)
    position = {str(key): index for index, key in enumerate(keys)}
    owner = dict(zip(frame[ROW].tolist(), envios, strict=True))
    names = names_in_file(frame, language)
    parts: list[list[dict[str, Any]]] = [[] for _ in range(size)]
    for result in document["results"]:
        config = result["expectation_config"]
        counted, missing = _counted(frame, config["kwargs"], config["type"])
        elements = np.bincount(codes[counted], minlength=size)
        absent = np.bincount(codes[counted & missing], minlength=size)
        found = result["result"]
        failures: list[list[tuple[dict[str, Any], Any]]] = [[] for _ in range(size)]
        # Each failing row with its values (Great Expectations' ``unexpected_list`` stops at
        # 200; its index list, which findings are made from, holds every row and its values).
        for item in found.get("unexpected_index_list") or []:
            values = {key: value for key, value in item.items() if key != ROW}
            value = next(iter(values.values())) if len(values) == 1 else values
            failures[position[owner[item[ROW]]]].append(({**item, ROW: names[item[ROW]]}, value))
        for index in range(size):
            parts[index].append(
                _part(result, int(elements[index]), int(absent[index]), failures[index])
            )
    return {
        str(key): _document(document, str(key), part) for key, part in zip(keys, parts, strict=True)
    }


def names_in_file(frame: pd.DataFrame, language: str) -> dict[str, str]:
    """Each row's name in the batch → its name within its own file: ``4.1 (fila 5)`` (the
    run page is the file's alone, so its number and institution go without saying)."""
    label = text(language, "data_docs.row_in_file", milestone="{milestone}", where="{where}")
    at = text(language, "data_docs.row_where", row="{row}")
    absent, no_code = (text(language, f"data_docs.{k}") for k in ("row_absent", "no_code"))
    return {
        name: label.format(
            milestone=code if isinstance(code, str) else no_code,
            where=absent if pd.isna(row) else at.format(row=int(row)),
        )
        for name, code, row in zip(
            frame[ROW].tolist(), frame["codigo_hito"].tolist(), frame["fila"].tolist(), strict=True
        )
    }


def _counted(frame: pd.DataFrame, kwargs: dict[str, Any], kind: str) -> tuple[Any, Any]:
    """The rows a rule counts (its condition's), and among them those it skips as missing."""
    counted = np.ones(len(frame), dtype=bool)
    condition = kwargs.get("row_condition")
    if isinstance(condition, dict):  # as Great Expectations stores a pandas condition
        condition = condition.get("pass_through_filter")
    if condition:
        counted = frame.index.isin(frame.query(condition).index)  # as Great Expectations does
    columns = kwargs.get("column_list") or [
        kwargs[c] for c in ("column", "column_A", "column_B") if c in kwargs
    ]
    nulls = frame[columns].isna().to_numpy()
    if kind in NULLS_LOOKED_AT or kwargs.get("ignore_row_if") == "never":
        missing = np.zeros(len(frame), dtype=bool)  # a blank is what it looks at
    elif kwargs.get("ignore_row_if") in ("both_values_are_missing", "all_values_are_missing"):
        missing = nulls.all(axis=1)
    else:
        missing = nulls.any(axis=1)
    return counted, missing


def _part(
    result: dict[str, Any], elements: int, missing: int, failures: list[tuple[dict[str, Any], Any]]
) -> dict[str, Any]:
    """One rule's result over one submission's rows."""
    found = dict(result["result"])
    unexpected = len(failures)
    judged = elements - missing if "missing_count" in found else elements
    share = 100 * unexpected / judged if judged else None
    found.update(element_count=elements, unexpected_count=unexpected, unexpected_percent=share)
    if "missing_count" in found:
        found.update(
            missing_count=missing,
            missing_percent=100 * missing / elements if elements else None,
            unexpected_percent_total=100 * unexpected / elements if elements else None,
            unexpected_percent_nonmissing=share,
        )
    if "unexpected_index_list" in found:
        listed = [value for _, value in failures]
        found.update(
            unexpected_index_list=[item for item, _ in failures],
            unexpected_list=listed,
            partial_unexpected_list=listed[:PARTIAL],
            partial_unexpected_index_list=[item for item, _ in failures][:PARTIAL],
            partial_unexpected_counts=counts(listed)[:PARTIAL],
        )
    return {**result, "result": found, "success": unexpected == 0}


def counts(values: list[Any]) -> list[dict[str, Any]]:
    """Each distinct value with how many times it came, most frequent first (values may be
    lists or dicts: a rule over several columns)."""
    seen: list[dict[str, Any]] = []
    for value in values:
        same = next((c for c in seen if c["value"] == value), None)
        if same is None:
            seen.append({"value": value, "count": 1})
        else:
            same["count"] += 1
    return sorted(seen, key=lambda c: -c["count"])


def _document(batch: dict[str, Any], key: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    """A suite result over one submission, from the batch's and that submission's rules."""
    met = sum(r["success"] for r in results)
    run_id = {**batch["meta"]["run_id"], "run_name": run_name(int(key)) if key.isdigit() else key}
    return {
        **batch,
        "meta": {**batch["meta"], "run_id": run_id},
        "results": results,
        "success": met == len(results),
        "statistics": {
            "evaluated_expectations": len(results),
            "successful_expectations": met,
            "unsuccessful_expectations": len(results) - met,
            "success_percent": 100 * met / len(results) if results else None,
        },
    }
