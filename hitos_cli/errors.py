"""The one error path of every command: what went wrong, in one English sentence, and an exit code
a script can act on. No command catches exceptions itself.

- ``UserMistake`` (``tasks.core.refusals``): what was asked is wrong (a mistyped cycle, an
  unknown institution, a date that is not one); its sentence says how to ask. Exit 2.
- ``DecisionRefused``: a review, an extension or a publication that cannot be taken now (already
  decided, nothing to publish; when two people act at once, the one who comes second). Exit 1.
- anything else: its message, and how to see the traceback (``HITOS_DEBUG=1``). Exit 2.
"""

from __future__ import annotations

import os
from typing import Any

import typer
from rich.text import Text
from typer.core import TyperGroup

from hitos_cli.output import console

MISTAKE = 2
REFUSED = 1
FAILED = 2
UNFINISHED = 1
"""The command ran, part of its work did not go out (an email refused): running it again retries."""

PASSED_THROUGH = (typer.TyperException, typer.Exit, typer.Abort, EOFError, BrokenPipeError)
"""What the command-line framework itself turns into usage errors, exit codes and aborts."""


def say_error(sentence: str) -> None:
    """``error: <sentence>``, the one shape every failure has (the sentence printed as it is)."""
    console.print(Text.assemble(("error:", "red"), " ", sentence), highlight=False)


def expected(exc: Exception) -> int | None:
    """The exit code of a mistake or a refusal, whose sentence is the whole story; None for the
    unexpected."""
    from tasks.core.refusals import DecisionRefused, UserMistake

    if isinstance(exc, UserMistake):
        return MISTAKE
    if isinstance(exc, DecisionRefused):
        return REFUSED
    return None


class Commands(TyperGroup):
    """The ``hitos`` group: every command, its arguments' checks included, runs inside ``invoke``,
    so one place turns failures into sentences (under ``CliRunner`` too, not only in ``main``)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except PASSED_THROUGH:
            raise
        except Exception as exc:
            code = expected(exc)
            if code is not None:
                say_error(str(exc))
                raise typer.Exit(code) from exc
            if os.environ.get("HITOS_DEBUG"):
                raise
            said = str(exc).strip() or type(exc).__name__
            say_error(f"{said} (set HITOS_DEBUG=1 for the traceback)")
            raise typer.Exit(FAILED) from exc
