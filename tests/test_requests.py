"""Requests across cycles: the second cycle's workbook starts from the last accepted values."""

from __future__ import annotations

from datetime import date

from openpyxl import load_workbook
from sqlalchemy import select

from tasks.core.contract import state_code
from tasks.cycle.requests import build_request, build_request_batch, open_cycle_record
from tasks.storage.ledger import MilestoneValue, Request, session
from tasks.storage.queries import standing_files
from tasks.workbooks.layout import header
from tasks.workbooks.reading import read_submission
from tests.test_reminders import hand_in


def open_with_requests(settings, plan, cycle_id: str, opened: date):
    """The cycle opened as the flow opens it: every institution's request in one batch."""
    cycle = open_cycle_record(settings, plan, cycle_id, opened)
    institutions = plan.reporting_institutions()
    paths = build_request_batch(settings, plan, cycle, institutions)
    return cycle, {i.code: path for i, path in zip(institutions, paths, strict=True)}


def test_a_batch_built_again_gives_each_institution_the_workbook_it_was_sent(settings, plan):
    cycle, first = open_with_requests(settings, plan, "2023-03", date(2023, 3, 1))
    sent = {code: path.read_bytes() for code, path in first.items()}
    mingob = plan.institution("MINGOB")

    again = build_request_batch(settings, plan, cycle, plan.reporting_institutions())
    alone = build_request(settings, plan, cycle, mingob)

    assert {p.name: p.read_bytes() for p in again} == {p.name: sent[c] for c, p in first.items()}
    assert alone.read_bytes() == sent["MINGOB"]
    with session(settings.database) as db:
        rows = db.scalars(select(Request.institution).where(Request.cycle_id == "2023-03")).all()
    assert sorted(rows) == sorted(first)


def sheet_values(path) -> dict[str, tuple]:
    """Each milestone's state (as its code), progress and evidence, found by the headers."""
    sheet = load_workbook(path)["Hitos"]
    header_row, columns = header(sheet)
    assert header_row is not None
    rows = [
        {key: sheet.cell(row, column).value for key, column in columns.items()}
        for row in range(header_row + 1, sheet.max_row + 1)
    ]
    return {
        r["codigo_hito"]: (state_code(r["estado"]), int(r["avance_pct"]), r["evidencia_url"] or "")
        for r in rows
        if r["codigo_hito"]
    }


def test_second_cycle_workbook_is_prefilled_with_the_last_accepted_values(settings, plan):
    march, _ = open_with_requests(settings, plan, "2023-03", date(2023, 3, 1))
    hand_in(settings, plan, march, "MINGOB")
    hand_in(settings, plan, march, "MINEDUC", careless=True)
    with session(settings.database) as db:
        accepted = standing_files(db, "gt-pan5", "2023-03").get("MINGOB")
        assert accepted is not None
        reported = {
            v.milestone: (v.estado, int(v.avance_pct), v.evidencia_url or "")
            for v in db.query(MilestoneValue).filter_by(submission_id=accepted.id)
        }

    _, august = open_with_requests(settings, plan, "2023-08", date(2023, 8, 1))

    assert sheet_values(august["MINGOB"]) == reported
    assert {v[0] for v in reported.values()} != {"not_started"}
    assert {v[:2] for v in sheet_values(august["MINEDUC"]).values()} == {("not_started", 0)}


def test_prefilled_workbook_returned_unchanged_reads_back_as_the_same_values(settings, plan):
    march, _ = open_with_requests(settings, plan, "2023-03", date(2023, 3, 1))
    hand_in(settings, plan, march, "MINGOB")
    _, august = open_with_requests(settings, plan, "2023-08", date(2023, 8, 1))

    result = read_submission(august["MINGOB"].read_bytes(), august["MINGOB"].name)

    assert result.meta["cycle"] == "2023-08" and result.meta["institution"] == "MINGOB"
    read = {r.codigo_hito: (r.estado, int(r.avance_pct)) for r in result.rows.itertuples()}
    assert read == {code: v[:2] for code, v in sheet_values(august["MINGOB"]).items()}
