"""Findings: problems in a submission as data, with stable rule codes and a message in the
liaison's language (``templates/findings.<language>.yaml``)."""

from __future__ import annotations

from functools import cache
from typing import Any

import yaml
from jinja2 import Template

from tasks.catalogues import TEMPLATES, formatting_environment
from tasks.core.findings import Finding, Severity


@cache
def catalogue(language: str) -> dict[str, str]:
    """Rule code → message template, from ``templates/findings.<language>.yaml``."""
    path = TEMPLATES / f"findings.{language}.yaml"
    with path.open(encoding="utf-8") as handle:
        messages: dict[str, str] = yaml.safe_load(handle)
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
