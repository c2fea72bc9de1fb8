"""The consolidated table and the figures, on a small ledger whose values are worked out by hand.

The ledger (SQLite in tmp_path) holds a seven-milestone plan and two cycles:

- 2022-08 (previous): MINGOB accepted twice (v2 is the latest), SEGEPLAN accepted once.
- 2023-03 (current, deadline Friday 24 March 2023, America/Guatemala = UTC-6):
  MINGOB accepted v1 at 05:59 UTC on the 25th (23:59 on the 24th in Guatemala: on time),
  a rejected v2, and an accepted v3 whose values are used;
  SEGEPLAN only a rejected file (its 2022-08 values are carried over as ultimo_conocido);
  SAT an unreadable file, then an accepted one at 06:00 UTC on the 25th (midnight in
  Guatemala: late); MSPAS never reports anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tasks.core.states import Delivery, ReportState
from tasks.plans.plan import Plan
from tasks.publication.consolidation import (
    PUBLISHED_COLUMNS,
    CommitmentFigures,
    Figures,
    InstitutionFigures,
    consolidated_table,
    earlier_cycles,
    figures,
    institution_figures,
    report_figures,
    used_submissions,
)
from tasks.storage.ledger import Cycle, MilestoneValue, Report, Submission, session

CURRENT = "2023-03"
PREVIOUS = "2022-08"
INJECTED_FORMULA = '=HYPERLINK("http://malo.example/robar","clic")'
INJECTED_MARKUP = "<script>alert('x')</script> Se publicó el primer informe."

PLAN: dict[str, Any] = {
    "id": "gt-prueba",
    "name": "Plan de prueba",
    "country": "GT",
    "coordinator": {
        "institution": "GAE",
        "director": {"name": "Directora Pérez", "email": "directora@gae.example"},
    },
    "institutions": [
        {
            "code": code,
            "name": name,
            "liaison": {"name": f"Enlace {code}", "email": f"enlace@{code.lower()}.example"},
            "head": {"name": f"Titular {code}", "email": f"titular@{code.lower()}.example"},
        }
        for code, name in [
            ("GAE", "Gobierno Abierto"),
            ("MINGOB", "Ministerio de Gobernación"),
            ("SEGEPLAN", "Secretaría de Planificación"),
            ("MSPAS", "Ministerio de Salud"),
            ("SAT", "Superintendencia de Administración Tributaria"),
        ]
    ],
    "commitments": [
        {
            "number": 1,
            "ogp_id": "GT0101",
            "title": "Transparencia en seguridad",
            "leads": ["MINGOB"],
            "milestones": [
                {"code": "1.1", "institution": "MINGOB", "description": "Publicar datos.",
                 "start": "2022-01-01", "end": "2022-12-31"},
                {"code": "1.2", "institution": "MINGOB", "description": "Abrir consultas.",
                 "start": "2022-06-01", "end": "2023-06-30"},
                {"code": "1.3", "institution": "SEGEPLAN", "description": "Evaluar.",
                 "start": "2022-03-01", "end": "2022-11-30"},
            ],
        },
        {
            "number": 2,
            "ogp_id": "GT0102",
            "title": "Datos abiertos",
            "leads": ["MSPAS"],
            "milestones": [
                {"code": "2.1", "institution": "SEGEPLAN", "description": "Inventario.",
                 "start": "2022-01-01", "end": "2023-12-31"},
                {"code": "2.2", "institution": "MSPAS", "description": "Catálogo.",
                 "start": "2022-01-01", "end": "2023-01-31"},
                {"code": "2.3", "institution": "SAT", "description": "Portal.",
                 "start": "2022-01-01", "end": "2023-02-28"},
                {"code": "2.10", "institution": "MSPAS", "description": "Tablero.",
                 "start": "2023-01-01", "end": "2024-06-30"},
            ],
        },
    ],
}  # fmt: skip


@dataclass
class Ledger:
    url: str
    plan: Plan
    ids: dict[str, int]
    """Submission ids by a readable key: ``MINGOB-2023-03-v3``."""

    def cycle(self, cycle_id: str = CURRENT) -> Cycle:
        with session(self.url) as db:
            found = db.get(Cycle, (self.plan.id, cycle_id))
            assert found is not None
            return found


def _submit(
    ids: dict[str, int],
    db,
    cycle: str,
    institution: str,
    version: int,
    outcome: str,
    received_at: datetime,
    values: dict[str, tuple[str, float]] | None = None,
    **texts: dict[str, str],
) -> None:
    """Record a submission with its milestone values: code → (estado, avance_pct)."""
    submission = Submission(
        sha256=f"{institution}{cycle}{version}".ljust(64, "0"),
        filename="libro.xlsx",
        sender=f"enlace@{institution.lower()}.example",
        channel="email",
        received_at=received_at,
        plan_id="gt-prueba",
        cycle_id=cycle,
        institution=institution,
        version=version,
        outcome=outcome,
        review="approved" if outcome.startswith("accepted") else "pending",
    )
    for code, (estado, avance) in (values or {}).items():
        started = estado != "No iniciado"
        default_url = f"https://{institution.lower()}.example/{code}" if started else ""
        submission.values.append(
            MilestoneValue(
                milestone=code,
                estado=estado,
                avance_pct=avance,
                descripcion_avance=texts.get("descripcion", {}).get(
                    code, "Avance." if started else ""
                ),
                evidencia_url=texts.get("evidencia", {}).get(code, default_url),
                observaciones=texts.get("observaciones", {}).get(code, ""),
            )
        )
    db.add(submission)
    db.flush()
    ids[f"{institution}-{cycle}-v{version}"] = submission.id


def build_ledger(tmp_path: Path, url: str = "") -> Ledger:
    """The ledger described in this module's docstring (SQLite in ``tmp_path`` unless ``url``)."""
    url = url or f"sqlite:///{tmp_path / 'hitos.db'}"
    ids: dict[str, int] = {}
    with session(url) as db:
        db.add(Cycle(id=PREVIOUS, plan_id="gt-prueba", opened_on=date(2022, 8, 1),
                     deadline=date(2022, 8, 12), state="consolidated"))  # fmt: skip
        db.add(Cycle(id=CURRENT, plan_id="gt-prueba", opened_on=date(2023, 3, 1),
                     deadline=date(2023, 3, 24)))  # fmt: skip
        db.flush()
        at = datetime(2022, 8, 10, 15, 0)
        _submit(ids, db, PREVIOUS, "MINGOB", 1, "accepted", at,
                {"1.1": ("Iniciado", 10), "1.2": ("No iniciado", 0)})  # fmt: skip
        _submit(ids, db, PREVIOUS, "MINGOB", 2, "accepted", at,
                {"1.1": ("Iniciado", 50), "1.2": ("No iniciado", 0)})  # fmt: skip
        _submit(ids, db, PREVIOUS, "SEGEPLAN", 1, "accepted_with_warnings", at,
                {"1.3": ("Iniciado", 40), "2.1": ("No iniciado", 0)})  # fmt: skip

        _submit(ids, db, CURRENT, "MINGOB", 1, "accepted", datetime(2023, 3, 25, 5, 59),
                {"1.1": ("Iniciado", 80), "1.2": ("Iniciado", 10)})  # fmt: skip
        _submit(ids, db, CURRENT, "MINGOB", 2, "rejected", datetime(2023, 3, 26, 12, 0))
        _submit(
            ids, db, CURRENT, "MINGOB", 3, "accepted_with_warnings", datetime(2023, 3, 27, 12, 0),
            {"1.1": ("Completado", 100), "1.2": ("Iniciado", 30)},
            descripcion={"1.2": INJECTED_MARKUP},
            observaciones={"1.2": INJECTED_FORMULA},
            evidencia={"1.2": "https://mingob.example/evidencia?a=1&b=2"},
        )  # fmt: skip
        _submit(ids, db, CURRENT, "SEGEPLAN", 1, "rejected", datetime(2023, 3, 20, 12, 0))
        _submit(ids, db, CURRENT, "SAT", 1, "unreadable", datetime(2023, 3, 20, 12, 0))
        _submit(ids, db, CURRENT, "SAT", 2, "accepted", datetime(2023, 3, 25, 6, 0),
                {"2.3": ("Completado", 100)},
                evidencia={"2.3": "javascript:alert(1)"})  # fmt: skip
    return Ledger(url, Plan.model_validate(PLAN), ids)


def record_report(ledger: Ledger, cycle_id: str, version: int, state: ReportState) -> None:
    """A report version of the cycle as consolidation records it, made from the files a
    consolidation reads now, in ``state`` (files are not needed to read its figures back)."""
    cycle = ledger.cycle(cycle_id)
    with session(ledger.url) as db:
        used = used_submissions(consolidated_table(db, ledger.plan, cycle))
        db.add(
            Report(
                plan_id=ledger.plan.id,
                cycle_id=cycle_id,
                version=version,
                submissions=used,
                sources=f"{cycle_id}-v{version}",
                state=state,
                files={},
            )
        )


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return build_ledger(tmp_path)


def consolidate(ledger: Ledger, cycle_id: str = CURRENT) -> tuple[pd.DataFrame, Figures]:
    cycle = ledger.cycle(cycle_id)
    with session(ledger.url) as db:
        table = consolidated_table(db, ledger.plan, cycle)
        return table, figures(ledger.plan, table, institution_figures(db, ledger.plan, cycle))


def by_code(table: pd.DataFrame) -> dict[str, dict[str, Any]]:
    return {row["codigo_hito"]: row for row in table.to_dict("records")}


def test_table_has_one_row_per_milestone_in_plan_order_with_the_documented_columns(ledger):
    table, _ = consolidate(ledger)

    assert list(table.columns) == PUBLISHED_COLUMNS
    assert list(table["codigo_hito"]) == ["1.1", "1.2", "1.3", "2.1", "2.2", "2.3", "2.10"]
    assert set(table["ciclo"]) == {CURRENT}
    first = by_code(table)["1.1"]
    assert (first["codigo_compromiso"], first["compromiso_ogp"]) == ("C01", "GT0101")
    assert (first["compromiso"], first["hito"]) == ("Transparencia en seguridad", "Publicar datos.")
    assert (first["fecha_inicio"], first["fecha_fin"]) == ("2022-01-01", "2022-12-31")


def test_uses_the_latest_accepted_submission_of_each_institution(ledger):
    rows = by_code(consolidate(ledger)[0])

    # MINGOB v1 said 1.1 = 80; v2 was rejected; v3 (latest accepted) says 100.
    assert (rows["1.1"]["estado"], rows["1.1"]["avance_pct"]) == ("completed", 100.0)
    assert rows["1.1"]["envio"] == ledger.ids["MINGOB-2023-03-v3"]
    assert rows["1.2"]["observaciones"] == INJECTED_FORMULA
    assert rows["1.2"]["descripcion_avance"] == INJECTED_MARKUP
    assert rows["2.3"]["envio"] == ledger.ids["SAT-2023-03-v2"]
    assert {rows[c]["fuente"] for c in ("1.1", "1.2", "2.3")} == {"reportado"}


def test_compares_with_the_previous_cycles_latest_accepted_submission(ledger):
    rows = by_code(consolidate(ledger)[0])

    # 2022-08 MINGOB v2 (not v1's 10) said 1.1 = 50 and 1.2 = 0.
    assert (rows["1.1"]["avance_anterior"], rows["1.1"]["cambio_pct"]) == (50.0, 50.0)  # 100 - 50
    assert (rows["1.2"]["avance_anterior"], rows["1.2"]["cambio_pct"]) == (0.0, 30.0)  # 30 - 0
    # SAT did not report in 2022-08: nothing to compare with.
    assert pd.isna(rows["2.3"]["avance_anterior"])
    assert pd.isna(rows["2.3"]["cambio_pct"])


def test_carries_over_last_known_values_of_an_institution_missing_this_cycle(ledger):
    rows = by_code(consolidate(ledger)[0])

    # SEGEPLAN's only file this cycle was rejected: its 2022-08 values stay, marked as such.
    assert rows["1.3"]["fuente"] == rows["2.1"]["fuente"] == "ultimo_conocido"
    assert (rows["1.3"]["estado"], rows["1.3"]["avance_pct"]) == ("started", 40.0)
    assert (rows["2.1"]["estado"], rows["2.1"]["avance_pct"]) == ("not_started", 0.0)
    assert rows["1.3"]["cambio_pct"] == 0.0  # 40 - 40: nothing new was reported
    assert rows["1.3"]["envio"] == ledger.ids["SEGEPLAN-2022-08-v1"]


def test_marks_milestones_of_an_institution_that_never_reported_as_without_data(ledger):
    rows = by_code(consolidate(ledger)[0])

    for code in ("2.2", "2.10"):
        assert rows[code]["fuente"] == "sin_datos"
        assert rows[code]["estado"] == ""
        assert pd.isna(rows[code]["avance_pct"])
        assert pd.isna(rows[code]["envio"])
        assert rows[code]["descripcion_avance"] == rows[code]["evidencia_url"] == ""


def test_flags_overdue_milestones_that_ended_before_the_deadline_and_are_not_completed(ledger):
    rows = by_code(consolidate(ledger)[0])

    # Deadline 2023-03-24. 1.3 ended 2022-11-30, Iniciado; 2.2 ended 2023-01-31, no data.
    # 1.1 (2022-12-31) and 2.3 (2023-02-28) also ended, but are Completado.
    overdue = [code for code, row in rows.items() if row["vencido"]]
    assert overdue == ["1.3", "2.2"]


def test_never_includes_contacts_or_senders(ledger):
    table, _ = consolidate(ledger)
    text = table.to_csv()

    for institution in PLAN["institutions"]:
        for contact in ("liaison", "head"):
            assert institution[contact]["name"] not in text
            assert institution[contact]["email"] not in text
    assert "directora" not in text.lower()


def test_used_submissions_are_the_ones_whose_values_the_table_shows(ledger):
    table, _ = consolidate(ledger)
    used = used_submissions(table)

    expected = sorted(
        ledger.ids[key] for key in ("MINGOB-2023-03-v3", "SEGEPLAN-2022-08-v1", "SAT-2023-03-v2")
    )
    assert used == expected


def test_figures_match_the_arithmetic_done_by_hand(ledger):
    _, result = consolidate(ledger)

    # Completado: 1.1 and 2.3, of 7 milestones → 2 / 7 = 28.571…% → 28.57.
    assert result.milestones == 7
    assert result.headline == 28.57
    # Iniciado: 1.2 (30), 1.3 (40); No iniciado: 2.1; Sin datos: 2.2, 2.10.
    assert result.counts == {"not_started": 1, "started": 2, "completed": 2, "no_data": 2}
    assert result.overdue == 2  # 1.3 and 2.2
    assert result.changed == 2  # 1.1 (+50) and 1.2 (+30); 1.3, 2.1 are 0; 2.3 has no previous
    assert result.commitments == [
        # (100 + 30 + 40) / 3 = 56.666… → 56.67
        CommitmentFigures(1, "C01", "GT0101", "Transparencia en seguridad", 0, 2, 1, 0, 56.67),
        # (0 + 0 [2.2 no data] + 100 + 0 [2.10 no data]) / 4 = 25.00
        CommitmentFigures(2, "C02", "GT0102", "Datos abiertos", 1, 0, 1, 2, 25.0),
    ]  # fmt: skip


def test_delivery_is_judged_at_the_end_of_the_deadline_day_in_the_plans_time_zone(ledger):
    _, result = consolidate(ledger)

    # GAE has no milestone, so it is not asked and not listed.
    late, on_time, missing = Delivery.LATE, Delivery.ON_TIME, Delivery.NOT_DELIVERED
    assert result.institutions == [
        # First accepted: 2023-03-25 05:59 UTC = 2023-03-24 23:59 in Guatemala → on time.
        # 3 files, 1 rejected.
        InstitutionFigures("MINGOB", "Ministerio de Gobernación", 2, on_time, 3, 1),
        # One rejected file, nothing accepted.
        InstitutionFigures("SEGEPLAN", "Secretaría de Planificación", 2, missing, 1, 1),
        InstitutionFigures("MSPAS", "Ministerio de Salud", 2, missing, 0, 0),
        # Accepted at 2023-03-25 06:00 UTC = 2023-03-25 00:00 in Guatemala → late;
        # the unreadable file counts as a rejection.
        InstitutionFigures("SAT", "Superintendencia de Administración Tributaria", 1, late, 2, 1),
    ]


def test_first_cycle_has_no_previous_values(ledger):
    table, result = consolidate(ledger, PREVIOUS)

    assert table["avance_anterior"].isna().all()
    assert result.changed == 0
    # Only 2022-08 files count: MINGOB v2 (1.1, 1.2) and SEGEPLAN (1.3, 2.1) reported.
    assert list(table["fuente"]) == ["reportado"] * 4 + ["sin_datos"] * 3


def test_the_change_since_the_last_cycle_compares_with_what_was_published(ledger):
    # 2022-08 was published with MINGOB's first file (1.1 at 10 %); its second file (50 %) was
    # approved after. The public saw 10 %: the change since then is counted from 10, not 50.
    with session(ledger.url) as db:
        db.add(
            Report(
                plan_id="gt-prueba",
                cycle_id=PREVIOUS,
                version=1,
                submissions=[ledger.ids[f"MINGOB-{PREVIOUS}-v1"]],
                sources="publicado",
                files={},
                state="published",
            )
        )

    table, _ = consolidate(ledger)

    rows = by_code(table)
    assert (rows["1.1"]["avance_anterior"], rows["1.1"]["cambio_pct"]) == (10.0, 90.0)


def test_a_report_compares_with_the_previous_cycle_as_its_published_version_showed_it(ledger):
    record_report(ledger, PREVIOUS, 1, ReportState.PUBLISHED)
    table, _ = consolidate(ledger)
    cycle = ledger.cycle()
    with session(ledger.url) as db:
        result = report_figures(
            db, ledger.plan, cycle, table, institution_figures(db, ledger.plan, cycle)
        )

    # 2022-08: 1.1 Iniciado 50, 1.2 No iniciado 0 (MINGOB v2), 1.3 Iniciado 40, 2.1 No iniciado
    # 0 (SEGEPLAN); 2.2, 2.3 and 2.10 without data. Nothing completed.
    [previous] = result.history
    assert (previous.cycle_id, previous.version, previous.milestones) == (PREVIOUS, 1, 7)
    assert previous.counts == {"not_started": 2, "started": 2, "completed": 0, "no_data": 3}
    assert previous.headline == 0.0
    assert previous.commitments == {"C01": 30.0, "C02": 0.0}  # (50 + 0 + 40) / 3; 2.1 said 0
    assert result.previous == previous
    assert result.headline_change == 28.57  # 28.57 − 0
    c01, c02 = result.commitments
    assert (c01.avance_anterior, c01.cambio_pct) == (30.0, 26.67)  # 56.67 − 30
    assert (c02.avance_anterior, c02.cambio_pct) == (0.0, 25.0)
    # Where each value shown comes from: SEGEPLAN's are last known, from 2022-08.
    assert result.source_cycles == {
        ledger.ids["MINGOB-2023-03-v3"]: CURRENT,
        ledger.ids["SEGEPLAN-2022-08-v1"]: PREVIOUS,
        ledger.ids["SAT-2023-03-v2"]: CURRENT,
    }


def test_a_cycle_never_published_is_compared_with_as_its_milestones_are_but_not_charted(ledger):
    record_report(ledger, PREVIOUS, 1, ReportState.DRAFT)
    cycle = ledger.cycle()
    with session(ledger.url) as db:
        assert earlier_cycles(db, ledger.plan, cycle) == []
        table = consolidated_table(db, ledger.plan, cycle)
        result = report_figures(
            db, ledger.plan, cycle, table, institution_figures(db, ledger.plan, cycle)
        )

    # As each milestone's avance_anterior: what consolidating 2022-08 reads (the same files).
    assert result.history == []
    assert result.previous is not None and result.previous.version is None
    assert (result.previous.headline, result.headline_change) == (0.0, 28.57)
    assert [c.cambio_pct for c in result.commitments] == [26.67, 25.0]


def test_the_newest_public_version_of_an_earlier_cycle_is_the_one_compared_with(ledger):
    record_report(ledger, PREVIOUS, 1, ReportState.SUPERSEDED)
    record_report(ledger, PREVIOUS, 2, ReportState.PUBLISHED)
    record_report(ledger, PREVIOUS, 3, ReportState.DRAFT)
    with session(ledger.url) as db:
        [previous] = earlier_cycles(db, ledger.plan, ledger.cycle())

    assert previous.version == 2


def test_a_commitment_without_any_data_has_no_progress_and_no_change():
    never = CommitmentFigures(6, "C06", "GT0114", "Ambiente", 0, 0, 0, 3, 0.0, avance_anterior=0.0)
    reported_zero = CommitmentFigures(6, "C06", "GT0114", "Ambiente", 3, 0, 0, 0, 0.0, 0.0)

    assert not never.with_data and never.cambio_pct is None
    assert reported_zero.with_data and reported_zero.cambio_pct == 0.0
