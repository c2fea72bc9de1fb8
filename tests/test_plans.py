"""The sample plan gt-pan5 and the rules every plan file obeys."""

import re
from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from tasks.plans.plan import Plan, load_plan

SAMPLE = Path(__file__).resolve().parents[1] / "plans" / "gt-pan5.yaml"

OGP_IDS = {number: f"GT{108 + number:04d}" for number in range(1, 13)}

# Milestones the plan has for each institution that reported at the Mesa Técnica of 29 March
# 2023 (the seed names MINTRAB 7.1, CONAMIGUA 8.1, CONADI 9.1 and CPCC 10.2-10.4: the others had
# not begun, tests/test_mesa_demo.py).
REPORTED = {
    "MINGOB": ["1.1", "1.2", "1.3", "1.4", "1.5"],
    "SESAN": ["3.1", "3.2"],
    "MINEDUC": ["4.1", "4.2", "4.3", "4.4", "4.5", "4.6"],
    "MINTRAB": ["7.1"],
    "CONAMIGUA": ["8.1"],
    "CONADI": ["9.1", "9.2", "9.3"],
    "CPCC": ["10.1", "10.2", "10.3", "10.4"],
}
EXACT = {"MINGOB", "SESAN", "MINEDUC", "CPCC"}


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(SAMPLE)


def write_plan(tmp_path: Path, code: str, institution: str = "MINGOB") -> Path:
    """A one-commitment plan whose single milestone has the given code and institution."""
    path = tmp_path / "plan.yaml"
    path.write_text(
        f"""
id: tiny
name: Plan mínimo
country: GT
coordinator:
  institution: MINGOB
  director: {{name: Dirección, email: director@gae.example}}
institutions:
  - code: MINGOB
    name: Ministerio de Gobernación
    liaison: {{name: Enlace, email: enlace@mingob.example}}
    head: {{name: Despacho, email: despacho@mingob.example}}
commitments:
  - number: 1
    ogp_id: GT0109
    title: Datos abiertos
    leads: [MINGOB]
    milestones:
      - code: {code}
        institution: {institution}
        description: Publicar datos.
        start: 2021-09-01
        end: 2022-02-28
""",
        encoding="utf-8",
    )
    return path


def test_sample_plan_describes_the_fifth_guatemalan_plan(plan: Plan) -> None:
    assert plan.id == "gt-pan5"
    assert plan.name == "Quinto Plan de Acción Nacional de Gobierno Abierto 2021-2023"
    assert (plan.country, plan.timezone, plan.language) == ("GT", "America/Guatemala", "es")
    assert plan.coordinator.institution == "GAE"
    assert plan.coordinator.director.name == "Director de Gobierno Abierto"
    assert plan.coordinator.director.email == "director@gae.example"


def test_sample_plan_has_twelve_commitments_with_their_ogp_ids(plan: Plan) -> None:
    assert {c.number: c.ogp_id for c in plan.commitments} == OGP_IDS


def test_sample_plan_lists_the_eleven_institutions(plan: Plan) -> None:
    assert {i.code for i in plan.institutions} == {
        "GAE", "MINGOB", "SESAN", "MINEDUC", "MSPAS", "MARN",
        "MINTRAB", "CONAMIGUA", "CONADI", "CPCC", "CoST",
    }  # fmt: skip


@pytest.mark.parametrize("institution", sorted(REPORTED))
def test_sample_plan_keeps_the_milestones_reported_in_march_2023(
    plan: Plan, institution: str
) -> None:
    codes = [m.code for m in plan.milestones_of(institution)]
    if institution in EXACT:
        assert codes == REPORTED[institution]
    else:
        assert codes[: len(REPORTED[institution])] == REPORTED[institution]


def test_sample_commitments_have_two_to_six_milestones(plan: Plan) -> None:
    assert all(2 <= len(c.milestones) <= 6 for c in plan.commitments)


def test_milestone_codes_are_text_numbered_under_their_commitment(plan: Plan) -> None:
    for commitment in plan.commitments:
        codes = [m.code for m in commitment.milestones]
        assert all(isinstance(code, str) and re.fullmatch(r"\d+\.\d+", code) for code in codes)
        assert codes == [f"{commitment.number}.{n}" for n in range(1, len(codes) + 1)]


def test_each_sample_milestone_belongs_to_a_lead_of_its_commitment(plan: Plan) -> None:
    for commitment in plan.commitments:
        assert {m.institution for m in commitment.milestones} <= set(commitment.leads)


def test_commitment_eleven_is_shared_by_gae_and_cost(plan: Plan) -> None:
    eleven = plan.commitment(11)
    assert eleven.leads == ["GAE", "CoST"]
    assert {m.institution for m in eleven.milestones} == {"GAE", "CoST"}


def test_sample_dates_fall_within_the_plan_period(plan: Plan) -> None:
    for m in plan.milestones:
        assert date(2021, 9, 1) <= m.start <= date(2023, 6, 30), m.code
        assert date(2022, 1, 1) <= m.end <= date(2023, 8, 31), m.code
        assert m.start < m.end, m.code


def test_sample_dates_let_the_march_2023_cycle_find_overdue_and_pending_milestones(
    plan: Plan,
) -> None:
    march_2023 = date(2023, 3, 1)
    assert sum(m.end < march_2023 for m in plan.milestones) >= 3
    assert sum(m.end >= march_2023 for m in plan.milestones) >= 5


def test_the_milestones_the_march_2023_mesa_did_not_hear_of_begin_after_it(plan: Plan) -> None:
    march_2023 = date(2023, 3, 1)
    later = {m.code for m in plan.milestones if m.start > march_2023}
    assert later == {"7.2", "7.3", "8.2", "8.3", "9.2", "9.3", "9.4", "10.1"}


def test_the_mesa_has_public_institutions_and_civil_society(plan: Plan) -> None:
    kinds = {m.code: m.kind for m in plan.mesa.members}
    assert kinds["MINGOB"] == "public" and kinds["CoST"] == "civil_society"
    assert [m.code for m in plan.civil_society()] == ["CoST", "OCGA"]
    assert plan.member("observatorio ciudadano de gobierno abierto").code == "OCGA"
    assert plan.member("cost").name.startswith("Iniciativa de Transparencia")


def test_refuses_a_public_member_that_is_not_an_institution(tmp_path: Path) -> None:
    path = write_plan(tmp_path, '"1.1"')
    path.write_text(
        path.read_text(encoding="utf-8") + "mesa:\n  members:\n    - {code: SAT, kind: public}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationError, match="public member 'SAT'"):
        load_plan(path)


def test_sample_milestones_have_a_description_and_an_expected_result(plan: Plan) -> None:
    assert all(m.description.strip() and m.expected_result.strip() for m in plan.milestones)


def test_invented_data_is_marked_as_sample(plan: Plan) -> None:
    assert plan.commitment(12).sample
    assert all(i.sample for i in plan.institutions)


def test_sample_contacts_use_the_reserved_example_domain(plan: Plan) -> None:
    contacts = [plan.coordinator.director]
    contacts += [c for i in plan.institutions for c in (i.liaison, i.head)]
    assert all(c.email.endswith(".example") for c in contacts)
    liaison = plan.institution("MINGOB").liaison
    assert liaison.email == "enlace@mingob.example"


def test_refuses_milestone_of_unknown_institution(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="unknown institution 'XYZ'"):
        load_plan(write_plan(tmp_path, '"1.1"', institution="XYZ"))


def test_quoted_code_1_10_survives_loading_as_text(tmp_path: Path) -> None:
    plan = load_plan(write_plan(tmp_path, '"1.10"'))
    assert plan.milestones[0].code == "1.10"


def test_refuses_unquoted_code_rather_than_reading_1_10_as_1_1(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="valid string"):
        load_plan(write_plan(tmp_path, "1.10"))
