"""Data Docs pages rendered by Great Expectations' own renderers and views, for reviewers.

A submission's run page, the cycle's index and the suite's page are Great Expectations' pages
(``ValidationResultsPageRenderer``, ``SiteIndexPageRenderer``, ``ExpectationSuitePageRenderer``
and their Jinja views), with what a reviewer needs changed: the run's file, institution and
local time; a run whose only failures are warnings shown as such, not "Failed"; each rule's
finding in words (``shown``); and every page made to open offline (``offline``) in the site's
language (``language``).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from functools import cache
from html import escape as html_escape
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from great_expectations.core.expectation_validation_result import (
    ExpectationSuiteValidationResultSchema,
)
from great_expectations.render.renderer import (
    ExpectationSuitePageRenderer,
    SiteIndexPageRenderer,
    ValidationResultsPageRenderer,
)
from great_expectations.render.renderer.content_block import (
    ValidationResultsTableContentBlockRenderer,
)
from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView

from tasks.catalogues import text
from tasks.checks.data_docs.language import WARNING_ICON, in_language
from tasks.checks.data_docs.offline import offline
from tasks.checks.data_docs.results import SUITE_PAGE, Run
from tasks.checks.data_docs.shown import OBSERVED, for_reviewers, label
from tasks.checks.validation import SUITE_NAME, blocking_passed, suite

MOMENT = "%Y-%m-%d %H:%M"
"""Times in the plan's time zone, as the index's date filter reads them back (``new Date``)."""


def run_page(result: dict[str, Any], run: Run, timezone: str) -> str:
    """A submission's run page: its own result, as reviewers read it, offline."""
    shown = ExpectationSuiteValidationResultSchema().load(for_reviewers(result, run.language))
    document = ReviewerValidationPage(run, timezone).render(shown)
    html = view(DefaultJinjaPageView).render(document, show_how_to_buttons=False)
    return in_language(offline(html, run.page_name.count("/")), run.language)


def index_page(runs: list[Run], site_name: str, language: str, timezone: str) -> str:
    """The cycle's index: one row per submission (its status, time, number, institution,
    file), newest first, and the suite's page."""
    links = {
        "site_name": site_name,
        "validations_links": [
            {
                "expectation_suite_name": SUITE_NAME,
                "filepath": quote(run.page_name),
                "validation_success": run.status == "succeeded",
                "run_time": run.run_time.replace(tzinfo=UTC),
                "run_name": html_escape(
                    text(language, "data_docs.run", submission=run.submission_id)
                ),
                "asset_name": html_escape(run.institution),
                "batch_identifier": html_escape(run.filename),  # a template, not escaped
                "batch_spec": {},
                "expectation_suite_filepath": SUITE_PAGE,
            }
            for run in runs
        ],
        "expectations_links": [{"expectation_suite_name": SUITE_NAME, "filepath": SUITE_PAGE}],
    }
    statuses = {quote(run.page_name): run.status for run in runs}
    document = ReviewerIndexPage(language, timezone, statuses).render(links)
    html = view(DefaultJinjaIndexPageView).render(document, show_how_to_buttons=False)
    return in_language(offline(html, 0), language)


def suite_page(language: str) -> str:
    """The suite's page: every rule, described in ``language``, by column."""
    document = ReviewerSuitePage(language).render(suite(language))
    html = view(DefaultJinjaPageView).render(document, show_how_to_buttons=False)
    return in_language(offline(html, SUITE_PAGE.count("/")), language)


@cache
def view(kind: type[DefaultJinjaPageView]) -> DefaultJinjaPageView:
    """One view of each kind per process: each compiles Great Expectations' templates on first
    use (measured: 0.4 s a page when made anew, 6 ms once compiled)."""
    return kind()


def local_time(moment: datetime, timezone: str) -> str:
    """A UTC moment (naive or aware) in the plan's time zone, to the minute."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(ZoneInfo(timezone)).strftime(MOMENT)


class ReviewerTable(ValidationResultsTableContentBlockRenderer):  # type: ignore[misc]
    """Great Expectations' table of rules, each rule's observed value the sentence ``shown``
    put in its result («No se cumple en 2 de 6 filas») instead of «≈33.33% unexpected»."""

    @classmethod
    def _get_content_block_fn(cls, expectation_type: str, expectation_config: Any = None) -> Any:
        rows: Any = super()._get_content_block_fn(expectation_type, expectation_config)

        def with_sentence(*args: Any, **kwargs: Any) -> Any:
            made = rows(*args, **kwargs)
            result = kwargs.get("result")
            said = (result.meta or {}).get(OBSERVED) if result is not None else None
            if said is not None:
                made[0][2] = said  # status, rule, observed value (the row_generator_fn's order)
            return made

        return with_sentence


class ReviewerValidationPage(ValidationResultsPageRenderer):  # type: ignore[misc]
    """Great Expectations' validation page of one submission's run: its file, institution and
    local time named; a run whose only failed rules are warnings reads "with warnings", not
    "Failed" (the file is accepted)."""

    def __init__(self, run: Run, timezone: str) -> None:
        super().__init__(
            column_section_renderer={
                "class_name": "ValidationResultsColumnSectionRenderer",
                "table_renderer": {"module_name": __name__, "class_name": "ReviewerTable"},
            }
        )
        self.run = run
        self.language = run.language
        self.moment = local_time(run.run_time, timezone)
        self.name = text(run.language, "data_docs.run", submission=run.submission_id)

    def render(self, validation_results: Any, suite_parameters: Any = None) -> Any:
        document = super().render(validation_results, suite_parameters)
        document.page_title = f"Validations / {html_escape(self.name)} / {self.moment}"
        overview = document.sections[0].content_blocks[0]  # _render_validation_header's
        params = overview.subheader.string_template["params"]
        params["data_asset"] = text(self.language, "data_docs.page.file")
        params["data_asset_name"] = text(  # Great Expectations escapes parameters' values
            self.language,
            "data_docs.file",
            filename=self.run.filename,
            institution=self.run.institution,
            submission=self.run.submission_id,
        )
        if validation_results.success:
            params["success"] = text(self.language, "data_docs.page.succeeded")
        elif blocking_passed(validation_results):
            params["success"] = text(self.language, "data_docs.with_warnings")
            params["html_success_icon"] = WARNING_ICON
        else:
            params["success"] = text(self.language, "data_docs.page.failed")
        return document

    def _render_validation_info(self, validation_results: Any) -> Any:  # type: ignore[override]
        """Great Expectations' Info table with the run's name and its time where the plan is
        (an instance's method, not the class's: the page knows its run)."""
        table = super()._render_validation_info(validation_results=validation_results)
        table.table[1][1] = html_escape(self.name)
        table.table[2][1] = self.moment
        return table


class ReviewerSuitePage(ExpectationSuitePageRenderer):  # type: ignore[misc]
    """Great Expectations' suite page, with columns named by their contract labels."""

    def __init__(self, language: str = "es", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.language = language

    def render(self, expectations: Any) -> Any:
        shown = copy.deepcopy(expectations)
        for expectation in shown.expectations:
            if hasattr(expectation, "column"):
                expectation.column = label(expectation.meta["column"], self.language)
        return super().render(shown)


class ReviewerIndexPage(SiteIndexPageRenderer):  # type: ignore[misc]
    """Great Expectations' site index: each run's status by its own words and sign (a run whose
    only failed rules are warnings shows the warning sign and "with warnings"), its time where
    the plan is."""

    def __init__(self, language: str, timezone: str, statuses: dict[str, str]) -> None:
        super().__init__()
        self.language = language
        self.timezone = timezone
        self.statuses = statuses
        """Page link (as the index links it) → ``succeeded``, ``warnings`` or ``failed``."""

    def render(self, index_links_dict: Any) -> Any:  # type: ignore[override]
        document = SiteIndexPageRenderer.render(index_links_dict)
        for table in _tables(document):
            for row in table.table_data or []:
                status = self.statuses.get(str(row.get("_table_row_link_path") or ""))
                if status is None:
                    continue
                shown = "with_warnings" if status == "warnings" else f"page.{status}"
                row["_validation_success_text"] = text(self.language, f"data_docs.{shown}")
                row["run_time"] = local_time(
                    datetime.fromtimestamp(row["_run_time_sort"], UTC), self.timezone
                )
                if status == "warnings":
                    row["validation_success"].string_template["styling"]["params"][
                        "validation_success"
                    ]["classes"] = ["fas", "fa-exclamation-triangle", "text-warning"]
        return document


def _tables(node: Any) -> list[Any]:
    """Every table with rows in a rendered document (the index's run table among them)."""
    if hasattr(node, "table_data"):
        return [node]
    found: list[Any] = []
    children: list[Any] = []
    for name in ("sections", "content_blocks", "tabs", "tab_content"):
        value = getattr(node, name, None) if not isinstance(node, dict) else node.get(name)
        if isinstance(value, list):
            children.extend(value)
        elif value is not None and not isinstance(value, str):
            children.append(value)
    for child in children:
        found.extend(_tables(child))
    return found
