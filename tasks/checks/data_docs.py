"""Great Expectations Data Docs for reviewers: one site per plan's cycle, that opens offline.

Intake's checkpoint (``tasks.checks.validation.checkpoint``) writes them: its validation results
are kept in the cycle's results store and its ``UpdateDataDocsAction`` builds the site
configured here, ``<home>/data-docs/<plan>/<cycle>/``, with Great Expectations' own site
builder. The site names its renderers (``ReviewerValidationPage``, ``ReviewerSuitePage``,
``ReviewerIndexPage``): the same pages, with columns named by their contract labels, the values
institutions typed made inert, and a run whose only failures are warnings shown as such rather
than "Failed". Then the ``OfflineDocs`` action points the CDN links of the pages it wrote at the
copies in ``vendor/data-docs`` (copied into the site's ``static/``) and drops links to Great
Expectations' website: Great Expectations 1.24.1 pages load bootstrap, jQuery, Font Awesome and
vega from CDNs. Each submission gets ``envios/<id>.html`` in its cycle's site, pointing at its
run's pages (``run_page``).
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from html import escape as html_escape
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote

from great_expectations.checkpoint.actions import ActionContext, ValidationAction
from great_expectations.render.renderer import (
    ExpectationSuitePageRenderer,
    SiteIndexPageRenderer,
    ValidationResultsPageRenderer,
)

from tasks.catalogues import text
from tasks.checks.validation import ROW, DocsSite, SuiteRun, blocking_passed
from tasks.settings import Settings
from tasks.storage.ledger import cycle_label
from tasks.workbooks import contract

ASSETS = Path(__file__).resolve().parents[2] / "vendor" / "data-docs"

_S3 = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"
_UNPKG = "https://unpkg.com/bootstrap-table@"
_CDNJS = "https://cdnjs.cloudflare.com/ajax/libs/"
_FILTER = "/dist/extensions/filter-control/bootstrap-table-filter-control"
_TABLE = "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min"

#: Every CDN file the 1.24.1 templates load, and its vendored copy under ``static/``.
LOCAL: dict[str, list[str]] = {
    "https://code.jquery.com/jquery-3.7.1.min.js": ["jquery/jquery.min.js"],
    _CDNJS + "popper.js/1.12.9/umd/popper.min.js": ["popper.js/popper.min.js"],
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": [
        "bootstrap/js/bootstrap.min.js"
    ],
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": [
        "bootstrap/css/bootstrap.min.css"
    ],
    _UNPKG + "1.19.1/dist/bootstrap-table.min.js": ["bootstrap-table/bootstrap-table.min.js"],
    _UNPKG + "1.19.1/dist/bootstrap-table.min.css": ["bootstrap-table/bootstrap-table.min.css"],
    _UNPKG + "1.19.1" + _FILTER + ".min.js": [_TABLE + ".js"],
    _UNPKG + "1.19.0" + _FILTER + ".css": [_TABLE + ".css"],
    _UNPKG + "1.19.0" + _FILTER + ".min.css": [_TABLE + ".css"],
    _CDNJS + "bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": [
        "bootstrap-datepicker/js/bootstrap-datepicker.min.js"
    ],
    _CDNJS + "bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": [
        "bootstrap-datepicker/css/bootstrap-datepicker.min.css"
    ],
    _CDNJS + "font-awesome/6.6.0/css/all.min.css": [
        "fontawesome/css/fontawesome.min.css",
        "fontawesome/css/solid.min.css",
    ],
}
#: Loaded by the templates but not needed by these pages: charts (vega) and a dark theme.
DROPPED = {
    "https://cdn.jsdelivr.net/npm/vega@5",
    "https://cdn.jsdelivr.net/npm/vega-lite@5",
    "https://cdn.jsdelivr.net/npm/vega-embed@6",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css",
}
#: Great Expectations' own images (shipped in its package) that its pages take from S3.
IMAGES = {"logo-long.png": "logo-long.png", "full_logo_dark.png": "logo-long.png"}

_SCRIPT = re.compile(r"<script\b[^>]*\bsrc=\"(https?://[^\"]+)\"[^>]*>\s*</script>", re.I)
_LINK = re.compile(r"<link\b[^>]*\bhref=\"(https?://[^\"]+)\"[^>]*>", re.I)
_IMAGE = re.compile(re.escape(_S3) + r"([\w.-]+)(?:\?[^\"')\s]*)?")
_STATIC = re.compile(r"((?:src|href)=\")(?:\./|(?:\.\./)+)?static/")
_FOOTER = re.compile(r"<footer>.*?</footer>", re.S)
_ANCHOR = re.compile(r"<a\b[^>]*\bhref=\"https?://[^\"]*\"[^>]*>(.*?)</a>", re.S | re.I)
_LOADS = re.compile(
    r"(?:\b(?:src|href|srcset)\s*=\s*[\"']?|url\(\s*[\"']?|@import\s+[\"']?)(https?://[^\"')\s>]+)",
    re.I,
)


def site_folder(settings: Settings, cycle_id: str, plan_id: str = "") -> Path:
    """The plan's cycle's Data Docs site (the settings' plan unless ``plan_id`` says): open
    ``index.html`` in a browser, no network needed. Two plans' 2023-08 are two sites."""
    return settings.folder("data-docs", plan_id or settings.plan_id, cycle_id)


def results_folder(settings: Settings, cycle_id: str, plan_id: str = "") -> Path:
    """The cycle's validation results store, as Great Expectations files it (JSON per run)."""
    return settings.folder("data-docs", plan_id or settings.plan_id, cycle_id, "results")


def site(settings: Settings, cycle_id: str, language: str, plan_id: str = "") -> DocsSite:
    """The cycle's site as the checkpoint's context configures it, and its results store."""
    plan_id = plan_id or settings.plan_id
    folder = site_folder(settings, cycle_id, plan_id)
    results = results_folder(settings, cycle_id, plan_id)
    renderer = {"module_name": __name__, "language": language}
    config = {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(folder),
        },
        "site_index_builder": {
            "class_name": "DefaultSiteIndexBuilder",
            "renderer": {**renderer, "class_name": "ReviewerIndexPage", "results": str(results)},
        },
        "site_section_builders": {
            "expectations": {"renderer": {**renderer, "class_name": "ReviewerSuitePage"}},
            "validations": {"renderer": {**renderer, "class_name": "ReviewerValidationPage"}},
            "profiling": "None",
        },
    }
    return DocsSite(
        name=text(language, "data_docs.site", cycle=cycle_label(plan_id, cycle_id)),
        config=config,
        results=results,
        after=(OfflineDocs(name="offline", site=str(folder)),),
        filed=lambda run: point_submissions(folder, run),
    )


def page_of(key: Any) -> Path:
    """A validation result's page, relative to the site root (Great Expectations' layout)."""
    suite, run_name, run_time, batch = key.to_tuple()
    return Path("validations", suite, run_name, run_time, f"{batch}.html")


def point_submissions(folder: Path, run: SuiteRun) -> None:
    """``envios/<id>.html`` for each submission of the run: a link to (and a redirect to) its
    run's page."""
    [target] = [page_of(key).as_posix() for key in run.result.run_results]
    link = f'<a href="../{target}" data-run="{target}">{html_escape(run.cycle)}</a>'
    page = (
        f'<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0; '
        f'url=../{target}"><title>{html_escape(run.cycle)}</title>{link}'
    )
    pointers = folder / "envios"
    pointers.mkdir(parents=True, exist_ok=True)
    for key in sorted({str(k) for k in run.frame["_envio"].dropna()}):
        (pointers / f"{key}.html").write_text(page, encoding="utf-8")


def run_page(settings: Settings, submission_id: int) -> Path | None:
    """The Data Docs page of the run that validated a submission, in the workspace (the
    cycle's site); None when no run with docs validated it."""
    found = sorted(settings.folder("data-docs").glob(f"*/*/envios/{submission_id}.html"))
    return _pointed(found[-1]) if found else None


def run_pages(settings: Settings, cycle_id: str, plan_id: str = "") -> dict[int, Path]:
    """Submission id → the page of the run that validated it, for every file of the cycle's
    site (the console serves them by id)."""
    pages: dict[int, Path] = {}
    for pointer in (site_folder(settings, cycle_id, plan_id) / "envios").glob("*.html"):
        if pointer.stem.isdigit() and (page := _pointed(pointer)) is not None:
            pages[int(pointer.stem)] = page
    return pages


def _pointed(pointer: Path) -> Path | None:
    match = re.search(r'data-run="([^"]+)"', pointer.read_text(encoding="utf-8"))
    return pointer.parent.parent / match.group(1) if match else None


def label(column: str, language: str) -> str:
    """A contract column as reviewers know it (``avance_pct`` → «Avance %»)."""
    return contract.BY_KEY[column].label(language) if column in contract.BY_KEY else column


class ReviewerValidationPage(ValidationResultsPageRenderer):  # type: ignore[misc]
    """Great Expectations' validation page, for reviewers: see ``for_reviewers``; a run whose
    only failed rules are warnings reads "with warnings", not "Failed" (the file is accepted)."""

    def __init__(self, language: str = "es", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.language = language

    def render(self, validation_results: Any, suite_parameters: Any = None) -> Any:
        shown = for_reviewers(validation_results, self.language)
        document = super().render(shown, suite_parameters)
        if not validation_results.success and blocking_passed(validation_results):
            overview = document.sections[0].content_blocks[0]  # _render_validation_header's
            params = overview.subheader.string_template["params"]
            params["success"] = text(self.language, "data_docs.with_warnings")
            params["html_success_icon"] = WARNING_ICON
        return document


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
    """Great Expectations' site index; a run whose only failed rules are warnings shows a
    warning sign and "with warnings" instead of "Failed".

    The index is given each run's success alone, so the run's stored result (in ``results``,
    the site's validation results store) says whether a critical rule failed.
    """

    def __init__(self, language: str = "es", results: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.language = language
        self.results = Path(results)

    def render(self, index_links_dict: Any) -> Any:  # type: ignore[override]
        document = SiteIndexPageRenderer.render(index_links_dict)
        for table in _tables(document):
            for row in table.table_data or []:
                page = unquote(str(row.get("_table_row_link_path") or ""))
                failed = row.get("_validation_success_text") == "Failed"
                if failed and page and not self.critical_failed(page):
                    row["_validation_success_text"] = text(self.language, "data_docs.with_warnings")
                    row["validation_success"].string_template["styling"]["params"][
                        "validation_success"
                    ]["classes"] = ["fas", "fa-exclamation-triangle", "text-warning"]
        return document

    def critical_failed(self, page: str) -> bool:
        """Whether the run filed at ``page`` (``validations/…/<batch>.html``) failed a critical
        rule, from its stored result."""
        stored = self.results / Path(page).relative_to("validations").with_suffix(".json")
        results = json.loads(stored.read_text(encoding="utf-8"))["results"]
        return any(
            not r["success"] and r["expectation_config"].get("severity") != "warning"
            for r in results
        )


WARNING_ICON = '<i class="fas fa-exclamation-triangle text-warning" aria-hidden="true"></i>'


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


def for_reviewers(result: Any, language: str) -> Any:
    """A copy of a validation result as reviewers read it: each column by its contract label
    (a helper column by the contract column its rule points at), each row by its name
    (``envío 3 · MINEDUC 4.1 (fila 5)``), and the values institutions typed HTML-escaped.

    Great Expectations writes unexpected values into its pages as raw HTML: a ``<script>`` an
    institution typed in ``estado`` would run in the reviewer's browser. The stored result keeps
    the values as typed; only what goes into the page is escaped, once.
    """
    shown = copy.deepcopy(result)
    row = text(language, "data_docs.row")

    def _state(value: Any) -> Any:
        known = isinstance(value, str) and value in contract.BY_STATE
        return contract.state_label(value, language) if known else value

    for expectation in shown.results:
        config = expectation.expectation_config
        if config is not None and "column" in config.kwargs:
            config.kwargs["column"] = label(config.meta.get("column", ""), language)
        found = expectation.result or {}
        if ROW in (found.get("unexpected_index_column_names") or []):
            # Each failing row: its name, and its value under the column's label (as GE looks
            # it up once the column is relabelled).
            names = {ROW: row} | {key: label(key, language) for key in contract.KEYS}
            found["unexpected_index_column_names"] = [row]
            found["unexpected_index_list"] = [
                {names.get(key, key): _state(value) for key, value in item.items()}
                for item in found.get("unexpected_index_list") or []
            ]
        if config is not None and config.kwargs.get("column") == label(contract.STATE, language):
            # States are stored as codes (``started``); reviewers know them by their labels.
            for name in ("partial_unexpected_list", "unexpected_list"):
                if name in found:
                    found[name] = [_state(value) for value in found[name]]
            for count in found.get("partial_unexpected_counts") or []:
                count["value"] = _state(count.get("value"))
        if expectation.result:
            expectation.result = _escaped(found)
    return shown


def _escaped(value: Any) -> Any:
    if isinstance(value, str):
        return html_escape(value)
    if isinstance(value, dict):
        return {key: _escaped(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_escaped(item) for item in value]
    return value


class OfflineDocs(ValidationAction):  # type: ignore[misc]
    """After ``UpdateDataDocsAction``: the pages it wrote made to open offline (``offline``)."""

    type: Literal["hitos_offline_docs"] = "hitos_offline_docs"
    site: str

    def run(self, checkpoint_result: Any, action_context: ActionContext | None = None) -> dict:
        folder = Path(self.site)
        write_static(folder)
        pages = [folder / "index.html", *(folder / "expectations").glob("*.html")]
        pages += [folder / page_of(key) for key in checkpoint_result.run_results]
        for page in pages:
            depth = len(page.relative_to(folder).parts) - 1
            page.write_text(offline(page.read_text(encoding="utf-8"), depth), encoding="utf-8")
        return {}


def write_static(folder: Path) -> None:
    """The vendored assets and Great Expectations' images in the site's ``static/``; its
    stylesheets (copied again by every build) pointed at those images instead of S3."""
    import great_expectations

    for sheet in (folder / "static" / "styles").glob("*.css"):
        css = sheet.read_text(encoding="utf-8")
        local = _IMAGE.sub(lambda m: f"../images/{IMAGES.get(m.group(1), m.group(1))}", css)
        if local != css:
            sheet.write_text(local, encoding="utf-8")
    if (folder / "static" / "jquery").exists():
        return
    shutil.copytree(ASSETS, folder / "static", dirs_exist_ok=True)
    images = Path(great_expectations.__file__).parent / "render" / "view" / "static" / "images"
    (folder / "static" / "images").mkdir(parents=True, exist_ok=True)
    for name in sorted(set(IMAGES.values()) | {"favicon.ico"}):
        shutil.copyfile(images / name, folder / "static" / "images" / name)


def offline(html: str, depth: int) -> str:
    """The page with every CDN or S3 link pointed at ``static/`` and web links made plain text.

    ``depth`` is how many folders below the site root the page lies. Raises when the page would
    still load something from the network, so a Great Expectations upgrade that adds an asset
    fails here instead of shipping pages that break offline.
    """
    static = "../" * depth + "static/"

    def script(match: re.Match[str]) -> str:
        url = match.group(1)
        if url in DROPPED or url not in LOCAL:
            return "" if url in DROPPED else match.group(0)
        return "".join(f'<script src="{static}{path}"></script>' for path in LOCAL[url])

    def link(match: re.Match[str]) -> str:
        url = match.group(1)
        if url in DROPPED or url not in LOCAL:
            return "" if url in DROPPED else match.group(0)
        return "".join(f'<link rel="stylesheet" href="{static}{path}">' for path in LOCAL[url])

    def image(match: re.Match[str]) -> str:
        return f"{static}images/{IMAGES.get(match.group(1), match.group(1))}"

    if "vegaEmbed(" in html:
        raise RuntimeError(
            "a Data Docs page draws a chart: vendor vega, vega-lite and vega-embed in "
            "vendor/data-docs and map them in tasks/checks/data_docs.py before adding such an "
            "expectation"
        )
    html = _SCRIPT.sub(script, html)
    html = _LINK.sub(link, html)
    html = _IMAGE.sub(image, html)
    html = _STATIC.sub(lambda m: m.group(1) + static, html)
    html = _FOOTER.sub("", html)
    html = _ANCHOR.sub(lambda m: m.group(1), html)
    remote = _LOADS.search(html)
    if remote:
        raise RuntimeError(
            f"a Data Docs page still loads {remote.group(1)}: vendor it in vendor/data-docs "
            "and map it in tasks/checks/data_docs.py (LOCAL), or drop it (DROPPED)"
        )
    return html
