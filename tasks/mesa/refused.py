"""What the Mesa's commands refuse: one stable code (the console's message) and one English
sentence for operators (the CLI exits 1, as for every refused decision)."""

from __future__ import annotations

from tasks.core.refusals import DecisionRefused


class MesaRefused(DecisionRefused):
    """A session, agreement, assessment, communiqué or plan change that cannot be recorded."""
