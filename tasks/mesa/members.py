"""Who sits on the Mesa and how each one is reached: members, owners of agreements, addresses.

A member that is an institution of the plan is represented by its liaison in force (the plan
handed here comes from ``tasks.people.contacts.current_plan``) unless the plan lists
representatives of its own. Addresses are for emails only: no public file ever receives one.
"""

from __future__ import annotations

from tasks.mesa.refused import MesaRefused
from tasks.plans.plan import CIVIL_SOCIETY, Contact, Member, Plan


def representatives(plan: Plan, member: Member) -> list[Contact]:
    """Whom the Mesa invites for this member: its own representatives, else its liaison."""
    if member.representatives:
        return list(member.representatives)
    return [plan.institution(member.code).liaison]


def owner_name(plan: Plan, code: str) -> str:
    """The name of an agreement's owner: an institution of the plan or a member of the Mesa."""
    return plan.name_of(code)


def owner_code(plan: Plan, given: str) -> str:
    """An owner as the plan spells it (institution or member, any case), or a refusal."""
    for institution in plan.institutions:
        if institution.code.lower() == given.strip().lower():
            return institution.code
    try:
        return plan.member(given).code
    except KeyError:
        raise MesaRefused(
            "unknown-owner",
            f"{given!r} is neither an institution of plan {plan.id} nor a member of its Mesa",
        ) from None


def owner_addresses(plan: Plan, code: str) -> list[str]:
    """Where an agreement's owner is emailed: the member's representatives, else the liaison."""
    try:
        return [c.email for c in representatives(plan, plan.member(code))]
    except KeyError:
        return [plan.institution(code).liaison.email]


def organisation(plan: Plan, given: str) -> Member:
    """The civil-society organisation named by code or name, or a refusal that lists them."""
    try:
        member = plan.member(given)
    except KeyError:
        member = None
    if member is None or member.kind != CIVIL_SOCIETY:
        known = ", ".join(m.code for m in plan.civil_society()) or "none"
        raise MesaRefused(
            "not-civil-society",
            f"{given!r} is not a civil-society organisation of the Mesa (organisations: {known})",
        )
    return member
