"""The ``hitos`` command: every step of a cycle, by hand, on the workspace (``HITOS_HOME``).

One module per command group, each with a ``commands`` Typer; ``GROUPS`` registers them, one line
each. Shared: ``arguments`` (the cycle, plan, institution and date every command checks the same
way), ``errors`` (the one error path), ``output`` (console, tables, status line, summary).
Command modules import nothing heavy at module level: a mistyped cycle is refused before Prefect,
pandas or Great Expectations load.
"""

from __future__ import annotations

from importlib import import_module

import typer

from hitos_cli.errors import Commands

GROUPS = (
    "demo",  # demo
    "cycles",  # cycle open/close, remind, status, extend
    "intake",  # intake, submit, findings
    "evidence",  # evidence
    "review",  # review list/approve/return
    "publication",  # consolidate, publish, board
    "contacts",  # contacts, resend
    "plans",  # plan check/import/export
    "accounts",  # users add, users unlock
    "server",  # serve, server setup
    "mail",  # retry
    "mesa",  # session, agreement, assess, communique; plan change/history
)
"""The command groups, in the order ``hitos --help`` lists them: a new group is one line here
(its module ``hitos_cli/<name>.py`` defines ``commands = typer.Typer()``). A command joining an
existing subgroup (``plan change``, ``users unlock``) registers on that subgroup's Typer
(``plans.plan_commands``, ``accounts.users_commands``) from its own module, listed here."""

app = typer.Typer(
    cls=Commands,
    rich_markup_mode="markdown",  # a docstring's paragraphs reflowed to the terminal's width
    help="Hitos: open-government action plan compliance cycles.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # a traceback (HITOS_DEBUG=1) must not print secrets
)
for group in GROUPS:
    app.add_typer(import_module(f"hitos_cli.{group}").commands)


def main() -> None:
    """The ``hitos`` entry point (pyproject's ``[project.scripts]``)."""
    app()
