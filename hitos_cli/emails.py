"""What became of the emails a command sent: how many went out, and each one that did not."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import typer

from hitos_cli.errors import UNFINISHED, say_error
from hitos_cli.output import say

if TYPE_CHECKING:
    from tasks.settings import Settings


def sent_since(settings: Settings, since: datetime, kinds: tuple[str, ...], what: str) -> int:
    """How many emails of these kinds went out since ``since``; when some did not, each with
    its reason, one sentence, and exit 1 (``what``: «request email(s) were»)."""
    from tasks.core.states import EmailStatus
    from tasks.storage.ledger import session
    from tasks.storage.queries import claimed_since

    with session(settings.database) as db:
        emails = claimed_since(db, since, kinds)
    unsent = [email for email in emails if email.status != EmailStatus.SENT]
    for email in unsent:
        say(f"{email.key}: {email.status} ({email.error or 'no reason recorded'})")
    refused = sum(email.status == EmailStatus.REFUSED for email in unsent)
    if unsent:
        # A temporary failure goes out with the next run of the step; a refusal never does by
        # itself: the operator is told (tasks.operations.alerts) and decides (hitos retry).
        say_error(
            f"{len(unsent)} {what} not sent (reasons above, and in `hitos status`): "
            + ", ".join(
                part
                for part in (
                    f"{len(unsent) - refused} will go out when the command runs again"
                    if len(unsent) > refused
                    else "",
                    f"{refused} refused by the mail server: fix the address or the server, then "
                    "`hitos retry KEY`"
                    if refused
                    else "",
                )
                if part
            )
        )
        raise typer.Exit(UNFINISHED)
    return len(emails)
