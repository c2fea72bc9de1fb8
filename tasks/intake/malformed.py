"""Messages intake cannot take apart: kept raw, shown to the operator, answered when possible.

A message whose MIME tree is broken used to be marked seen with nothing stored: the liaison
believed it delivered. It is read as far as it can be (``tasks.mail.parts``), and one with
defects and no usable file is recorded as kind ``malformed``, its raw bytes in the file store,
the reason in English for the operator, and a Spanish reply to a known contact.
"""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from tasks.catalogues import language_of, text
from tasks.mail.inbox import Received
from tasks.mail.outgoing import Outgoing, compose
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage import filestore
from tasks.storage.ledger import Email, InboundMessage, session

logger = logging.getLogger(__name__)

MALFORMED = "malformed"


def kept_malformed(db: Session, received: Received) -> dict[str, str]:
    """A malformed message's reason and raw bytes (in the file store), for its row."""
    if not received.problem:
        return {}
    logger.warning("message %s from %s: %s", received.message_id, received.sender, received.problem)
    return {
        "problem": received.problem,
        "raw_sha256": filestore.put(db, received.raw) if received.raw else "",
    }


def reply_key(message_id: str) -> str:
    digest = hashlib.sha256(message_id.encode()).hexdigest()[:16]
    return f"-/-/message/{digest}"


def unanswered_messages(settings: Settings, plan: Plan) -> list[Outgoing]:
    """A reply owed to each known contact whose message was malformed: their mail was not
    lost, but nothing could be taken from it. Strangers (and bounces) get nothing."""
    with session(settings.database) as db:
        answered = set(db.scalars(select(Email.key).where(Email.status.in_(("sent", "refused")))))
        messages = db.scalars(
            select(InboundMessage)
            .where(InboundMessage.kind == MALFORMED)
            .order_by(InboundMessage.received_at)
        ).all()
    language = language_of(settings, plan)
    mails = []
    for message in messages:
        institutions = plan.institutions_writing_from(message.sender)
        if not institutions or reply_key(message.message_id) in answered:
            continue
        mails.append(
            compose(
                "malformed",
                key=reply_key(message.message_id),
                kind=MALFORMED,
                to=[message.sender],
                subject=text(language, "subject.malformed"),
                institution_code=institutions[0],
                language=language,
                auto_submitted="auto-replied",
                in_reply_to=message.message_id if message.message_id.startswith("<") else "",
                references=message.message_id if message.message_id.startswith("<") else "",
                plan=plan,
                original_subject=message.subject,
                received_at=message.received_at,
            )
        )
    return mails


def malformed_messages(settings: Settings) -> list[InboundMessage]:
    """Every message recorded as malformed, newest first, for the operator."""
    with session(settings.database) as db:
        return list(
            db.scalars(
                select(InboundMessage)
                .where(InboundMessage.kind == MALFORMED)
                .order_by(InboundMessage.received_at.desc())
            )
        )
