"""Console accounts of civil society: each speaks for one organisation of the Mesa.

The account itself is an ordinary console account (``tasks.people.accounts``) of the ``cso``
(civil-society organisation) role; the organisation it speaks for is kept beside it, so an
assessment made in the console is always that organisation's, whatever the form says.
"""

from __future__ import annotations

from tasks.mesa.members import organisation
from tasks.people.accounts import Account, add_user
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage.ledger import CivilSocietyAccount, session

ROLE = "cso"
"""A civil-society organisation's account (the column holds 12 characters: «civil_society» does not
fit on PostgreSQL)."""


def add_member_account(
    settings: Settings, plan: Plan, email: str, org: str, password: str
) -> tuple[Account, str]:
    """A console account for a representative of a civil-society organisation of the Mesa;
    the account and the organisation's code."""
    member = organisation(plan, org)
    account = add_user(settings, email, ROLE, password)
    with session(settings.database) as db:
        row = db.get(CivilSocietyAccount, account.email)
        if row is None:
            db.add(CivilSocietyAccount(email=account.email, organisation=member.code))
        else:
            row.organisation = member.code
    return account, member.code


def organisation_of(settings: Settings, email: str) -> str:
    """The organisation a civil-society account speaks for; empty for any other account."""
    with session(settings.database) as db:
        row = db.get(CivilSocietyAccount, email.strip().lower())
        return row.organisation if row else ""
