"""Data Docs pages that open offline: every CDN link pointed at the site's own ``static/``.

Great Expectations 1.24.1 pages load bootstrap, jQuery, Font Awesome and vega from CDNs, and
its logo from S3; these are vendored in ``vendor/data-docs`` (see its README for versions and
licences) and put in each site's ``static/`` with Great Expectations' own images.
"""

from __future__ import annotations

import importlib.util
import re
from functools import cache
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[3] / "vendor" / "data-docs"
_GE = importlib.util.find_spec("great_expectations")
_GE_STATIC = Path(_GE.origin if _GE and _GE.origin else ".").parent / "render" / "view" / "static"
"""Great Expectations' own static files, found without importing it (seconds)."""

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
#: Great Expectations' own images (shipped in its package) that its pages take from S3, and the
#: favicon its pages link under ``static/images/``.
IMAGES = {"logo-long.png": "logo-long.png", "full_logo_dark.png": "logo-long.png"}
TABLE_SCRIPT = "bootstrap-table/bootstrap-table.min.js"
"""The table library's script: its words in the site's language follow it (``language``)."""

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


@cache
def static_files() -> dict[str, bytes]:
    """Every file of a site's ``static/`` by its name there: the vendored assets (with their
    licences) and Great Expectations' logo and favicon."""
    files = {
        path.relative_to(ASSETS).as_posix(): path.read_bytes()
        for path in sorted(ASSETS.rglob("*"))
        if path.is_file() and path.name != "README.md"
    }
    images = _GE_STATIC / "images"
    for name in sorted(set(IMAGES.values()) | {"favicon.ico"}):
        files[f"images/{name}"] = (images / name).read_bytes()
    return files


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
            "vendor/data-docs and map them in tasks/checks/data_docs/offline.py before adding "
            "such an expectation"
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
            "and map it in tasks/checks/data_docs/offline.py (LOCAL), or drop it (DROPPED)"
        )
    return html
