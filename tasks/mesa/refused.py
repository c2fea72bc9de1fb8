"""What the Mesa's commands refuse: one stable code and one English sentence for operators."""

from __future__ import annotations

from tasks.checks.boundaries import DecisionRefused


class MesaRefused(DecisionRefused):
    """A session, agreement, assessment, communiqué or plan change that cannot be recorded."""
