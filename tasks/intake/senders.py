"""Who may send a file for an institution, and who is answered at all.

Anyone who holds one workbook can write any address in ``From``. Taking the file with a warning
and answering that address let a stranger make the directorate's address mail anyone, once per
workbook attached. Now a file is taken for an institution only from an address Hitos knows for
it: one of its contacts, today or in its history (``tasks.people.contacts``), or anyone writing in
the thread of an email Hitos sent to that institution (whose Message-ID nobody can guess:
``tasks.mail.outgoing.message_id``). Any other file is quarantined for an operator, the
institution's liaison is told once (``tasks.intake.strangers``), and the stranger gets nothing.

The sender is the ``From`` address, and only it. ``Reply-To`` (where the writer wants answers)
and ``Sender`` (who sent on the writer's behalf) are the writer's say-so, no more checked than
``From``: believing either lets a stranger who names a liaison there be accepted, and answering
``Reply-To`` lets them aim Hitos' mail at anyone. A forged ``From`` is the mail server's to
refuse (SPF, DKIM, DMARC); when one gets through, the only reply goes to that ``From`` (the real
liaison, who then hears of a file they never sent), never to the forger.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tasks.plans.plan import Plan
from tasks.storage.ledger import ContactChange, Email, InboundMessage

HELD = "sender-unknown"
"""The finding of a file quarantined because its sender may not send for its institution."""

Answered = tuple[str | None, str | None, str | None]
"""Plan, cycle and institution of a Hitos email a received message answers."""


def answered_emails(db: Session, message_ids: Iterable[str]) -> dict[str, list[Answered]]:
    """Message-ID of a received message → the Hitos emails in its thread (its References),
    newest first; messages that answer none are left out."""
    references = {
        message_id: refs.split()
        for message_id, refs in db.execute(
            select(InboundMessage.message_id, InboundMessage.references).where(
                InboundMessage.message_id.in_(set(message_ids))
            )
        )
    }
    ours = {
        row.message_id: (row.plan_id, row.cycle_id, row.institution)
        for row in db.execute(
            select(Email.message_id, Email.plan_id, Email.cycle_id, Email.institution).where(
                Email.message_id.in_({r for refs in references.values() for r in refs})
            )
        )
    }
    found = {}
    for message_id, refs in references.items():
        answered = [ours[r] for r in reversed(refs) if r in ours]
        if answered:
            found[message_id] = answered
    return found


def contact_history(db: Session) -> dict[str, set[str]]:
    """Address → the institutions it was ever a contact of, from the recorded contact changes
    (whose first rows are the plan file's contacts)."""
    found: dict[str, set[str]] = {}
    for email, institution in db.execute(select(ContactChange.email, ContactChange.institution)):
        found.setdefault(email.lower(), set()).add(institution)
    return found


@dataclass
class Senders:
    """The addresses Hitos knows, read once per batch: the plans' contacts in force, every
    address in the contact history, and the Hitos emails each received message answers."""

    plans: list[Plan]
    history: dict[str, set[str]]
    threads: dict[str, list[Answered]]

    @classmethod
    def read(cls, db: Session, plans: Iterable[Plan], message_ids: Iterable[str]) -> Senders:
        return cls(list(plans), contact_history(db), answered_emails(db, message_ids))

    def contact_of(self, sender: str) -> set[str]:
        """The institutions whose liaison or head writes from this address today."""
        return {code for plan in self.plans for code in plan.institutions_writing_from(sender)}

    def may_send(self, sender: str, message_id: str, institution: str) -> bool:
        """Whether a file from ``sender`` in this message may be taken for the institution."""
        address = sender.lower()
        return bool(address) and (
            institution in self.contact_of(address)
            or institution in self.history.get(address, set())
            or any(code == institution for _, _, code in self.threads.get(message_id, []))
        )

    def known(self, sender: str, message_id: str) -> bool:
        """Whether Hitos may answer this message at all: its sender is (or was) a contact of
        some institution, or it answers an email Hitos sent."""
        address = sender.lower()
        return bool(address) and bool(
            self.contact_of(address) or self.history.get(address) or self.threads.get(message_id)
        )
