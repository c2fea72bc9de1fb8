"""The two ways Hitos says no to a person, each one English sentence for operators.

A ``UserMistake`` is a mistake in what was asked (a cycle id written wrong, a cycle that does not
exist): the CLI prints its sentence and exits 2. A ``DecisionRefused`` is a decision that cannot
be taken as the ledger stands (publishing without a draft, reviewing a replaced file, the loser of
two people acting at once): its stable ``code`` names the console's message, and the CLI exits 1.
"""

from __future__ import annotations


class UserMistake(ValueError):
    """A mistake in what was asked (not a failure of Hitos): its message is the whole story."""


class UnknownCycle(UserMistake):
    """A cycle id that is well formed but names no cycle of the plan."""


class DecisionRefused(ValueError):
    """A decision that cannot be taken: a stable ``code`` and one English sentence."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
