"""A finding: one problem in a received file, as data with a stable rule code.

Made by the reader and the rules (``tasks.core.findings.finding`` renders its message from the
catalogue), kept in the ledger, and shown by the same partial templates in the reply email, the
marked workbook, the console and the CLI.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache
from typing import Any, Literal

import yaml
from jinja2 import Template

from tasks.catalogues import TEMPLATES, formatting_environment, messages

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One problem: which milestone (row) and column, which rule, how serious, what to do."""

    milestone: str
    column: str
    rule: str
    severity: Severity
    message: str
    row: int | None = None
    """The row of the file it was read from (1-based, as a spreadsheet numbers rows)."""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("row")
        return data


def has_errors(findings: list[Finding]) -> bool:
    """Errors reject a file; warnings are shown to reviewers."""
    return any(f.severity == "error" for f in findings)


GROUP_KEY = "email.reply.groups."
"""Catalogue prefix of what a kind of warning means, said once for all its milestones. A kind
without a key there keeps each finding's own message: an unreachable evidence link is one, since
each names its address and what the site answered, which differ link by link."""


@dataclass(frozen=True)
class WarningGroup:
    """One kind of warning in a file: its rule, the milestones it names, its findings; with
    ``explained``, the catalogue says once what it means (``email.reply.groups.<rule>``) and
    the milestones are listed, else each finding is shown with its own message."""

    rule: str
    milestones: list[str]
    findings: list[Finding]
    explained: bool


def warning_groups(findings: list[Finding], language: str) -> list[WarningGroup]:
    """A file's warnings by rule, in the order they first appear: 27 overdue milestones are
    one line that says what to do and lists them, not 27 sentences everyone receives."""
    by_rule: dict[str, list[Finding]] = {}
    for item in findings:
        if item.severity == "warning":
            by_rule.setdefault(item.rule, []).append(item)
    known = messages(language)
    return [
        WarningGroup(
            rule,
            [f.milestone for f in items if f.milestone],
            items,
            f"{GROUP_KEY}{rule}" in known and all(f.milestone for f in items),
        )
        for rule, items in by_rule.items()
    ]


@cache
def catalogue(language: str) -> dict[str, str]:
    """Rule code → message template, from ``templates/findings.<language>.yaml``."""
    path = TEMPLATES / f"findings.{language}.yaml"
    with path.open(encoding="utf-8") as handle:
        # libyaml's loader when present: the same types, a tenth of PyYAML's own time.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        messages: dict[str, str] = yaml.load(handle, Loader=loader)
    return messages


@cache
def template(language: str, rule: str) -> Template:
    """The rule's message compiled once: compiling per finding dominated validating big batches."""
    return formatting_environment(language).from_string(catalogue(language)[rule])


def finding(
    rule: str,
    severity: Severity = "error",
    *,
    milestone: str = "",
    column: str = "",
    row: int | None = None,
    language: str = "es",
    **values: Any,
) -> Finding:
    """A finding whose message comes from the catalogue entry of its rule."""
    # The row too: milestone-code-missing can name nothing else (it was «'row' is undefined»).
    context = {"milestone": milestone, "column": column, "row": row, **values}
    message = template(language, rule).render(**context).strip()
    return Finding(milestone, column, rule, severity, message, row)
