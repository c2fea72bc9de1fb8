"""The session's papers: the agenda (HTML and PDF) and the meeting pack, a deck to project.

The deck is one HTML file, one slide per commitment (its milestones, states, progress, change
since the last session, evidence and civil society's assessment) after the agreements to follow
up, the plan's state and who reports; the same file printed by WeasyPrint, one slide per
landscape page, is its PDF. Like the board they are derived from the ledger and written to the
workspace (``mesa/<plan>/<cycle>/``), rebuilt whenever asked; no script, nothing loaded from
outside.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tasks.catalogues import language_of
from tasks.core.mesa import VERDICTS
from tasks.mesa.agenda import Agenda, build_agenda
from tasks.plans.plan import Plan
from tasks.publication.board.pages import evidence_host
from tasks.publication.report import print_pdf
from tasks.rendering import render
from tasks.settings import Settings

AGENDA, DECK = "orden-del-dia", "presentacion"
"""File names (without extension) of the agenda and the deck in ``mesa/<plan>/<cycle>/``."""


def folder(settings: Settings, plan: Plan, cycle_id: str) -> Path:
    """Where a cycle's Mesa papers are written."""
    return settings.folder("mesa", plan.id, cycle_id)


def context(agenda: Agenda) -> dict[str, Any]:
    return {
        "agenda": agenda,
        "plan": agenda.plan,
        "cycle": agenda.cycle,
        "verdicts": VERDICTS,
        "host": evidence_host,  # the board's way to name an evidence link: «Evidencia (host)»
    }


PAPERS = {"agenda": ("mesa/agenda.html", AGENDA), "deck": ("mesa/deck.html", DECK)}
"""Each paper: its template and its file name."""


def write_papers(
    settings: Settings, plan: Plan, cycle_id: str, kinds: tuple[str, ...] = ("agenda", "deck")
) -> dict[str, Path]:
    """The papers as HTML and PDF, from one reading of the ledger; ``<kind>_html`` and
    ``<kind>_pdf`` → their paths."""
    language = language_of(settings, plan)
    agenda = build_agenda(settings, plan, cycle_id, language)
    target = folder(settings, plan, cycle_id)
    paths: dict[str, Path] = {}
    for kind in kinds:
        template, name = PAPERS[kind]
        html, pdf = target / f"{name}.html", target / f"{name}.pdf"
        html.write_text(render(template, language, **context(agenda)), "utf-8")
        print_pdf(html, pdf)
        paths[f"{kind}_html"], paths[f"{kind}_pdf"] = html, pdf
    return paths


def write_agenda(settings: Settings, plan: Plan, cycle_id: str) -> dict[str, Path]:
    """The agenda as HTML and PDF (the PDF is what invitations attach); their paths."""
    return write_papers(settings, plan, cycle_id, ("agenda",))


def write_pack(settings: Settings, plan: Plan, cycle_id: str) -> dict[str, Path]:
    """The agenda and the deck, each as HTML and PDF; their paths."""
    return write_papers(settings, plan, cycle_id)
