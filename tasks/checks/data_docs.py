"""Great Expectations Data Docs for reviewers: one site per cycle, that opens offline.

Each intake run's suite run (the very result the findings came from, not a second validation)
becomes a validation page of ``<home>/data-docs/<cycle>/``, beside the suite's page and an index
of every run of the cycle: the layout Great Expectations' own site builder uses. Great
Expectations 1.24.1 renders pages that load bootstrap, jQuery, Font Awesome and vega from CDNs
and a tracking logo from S3; here those links point at the copies in ``vendor/data-docs``
(copied into the site's ``static/``) and links to Great Expectations' website are dropped.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape as html_escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from tasks.checks.validation import SUITE, SuiteRun
from tasks.settings import Settings

if TYPE_CHECKING:
    from tasks.cycle.intake import Outcome

ASSETS = Path(__file__).resolve().parents[2] / "vendor" / "data-docs"
SUITE_NAME = json.loads(SUITE.read_text(encoding="utf-8"))["name"]
ASSET_NAME = "entregas"
ROW_COLUMN = "hito"

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


@dataclass
class RunPage:
    """Where one suite run is filed in a cycle's site, and what its index row shows."""

    run_name: str
    run_time: datetime
    batch_identifier: str

    @property
    def path(self) -> Path:
        """The page, relative to the site root (Great Expectations' own layout)."""
        stamp = self.run_time.strftime("%Y%m%dT%H%M%S.%fZ")
        return Path(
            "validations", SUITE_NAME, self.run_name, stamp, f"{self.batch_identifier}.html"
        )


def site_folder(settings: Settings, cycle_id: str) -> Path:
    """The cycle's Data Docs site: open ``index.html`` in a browser, no network needed."""
    return settings.folder("data-docs", cycle_id)


def build(settings: Settings, runs: Iterable[SuiteRun], outcomes: list[Outcome]) -> list[Path]:
    """File each suite run under the cycles of its submissions; the index page of each cycle."""
    by_key = {str(o.submission_id): o for o in outcomes}
    touched: dict[str, Path] = {}
    for run in runs:
        keys = sorted({str(k) for k in run.frame["_envio"].dropna()}, key=_number)
        cycles = sorted({c for k in keys if k in by_key and (c := by_key[k].cycle)})
        if not cycles:
            continue
        result, page = for_reviewers(run, keys)
        html = offline(validation_html(inert(result)), depth=len(page.path.parent.parts))
        data = json.dumps(result.to_json_dict(), default=str, ensure_ascii=False, indent=1)
        for cycle_id in cycles:
            site = site_folder(settings, cycle_id)
            target = site / page.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(html, encoding="utf-8")
            target.with_suffix(".json").write_text(data, encoding="utf-8")
            touched[cycle_id] = site
    return [write_site(site, cycle_id) for cycle_id, site in sorted(touched.items())]


def _number(key: str) -> tuple[int, str]:
    return (int(key), "") if key.isdigit() else (10**12, key)


def run_name(keys: list[str]) -> str:
    """``envios-1-4_7``: the submissions of a run, as ranges, for the index's Run Name column."""
    numbers = [int(k) for k in keys if k.isdigit()]
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][-1] + 1:
            spans[-1].append(n)
        else:
            spans.append([n])
    parts = [f"{s[0]}-{s[-1]}" if len(s) > 1 else str(s[0]) for s in spans]
    return "envios-" + "_".join(parts + [k for k in keys if not k.isdigit()])[:120]


def for_reviewers(run: SuiteRun, keys: list[str]) -> tuple[Any, RunPage]:
    """A copy of the run's result that names its run and shows milestones instead of row ids.

    The suite identifies failing rows by ``_id``, a position in the stacked frame; reviewers
    need the submission, institution and milestone, so the copy says that instead.
    """
    from great_expectations.core.run_identifier import RunIdentifier

    result = copy.deepcopy(run.result)
    markers = result.meta.get("batch_markers") or {}
    fingerprint = str(markers.get("pandas_data_fingerprint") or "lote")
    loaded = str(markers.get("ge_load_time") or "")
    try:
        run_time = datetime.strptime(loaded, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        run_time = datetime.now(UTC)
    page = RunPage(run_name(keys), run_time, fingerprint)
    result.meta["run_id"] = RunIdentifier(run_name=page.run_name, run_time=run_time)
    spec = dict(result.meta.get("batch_spec") or {})
    spec["data_asset_name"] = ASSET_NAME
    result.meta["batch_spec"] = spec
    labels = row_labels(run.frame)
    for expectation in result.results:
        found = expectation.result or {}
        if "_id" not in (found.get("unexpected_index_column_names") or []):
            continue
        found["unexpected_index_column_names"] = [ROW_COLUMN]
        found["unexpected_index_list"] = [
            {**{k: v for k, v in row.items() if k != "_id"}, ROW_COLUMN: labels.get(row["_id"])}
            for row in found.get("unexpected_index_list") or []
        ]
    return result, page


def inert(result: Any) -> Any:
    """A copy of the result whose values (what institutions typed) are HTML-escaped.

    Great Expectations writes unexpected values into its pages as raw HTML: a ``<script>`` an
    institution typed in ``estado`` would run in the reviewer's browser. The JSON beside each
    page keeps the values as typed; only what goes into the page is escaped, once.
    """
    shown = copy.deepcopy(result)
    for expectation in shown.results:
        if expectation.result:
            expectation.result = _escaped(expectation.result)
    return shown


def _escaped(value: Any) -> Any:
    if isinstance(value, str):
        return html_escape(value)
    if isinstance(value, dict):
        return {key: _escaped(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_escaped(item) for item in value]
    return value


def row_labels(frame: pd.DataFrame) -> dict[Any, str]:
    """``_id`` → ``envío 3 · MINEDUC 4.1 (fila 5)``, the words reviewers look rows up by."""
    labels: dict[Any, str] = {}
    columns = [c for c in ("_id", "_envio", "_clave", "fila") if c in frame.columns]
    for record in frame[columns].to_dict("records"):
        key = record.get("_clave")
        who = str(key).replace("|", " ") if isinstance(key, str) else "sin código"
        fila = record.get("fila")
        where = f" (fila {int(fila)})" if fila is not None and not pd.isna(fila) else " (ausente)"
        labels[record["_id"]] = f"envío {record['_envio']} · {who}{where}"
    return labels


def validation_html(result: Any) -> str:
    """The validation page as Great Expectations renders it (still with CDN links)."""
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    document = ValidationResultsPageRenderer().render(result)
    return str(DefaultJinjaPageView().render(document, show_how_to_buttons=False))


def suite_html() -> str:
    """The suite's page: every rule of the workbook contract, as Great Expectations shows it."""
    import great_expectations as gx
    from great_expectations.render.renderer import ExpectationSuitePageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    suite = gx.ExpectationSuite(**json.loads(SUITE.read_text(encoding="utf-8")))
    document = ExpectationSuitePageRenderer().render(suite)
    return str(DefaultJinjaPageView().render(document, show_how_to_buttons=False))


def index_html(site: Path, cycle_id: str) -> str:
    """The site's index: the suite and every validation run filed in the cycle, newest first."""
    from great_expectations.render.renderer import SiteIndexPageRenderer
    from great_expectations.render.view import DefaultJinjaIndexPageView

    suite_page = f"expectations/{SUITE_NAME}.html"
    validations = []
    for data_file in sorted((site / "validations").rglob("*.json")):
        result = json.loads(data_file.read_text(encoding="utf-8"))
        run_id = result.get("meta", {}).get("run_id") or {}
        page = data_file.with_suffix(".html").relative_to(site).as_posix()
        validations.append(
            {
                "expectation_suite_name": SUITE_NAME,
                "filepath": urllib.parse.quote(page),
                "run_id": run_id,
                "batch_identifier": data_file.stem,
                "validation_success": bool(result.get("success")),
                "run_time": run_id.get("run_time"),
                "run_name": run_id.get("run_name"),
                "asset_name": ASSET_NAME,
                "batch_kwargs": None,
                "batch_spec": result.get("meta", {}).get("batch_spec"),
                "expectation_suite_filepath": suite_page,
            }
        )
    validations.sort(key=lambda v: str(v["run_time"]), reverse=True)
    links = {
        "site_name": f"Hitos · ciclo {cycle_id}",
        "expectations_links": [
            {"expectation_suite_name": SUITE_NAME, "filepath": suite_page, "run_id": None}
        ],
        "validations_links": validations,
    }
    document = SiteIndexPageRenderer.render(links)
    return str(DefaultJinjaIndexPageView().render(document, show_how_to_buttons=False))


def write_site(site: Path, cycle_id: str) -> Path:
    """Static assets, the suite page and the index of a cycle's site; the index's path."""
    import great_expectations

    shutil.copytree(ASSETS, site / "static", dirs_exist_ok=True)
    images = Path(great_expectations.__file__).parent / "render" / "view" / "static" / "images"
    (site / "static" / "images").mkdir(parents=True, exist_ok=True)
    for name in sorted(set(IMAGES.values()) | {"favicon.ico"}):
        shutil.copyfile(images / name, site / "static" / "images" / name)
    suite_page = site / "expectations" / f"{SUITE_NAME}.html"
    suite_page.parent.mkdir(parents=True, exist_ok=True)
    suite_page.write_text(offline(suite_html(), depth=1), encoding="utf-8")
    index = site / "index.html"
    index.write_text(offline(index_html(site, cycle_id), depth=0), encoding="utf-8")
    return index


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
