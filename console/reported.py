"""What a file reported per milestone, beside what came before: its institution's previous file
in the cycle and the file that spoke for it in the previous cycle.

A reviewer judges a file by its values and their changes, not only by the rules' verdict: a
second MINGOB file that takes milestone 1.1 from 50 % back to 0 % passes every rule, and only the
comparison shows it (#25).
"""

from __future__ import annotations

from dataclasses import dataclass

from tasks.core.contract import STATE_CODES
from tasks.publication.report import evidence_link
from tasks.storage.ledger import MilestoneValue

COMPARED = ("estado", "avance_pct", "descripcion_avance", "evidencia_url", "observaciones")
"""The values a milestone's row compares (the institution fills them: ``VALUE_COLUMNS``)."""


@dataclass(frozen=True)
class Earlier:
    """A milestone's values in an earlier file, and which of them this file changed."""

    estado: str
    avance_pct: float
    changed: tuple[str, ...]
    went_back: bool
    """Less progress, or an earlier state, than before."""


@dataclass(frozen=True)
class Reported:
    """One milestone's row on the submission page."""

    milestone: str
    value: MilestoneValue
    evidence_link: str | None
    since_file: Earlier | None
    """Against the institution's previous file in this cycle (None: none, or not in it)."""
    since_cycle: Earlier | None
    """Against the file that spoke for it in the previous cycle."""


def reported(
    values: dict[str, MilestoneValue],
    previous_file: dict[str, MilestoneValue],
    previous_cycle: dict[str, MilestoneValue],
) -> list[Reported]:
    """Each milestone the file reports, in the file's order, compared with both earlier files."""
    return [
        Reported(
            code,
            value,
            evidence_link(value.evidencia_url),
            _against(value, previous_file.get(code)),
            _against(value, previous_cycle.get(code)),
        )
        for code, value in values.items()
    ]


def tally(rows: list[Reported]) -> dict[str, tuple[int, int]]:
    """Per earlier file (``file``, ``cycle``): how many milestones changed, how many went back."""
    found = {}
    for which in ("file", "cycle"):
        earlier = [e for r in rows if (e := getattr(r, f"since_{which}")) is not None]
        found[which] = (sum(bool(e.changed) for e in earlier), sum(e.went_back for e in earlier))
    return found


def _against(now: MilestoneValue, before: MilestoneValue | None) -> Earlier | None:
    if before is None:
        return None
    changed = tuple(c for c in COMPARED if _shown(getattr(now, c)) != _shown(getattr(before, c)))
    return Earlier(
        before.estado,
        before.avance_pct,
        changed,
        now.avance_pct < before.avance_pct or _rank(now.estado) < _rank(before.estado),
    )


def _shown(value: object) -> object:
    """A value as a reader compares it: text without its outer or doubled spaces."""
    return " ".join(value.split()) if isinstance(value, str) else value


def _rank(state: str) -> int:
    return STATE_CODES.index(state) if state in STATE_CODES else -1
