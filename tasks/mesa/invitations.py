"""Invitations to a session: an email to every member with an iCalendar event and the agenda.

The event (RFC 5545, built with ``icalendar``) carries the session's UID and SEQUENCE, its start
and end in the plan's time zone (with the zone's VTIMEZONE, so any calendar shows the local
time), the place, the director as organiser and every representative as attendee. A change is
sent under the same UID with a higher SEQUENCE (``METHOD:REQUEST``); a cancellation too, with
``METHOD:CANCEL`` and ``STATUS:CANCELLED``. Each email is keyed by the session, the SEQUENCE and
the member, so a rerun sends nothing twice.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from pathlib import Path

from icalendar import Calendar, Event, vCalAddress, vText

from tasks.catalogues import language_of, text
from tasks.mail.outgoing import Outgoing, compose, send_all
from tasks.mesa.members import representatives
from tasks.mesa.pack import folder, write_agenda
from tasks.mesa.sessions import CANCELLED, session_of, starts_at
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage.ledger import MesaSession, cycle_label

PRODUCT = "-//Hitos//Mesa Tecnica//ES"


def calendar(plan: Plan, found: MesaSession, language: str) -> bytes:
    """The session as an iCalendar object: a request, or a cancellation once cancelled."""
    cancelled = found.state == CANCELLED
    cal = Calendar()
    cal.add("prodid", PRODUCT)
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if cancelled else "REQUEST")
    event = Event()
    event.add("uid", found.uid)
    event.add("sequence", found.sequence)
    event.add("dtstamp", found.updated_at.replace(tzinfo=UTC))  # this SEQUENCE's own moment
    start = starts_at(plan, found)
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=found.minutes_long))
    event.add(
        "summary",
        text(language, "mesa.invitation.summary", mesa=plan.mesa.name, cycle_id=found.cycle_id),
    )
    event.add("location", found.place)
    event.add(
        "description",
        text(language, "mesa.invitation.description", plan=plan.name, cycle_id=found.cycle_id),
    )
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    director = plan.coordinator.director
    organiser = vCalAddress(f"mailto:{director.email}")
    organiser.params["cn"] = vText(director.name)
    event["organizer"] = organiser
    for member in plan.mesa.members:
        for person in representatives(plan, member):
            attendee = vCalAddress(f"mailto:{person.email}")
            attendee.params["cn"] = vText(person.name)
            attendee.params["role"] = vText("REQ-PARTICIPANT")
            attendee.params["partstat"] = vText("NEEDS-ACTION")
            attendee.params["rsvp"] = vText("TRUE")
            event.add("attendee", attendee, encode=False)
    cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()


def invitation_emails(
    settings: Settings, plan: Plan, found: MesaSession, agenda_pdf: Path | None
) -> list[Outgoing]:
    """One email per member (to its representatives), the event and the agenda attached."""
    language = language_of(settings, plan)
    target = folder(settings, plan, found.cycle_id) / "invitaciones" / str(found.sequence)
    target.mkdir(parents=True, exist_ok=True)
    event = target / "invitacion.ics"
    event.write_bytes(calendar(plan, found, language))
    cancelled = found.state == CANCELLED
    kind = "cancellation" if cancelled else "update" if found.sequence else "invitation"
    attachments = [event] + ([agenda_pdf] if agenda_pdf and not cancelled else [])
    mails = []
    for member in plan.mesa.members:
        people = representatives(plan, member)
        mails.append(
            compose(
                "mesa_invitation",
                key=f"{cycle_label(plan.id, found.cycle_id)}/{member.code}/mesa/{found.sequence}",
                kind="mesa-invitation",
                to=[p.email for p in people],
                subject=text(
                    language,
                    f"mesa.subject.{kind}",
                    mesa=plan.mesa.name,
                    day=found.day,
                    cycle_id=found.cycle_id,
                ),
                language=language,
                attachments=attachments,
                cycle_id=found.cycle_id,
                institution_code=member.code,
                plan=plan,
                session=found,
                member=member,
                people=people,
                notice=kind,
                starts=starts_at(plan, found),
            )
        )
    return mails


def invite(settings: Settings, plan: Plan, cycle_id: str) -> dict[str, str]:
    """Send the session's current invitation (or its update, or its cancellation) to every
    member; the status of each email."""
    found = session_of(settings, plan.id, cycle_id)
    if found is None:
        raise KeyError(f"cycle {cycle_id} has no session")
    agenda = None if found.state == CANCELLED else write_agenda(settings, plan, cycle_id)
    pdf = agenda["agenda_pdf"] if agenda else None
    return send_all(settings, invitation_emails(settings, plan, found, pdf))
