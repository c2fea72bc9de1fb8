"""The Mesa's decisions in the audit trail (``decisions``): who convened, moved or cancelled a
session, recorded or closed an agreement, approved a communiqué or a plan change, and why.

The console's history page (``/ciclos/<cycle>/historial``) lists them beside reviews, extensions
and publications; their labels are ``console_mesa.actions.<action>``.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from tasks.storage.ledger import Decision

CONVENE, CANCEL = "mesa-convene", "mesa-cancel"
AGREEMENT, AGREEMENT_CLOSED = "mesa-agreement", "mesa-agreement-done"
COMMUNIQUE, PLAN_CHANGE = "mesa-communique", "plan-change"
"""Labels: ``console_mesa.actions.<action>`` (the history page names every ``mesa-*`` one and
``plan-change``)."""


def decided(
    db: Session,
    actor: str,
    action: str,
    plan_id: str,
    cycle_id: str,
    institution: str | None = None,
    note: str = "",
) -> None:
    """Record one decision of the Mesa in the same transaction as what it decided."""
    db.add(
        Decision(
            actor=actor or "-",
            action=action,
            plan_id=plan_id,
            cycle_id=cycle_id,
            institution=institution,
            note=note,
        )
    )
