"""The board's pages: the home, every milestone, a page per commitment and per institution, the
OGP view and the downloads, rendered from ``templates/board/`` in the language people read.

Each page is whole without its script: every row in the plan's order, every value written out.
``tablero.js`` (copied beside ``estilo.css``) only adds search, filters and sort to the lists a
page already shows (``templates/board/_filters.html``), keeping the choice in the address so a
filtered list can be shared.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup

from tasks.catalogues import text
from tasks.core.contract import STATE_CODES
from tasks.core.states import Delivery
from tasks.plans.plan import Commitment, Plan
from tasks.publication.board.cycles import (
    PublishedCycle,
    commitment_history,
    delivery_history,
    last_publication,
    milestone_history,
    published_at,
)
from tasks.publication.board.downloads import Offered
from tasks.publication.consolidation import COMMITMENT_FORMULA, NO_DATA
from tasks.publication.datapackage import catalogue
from tasks.publication.irm import (
    IRM_LEVELS,
    SUBSTANTIAL_FROM,
    commitment_progress,
    milestone_count,
    suggested_completion,
)
from tasks.publication.report import page_rows, state_label
from tasks.rendering import TEMPLATES, environment, render
from tasks.settings import Settings

STATIC = ("estilo.css", "tablero.js")
"""The board's own files beside its pages: its stylesheet and its one script."""


def evidence_host(url: str) -> str:
    """The site an evidence link leads to, as a reader recognises it: ``mingob.gob.gt``."""
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.")


def _grouped(rows: Iterable[SimpleNamespace], key: str) -> dict[str, list[SimpleNamespace]]:
    grouped: dict[str, list[SimpleNamespace]] = {}
    for row in rows:
        grouped.setdefault(getattr(row, key), []).append(row)
    return grouped


def _page(folder: Path, relative: str, template: str, language: str, **context: Any) -> None:
    """Render one page; ``root`` is the way back to the board's top from where the page sits."""
    depth = relative.count("/")
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    page = render(f"board/{template}", language, root="../" * depth, **context)
    path.write_text(page, "utf-8")


def _commitment_facts(
    plan: Plan, commitment: Commitment, names: dict[str, SimpleNamespace]
) -> SimpleNamespace:
    """What the plan says of a commitment beyond its figures: who leads it, which other
    institutions answer for some of its milestones, and the span of its milestones' dates."""
    responsible = dict.fromkeys(m.institution for m in commitment.milestones)
    return SimpleNamespace(
        leads=[names[code] for code in commitment.leads],
        others=[names[code] for code in responsible if code not in commitment.leads],
        start=min((m.start for m in commitment.milestones), default=None),
        end=max((m.end for m in commitment.milestones), default=None),
        cluster=commitment.irm_cluster,
    )


def _choices(plan: Plan, language: str) -> SimpleNamespace:
    """What the lists can be filtered by, each a (value, label) the page's rows carry as
    ``data-*``: milestone states (``no_data`` for never reported), commitments, institutions,
    delivery states and suggested IRM levels."""
    irm = catalogue(language)["irm_levels"]
    return SimpleNamespace(
        states=[(code, state_label(code, language)) for code in (*STATE_CODES, NO_DATA)],
        commitments=[(c.code, f"{c.code} · {c.title}") for c in plan.commitments],
        institutions=[(i.code, f"{i.code} · {i.name}") for i in plan.reporting_institutions()],
        deliveries=[(d.value, d.label(language)) for d in Delivery],
        levels=[(level, irm[level]["label"]) for level in IRM_LEVELS],
    )


def write_pages(
    settings: Settings,
    plan: Plan,
    language: str,
    cycles: list[PublishedCycle],
    offered: Offered,
    package: Path | None,
    folder: Path,
) -> int:
    """Write every page of the board into ``folder``; how many pages."""
    for name in STATIC:
        shutil.copyfile(TEMPLATES / "board" / name, folder / name)
    latest = cycles[-1] if cycles else None
    history = milestone_history(cycles)
    levels = (
        {c.codigo: suggested_completion(c) for c in latest.figures.commitments} if latest else {}
    )
    # Codes and names only: an Institution carries its contacts, which never reach a page.
    names = {i.code: SimpleNamespace(code=i.code, name=i.name) for i in plan.institutions}
    updated = last_publication(cycles)
    common = {
        "plan": plan,
        "latest": latest,
        "cycles": cycles,
        "updated": updated,
        "updated_at": published_at(updated) if updated else None,
        "license": settings.data_license,
        "levels": levels,
        "irm": catalogue(language)["irm_levels"],
        "irm_levels": IRM_LEVELS,
        "substantial_from": SUBSTANTIAL_FROM,
        "formula": text(language, COMMITMENT_FORMULA),
        "expected": {m.code: m.expected_result for m in plan.milestones},
        "clusters": {c.code: c.irm_cluster for c in plan.commitments},
        "deadlines": {p.cycle.id: p.cycle.deadline for p in cycles},
        "progress_of": commitment_progress,
        "milestones_in": milestone_count,
        "host": evidence_host,
        "choices": _choices(plan, language),
    }
    published_on = {r.id: published_at(r) for p in cycles for r in p.versions}
    pages: list[tuple[str, str, dict[str, Any]]] = [
        ("index.html", "index.html", {"section": "inicio"}),
        ("ogp.html", "ogp.html", {"section": "ogp"}),
        (
            "datos/index.html",
            "data.html",
            {
                "section": "datos",
                "offered": offered,
                "published_on": published_on,
                "package": json.loads(package.read_text("utf-8")) if package else None,
            },
        ),
    ]
    rows = page_rows(latest.table, language) if latest is not None else []
    pages.append(("hitos.html", "milestones.html", {"section": "hitos", "rows": rows}))
    if latest is not None:
        by_commitment = _grouped(rows, "codigo_compromiso")
        by_institution = _grouped(rows, "institucion")
        # Each milestone is the same on its commitment's and its institution's page: rendered
        # once (20,000 milestones twice were most of the board's time at 1,000 institutions).
        cards: Any = (
            environment(language)
            .get_template("board/_milestone.html")
            .make_module({**common, "root": "../"})
        )
        fragments = {r.codigo_hito: Markup(cards.card(r, history[r.codigo_hito])) for r in rows}
        progress = commitment_history(cycles)
        for c in latest.figures.commitments:
            commitment = plan.commitment(c.numero)
            pages.append(
                (
                    f"compromisos/{c.codigo}.html",
                    "commitment.html",
                    {
                        "section": "compromisos",
                        "c": c,
                        "facts": _commitment_facts(plan, commitment, names),
                        "rows": by_commitment.get(c.codigo, []),
                        "fragments": fragments,
                        "progress": progress.get(c.codigo, []),
                    },
                )
            )
        deliveries = delivery_history(cycles)
        for i in latest.figures.institutions:
            pages.append(
                (
                    f"instituciones/{i.codigo}.html",
                    "institution.html",
                    {
                        "section": "instituciones",
                        "i": i,
                        "rows": by_institution.get(i.codigo, []),
                        "fragments": fragments,
                        "record": deliveries.get(i.codigo, []),
                    },
                )
            )
    for relative, template, context in pages:
        _page(folder, relative, template, language, **common, **context)
    return len(pages)
