"""The reader and intake, fuzzed (Hypothesis): whatever arrives ends in a recorded outcome.

Random bytes, truncated and mutated real workbooks, CSV in random dialects and encodings, and
random MIME trees and header bytes. The reader either reads rows (within the limits) or refuses
the file with ``UnreadableFile``, never another exception; intake stores every message, records
an outcome for each file (or ``malformed`` for a message it cannot take apart), never leaves one
``received``. ``make test`` runs the ``ci`` profile (tests/conftest.py); ``HITOS_HYPOTHESIS=long``
searches longer.
"""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import date
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from bench.heavy_files import big_xlsx
from tasks.core import contract
from tasks.cycle.intake import process, store_all
from tasks.cycle.requests import build_request, open_cycle_record
from tasks.mail.inbox import open_maildir, received
from tasks.plans.plan import load_plan
from tasks.settings import Settings
from tasks.storage.ledger import InboundMessage, Submission, session
from tasks.workbooks.limits import Limits
from tasks.workbooks.reading import UnreadableFile, read_submission
from tests.conftest import SAMPLE_PLAN
from tests.network import free_port

LIMITS = Limits(rows=200, columns=30, cells=3000, seconds=20)
PLAN = load_plan(SAMPLE_PLAN)


def _request_workbook() -> bytes:
    """MINGOB's real signed request workbook, built once in a scratch workspace."""
    home = Path(tempfile.mkdtemp(prefix="hitos-fuzz-")) / "ws"
    settings = Settings(home=home, plan=SAMPLE_PLAN)
    cycle = open_cycle_record(settings, PLAN, "2023-03", date(2023, 3, 1))
    return build_request(settings, PLAN, cycle, PLAN.institution("MINGOB")).read_bytes()


REAL = {"request.xlsx": _request_workbook(), "plain.xlsx": big_xlsx(20)}
NAMES = st.sampled_from(["a.xlsx", "a.csv", "a.xls", "a.txt", "", "datos"])


def read_or_refuse(data: bytes, name: str) -> None:
    """The reader's contract: rows within the limits, or ``UnreadableFile``; nothing else."""
    try:
        result = read_submission(data, name, limits=LIMITS)
    except UnreadableFile as refused:
        assert refused.reason and refused.rule
        return
    assert len(result.rows) <= LIMITS.rows
    assert all(f.rule for f in result.findings)


@given(st.binary(max_size=4096), NAMES)
def test_random_bytes_are_read_or_refused(data, name):
    read_or_refuse(data, name)


@given(st.sampled_from(sorted(REAL)), st.floats(0, 1), NAMES)
def test_truncated_workbooks_are_read_or_refused(which, fraction, name):
    data = REAL[which]
    read_or_refuse(data[: int(len(data) * fraction)], name)


@given(
    st.sampled_from(sorted(REAL)),
    st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=20),
)
def test_mutated_workbooks_are_read_or_refused(which, changes):
    data = bytearray(REAL[which])
    for where, byte in changes:
        data[int(where * len(data))] = byte
    read_or_refuse(bytes(data), "avances.xlsx")


CELL = (
    st.text(max_size=30)
    | st.integers(-200, 200).map(str)
    | st.sampled_from(
        ["Iniciado", "completado", "50%", "50,0", "1.10", "01/03/2023", '"', "\r", "=1+1"]
    )
)


HEADERS = [
    contract.KEYS,
    *([column.label(language) for column in contract.COLUMNS] for language in ("es", "en")),
]
"""The header rows a CSV may carry: the contract's keys, or its labels in either language."""


def test_the_csv_headers_the_fuzzer_writes_are_the_contracts():
    everything = {key: position for position, key in enumerate(contract.KEYS)}
    for header in HEADERS:
        assert contract.find_header([header]) == (0, everything), header


@given(
    st.lists(st.lists(CELL, max_size=12), max_size=30),
    st.sampled_from([",", ";", "\t"]),
    st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"]),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]),
    st.sampled_from([None, *HEADERS]),
)
def test_csv_in_any_dialect_and_encoding_is_read_or_refused(
    rows, delimiter, encoding, newline, quoting, header
):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=newline, quoting=quoting)
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    read_or_refuse(out.getvalue().encode(encoding, "replace"), "avances.csv")


HEADER_BYTES = st.binary(max_size=80).map(lambda b: b.replace(b"\n", b" "))
FILENAMES = st.text(max_size=300) | st.sampled_from(["avances.xlsx", "a\x00b.csv", "../x.xlsx"])


@st.composite
def mime_trees(draw: st.DrawFn) -> bytes:
    """A message with a random tree of parts, random file names and bytes, and random raw
    bytes in its Subject and From headers; sometimes its boundary torn out."""
    message = EmailMessage()
    message["To"] = "gobiernoabierto@gae.example"
    message["Message-ID"] = f"<{draw(st.integers(0, 10**9))}@fuzz.example>"
    message.set_content(draw(st.text(max_size=50)))
    names: dict[bytes, bytes] = {}
    for n in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            inner = EmailMessage()
            inner["Subject"] = "reenviado"
            inner.set_content("x")
            inner.add_attachment(draw(st.binary(max_size=300)), "application", "octet-stream")
            message.add_attachment(inner)
        else:
            data = draw(st.sampled_from([*REAL.values(), b""]) | st.binary(max_size=300))
            placeholder = f"file{n}.bin"
            message.add_attachment(data, "application", "octet-stream", filename=placeholder)
            # The name as raw bytes, as a careless client writes it (only line ends removed).
            typed = draw(FILENAMES).encode("utf-8", "surrogateescape")
            names[placeholder.encode()] = typed.replace(b"\r", b"").replace(b"\n", b"")
    for n, part in enumerate(message.walk()):  # fixed boundaries: email would draw random ones
        if part.is_multipart():
            part.set_boundary(f"=={n}==")
    raw = message.as_bytes()
    for marker, typed_name in names.items():
        raw = raw.replace(marker, typed_name)
    raw = b"From: " + draw(HEADER_BYTES) + b"\nSubject: " + draw(HEADER_BYTES) + b"\n" + raw
    if draw(st.booleans()):
        raw = raw.replace(b"boundary=", b"frontera=", 1)
    if draw(st.booleans()):
        raw = raw[: draw(st.integers(0, len(raw)))]
    return raw


@given(mime_trees())
def test_any_message_is_taken_apart_without_raising(raw):
    taken = received(message_from_bytes(raw), "mail", raw)

    assert "\x00" not in taken.sender + taken.subject
    assert all("\x00" not in a.filename and "/" not in a.filename for a in taken.attachments)


@given(st.lists(mime_trees(), min_size=1, max_size=4))
def test_every_message_of_a_batch_ends_in_a_recorded_outcome(raws):
    home = Path(tempfile.mkdtemp(prefix="hitos-fuzz-")) / "ws"
    settings = Settings(home=home, smtp_port=free_port(), plan=SAMPLE_PLAN)
    open_cycle_record(settings, PLAN, "2023-03", date(2023, 3, 1))
    box = open_maildir(settings.folder("mail", "inbox"))
    for raw in raws:
        box.add(raw)

    store_all(settings)
    outcomes = process(settings, PLAN)

    with session(settings.database) as db:
        subs = list(db.scalars(select(Submission)))
        messages = list(db.scalars(select(InboundMessage)))
    assert {o.submission_id for o in outcomes} == {s.id for s in subs}
    assert all(s.outcome != "received" for s in subs)
    assert len(messages) == len({m.message_id for m in messages}) >= 1
    assert list((settings.home / "mail" / "inbox" / "new").iterdir()) == []
