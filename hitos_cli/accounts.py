"""Accounts of the directorate's console: ``users add``, ``users unlock``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from hitos_cli.arguments import ByOption, actor, workspace
from hitos_cli.output import summary

commands = typer.Typer()
users_commands = typer.Typer(help="Accounts of the directorate's console.", no_args_is_help=True)
commands.add_typer(users_commands, name="users")


@users_commands.command("add")
def users_add(
    email: Annotated[str, typer.Argument(help="The person's email, their sign-in name.")],
    role: Annotated[str, typer.Option(help="director or reviewer.")],
) -> None:
    """Create a console account (or reset one); the password is read from standard input."""
    settings, _ = workspace()
    from tasks.people.accounts import add_user

    if sys.stdin.isatty():
        import getpass

        password = getpass.getpass("Password: ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    account = add_user(settings, email, role, password)
    summary(f"{account.email} can sign in to the console as {account.role}.")


@users_commands.command("unlock")
def users_unlock(
    email: Annotated[str, typer.Argument(help="The account whose sign-in throttle to clear.")],
    by: ByOption = "",
) -> None:
    """Clear an account's sign-in throttle: every address may try it again at once."""
    settings, _ = workspace()
    from tasks.people.accounts import unlock

    forgiven = unlock(settings, email, actor(by))
    summary(f"{email}: sign-in throttle cleared ({forgiven} recent failures forgiven).")
