"""A suggested IRM completion level per commitment, for the end-of-term self-assessment.

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


def suggested_completion(commitment: CommitmentFigures) -> str:
    """The level the figures suggest: one of ``IRM_LEVELS``.

    No milestone with data: no evidence. Every milestone completed: complete. Otherwise by the
    commitment's progress (consolidation's formula): 0 % not started, under
    ``SUBSTANTIAL_FROM`` limited, from it substantial.
    """
    c = commitment
    total = c.no_iniciado + c.iniciado + c.completado + c.sin_datos
    if c.sin_datos == total:
        return "no-evidence"
    if c.completado == total:
        return "complete"
    if c.avance_pct == 0:
        return "not-started"
    return "limited" if c.avance_pct < SUBSTANTIAL_FROM else "substantial"
