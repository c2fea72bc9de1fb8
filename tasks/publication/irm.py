"""How the board reads a commitment's published figures: its progress, or «sin datos» when none
of its milestones was ever reported, and a suggested IRM completion level.

OGP's Independent Reporting Mechanism judges each commitment on a five-point completion scale.
Hitos only suggests a level from the published figures, by the rule below, which the board
states next to every suggestion: the IRM's own judgement weighs evidence Hitos does not see.
"""

from __future__ import annotations

from tasks.publication.consolidation import CommitmentFigures

IRM_LEVELS = ("no-evidence", "not-started", "limited", "substantial", "complete")
"""The scale, lowest first; labels live in the board's catalogue (``templates/board/``)."""

SUBSTANTIAL_FROM = 50.0
"""Commitment progress (%) from which the suggestion is «substantial» rather than «limited»."""


def milestone_count(c: CommitmentFigures) -> int:
    """How many milestones the commitment has, whatever their state."""
    return c.no_iniciado + c.iniciado + c.completado + c.sin_datos


def commitment_progress(c: CommitmentFigures) -> float | None:
    """The commitment's published progress; None («sin datos», never 0 %) when none of its
    milestones was ever reported (consolidation's formula would count them all as 0 %)."""
    return None if c.sin_datos == milestone_count(c) else c.avance_pct


def suggested_completion(commitment: CommitmentFigures) -> str:
    """The level the figures suggest: one of ``IRM_LEVELS``.

    No milestone with data: no evidence. Every milestone completed: complete. Otherwise by the
    commitment's progress (consolidation's formula): 0 % not started, under
    ``SUBSTANTIAL_FROM`` limited, from it substantial.
    """
    c = commitment
    progress = commitment_progress(c)
    if progress is None:
        return "no-evidence"
    if c.completado == milestone_count(c):
        return "complete"
    if progress == 0:
        return "not-started"
    return "limited" if progress < SUBSTANTIAL_FROM else "substantial"
