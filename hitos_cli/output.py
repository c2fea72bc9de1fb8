"""What every command prints: the console, its tables, the status line of a long step and the
one-line summary each command ends with.

Piped or redirected, output is never cut: rich draws for 80 columns when stdout is not a
terminal (or for the terminal's width, when stdin still is one), and a table of ``hitos status``
piped to a file ended «accepte…». Off a terminal the width is unbounded; on one, rich's own.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console, ConsoleDimensions
from rich.table import Table

UNBOUNDED = 1_000_000
"""Columns when stdout is not a terminal: wider than any line Hitos prints, so nothing is cut."""

PROGRESS = "hitos.progress"
"""The logger each step of a flow announces itself on (``flows.PROGRESS``, named here so that
showing a status line does not import Prefect): the status line shows the step."""


class Output(Console):
    """A rich console whose width is the terminal's, and unbounded off a terminal."""

    @property
    def size(self) -> ConsoleDimensions:
        measured = super().size
        return measured if self.is_terminal else ConsoleDimensions(UNBOUNDED, measured.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]


console = Output(soft_wrap=True)
"""Lines are not cut at the terminal's width either: a path cut by a newline no longer pastes."""


def table(*headers: str, title: str | None = None) -> Table:
    """A table with these column headers; the caller adds rows and prints it."""
    return Table(*headers, title=title)


def say(text: str) -> None:
    """One line as it is: no markup, no highlighting (names, paths and messages print as typed)."""
    console.print(text, markup=False, highlight=False)


def summary(sentence: str) -> None:
    """The one line a command ends with: what it did, in a sentence (bold on a terminal)."""
    console.print(sentence, style="bold", markup=False, highlight=False)


def counted(number: int, thing: str) -> str:
    """«1 file», «3 files»: a number and the thing it counts."""
    return f"{number} {thing}{'' if number == 1 else 's'}"


def heading(text: str) -> None:
    """A rule with a title on a terminal; the title alone in a file."""
    if console.is_terminal:
        console.rule(text)
    else:
        say(text)


def echo_json(data: object) -> None:
    """``--json`` output: the data alone, nothing before or after it."""
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


class _StepLine(logging.Handler):
    """Shows the step a flow announces on the status line, beside what the command does."""

    def __init__(self, update: Any) -> None:
        super().__init__(logging.INFO)
        self.update = update

    def emit(self, record: logging.LogRecord) -> None:
        self.update(record.getMessage())


STARTING = "starting Prefect"
"""The step shown before a flow's first: importing Prefect and starting its local server took
the first 33 s of a demo here (a busy machine), its longest silent stretch."""


@contextmanager
def working(what: str, quiet: bool = False, first: str = "") -> Iterator[None]:
    """A status line (spinner, ``what``, the flow's current step, time elapsed) while the block
    runs, on a terminal; nothing when piped or ``quiet`` (``--json``). ``first``: the step to
    show until a flow announces its own (``STARTING`` for a flow)."""
    if quiet or not console.is_terminal:
        yield
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    line = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),
        TextColumn("{task.fields[step]}", style="dim", markup=False),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    task = line.add_task(what, total=None, step=first)
    handler = _StepLine(lambda step: line.update(task, step=step))
    steps = logging.getLogger(PROGRESS)
    level, propagate = steps.level, steps.propagate
    steps.addHandler(handler)
    steps.setLevel(logging.INFO)
    steps.propagate = False
    try:
        with line:
            yield
    finally:
        steps.removeHandler(handler)
        steps.setLevel(level)
        steps.propagate = propagate
