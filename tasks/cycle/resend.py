"""Sending a request again after it was refused or bounced, to the institution's current liaison.

The first request is ``<plan>/<cycle>/<code>/request/1``; a resend is the next number, so the mail
ledger still says each email went once, and ``hitos status`` shows the newest. Only a request
that did not arrive is sent again: a delivered one, or one being sent, is left alone.
"""

from __future__ import annotations

from sqlalchemy import select

from tasks.catalogues import language_of
from tasks.core.cycles import cycle_label
from tasks.core.refusals import UserMistake
from tasks.cycle.requests import build_request, liaison_link, request_email
from tasks.mail.outgoing import send_all
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage.ledger import Email, of_cycle, session
from tasks.storage.queries import cycle_of

UNDELIVERED = ("refused", "bounced")


def sequence(key: str) -> int:
    return int(key.rsplit("/", 1)[-1])


def resend_request(
    settings: Settings, plan: Plan, cycle_id: str, code: str, same_address: bool = False
) -> tuple[str, str]:
    """Send the request again (``plan`` with the current contacts); its key and status.

    ``UserMistake``, in an operator's words, when there is nothing to resend, or when the liaison is
    still the address that did not take it (unless ``same_address``: a full mailbox, say).
    """
    try:
        institution = plan.institution(code)
    except KeyError:
        raise UserMistake(f"institution {code!r} is not in plan {plan.id}") from None
    with session(settings.database) as db:
        cycle = cycle_of(db, plan.id, cycle_id)
        if cycle is None:
            raise UserMistake(
                f"cycle {cycle_label(plan.id, cycle_id)} does not exist: open it with "
                f"`hitos cycle open {cycle_id} --plan {plan.id}`"
            )
        sent = db.scalars(
            select(Email).where(
                of_cycle(Email, plan.id, cycle_id),
                Email.institution == code,
                Email.kind == "request",
            )
        ).all()
    if not sent:
        raise UserMistake(
            f"{code} was never sent the {cycle_id} request: `hitos cycle open {cycle_id}` sends it"
        )
    latest = max(sent, key=lambda e: sequence(e.key))
    if latest.status not in UNDELIVERED:
        raise UserMistake(
            f"the {cycle_id} request to {code} ({latest.to}) is {latest.status}: "
            "only a refused or bounced request is sent again"
        )
    if not same_address and institution.liaison.email.lower() in latest.to.lower():
        raise UserMistake(
            f"{code}'s liaison is still {institution.liaison.email}, where the request was "
            f"{latest.status}: correct it first with `hitos contacts set {code} --liaison EMAIL`, "
            "or pass --same-address to try that address again"
        )
    mail = request_email(
        plan,
        cycle,
        institution,
        build_request(settings, plan, cycle, institution),
        language_of(settings, plan),
        sequence=sequence(latest.key) + 1,
        link=liaison_link(settings, plan, cycle, institution, fresh=True),  # the old one revoked
    )
    return mail.key, send_all(settings, [mail])[mail.key]
