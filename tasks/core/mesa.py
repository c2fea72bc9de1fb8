"""The Mesa Técnica's codes, shared by the rooms that decide (``tasks.mesa``) and those that
publish (the board, the open data): civil society's verdicts and an agreement's states.

Labels per language: ``mesa.verdict.<code>`` and ``mesa.agreement_state.<state>`` in the
catalogues.
"""

from __future__ import annotations

AGREE, DISAGREE, CANNOT_VERIFY = "agree", "disagree", "cannot-verify"
VERDICTS = (AGREE, DISAGREE, CANNOT_VERIFY)
"""What a civil-society organisation may say of a reported milestone."""

OPEN, DONE, DROPPED = "open", "done", "dropped"
"""An agreement's states: open until its owner meets it (done) or the Mesa drops it."""
