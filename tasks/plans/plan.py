"""The action plan: institutions, commitments and milestones, loaded from a YAML file."""

from __future__ import annotations

from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_YAML_NODES = 2_000_000
"""Most values a plan file may hold once its aliases are expanded: the largest plan measured
(the bench's 1,000 institutions, 20,000 milestones) holds about 335,000; a "billion laughs" of
nested aliases would hold billions and make every reader of the plan walk them."""


class PlanFileTooLarge(ValueError):
    """A plan file whose aliases expand beyond ``MAX_YAML_NODES`` values."""


class _Strict(BaseModel):
    """A key the model does not know is a mistake (``liasion:``), named, never ignored."""

    model_config = ConfigDict(extra="forbid")


class Contact(_Strict):
    name: str
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Institution(_Strict):
    code: str
    name: str
    liaison: Contact
    head: Contact
    sample: bool = False
    article: str | None = Field(
        None,
        description="The article its name takes in a sentence («el», «la», «» for none); "
        "unset: the language's rule for the name's first word (``grammar.articles``).",
    )


class Milestone(_Strict):
    code: str = Field(pattern=r"^\d+\.\d+$", description="Plan numbering, kept as text: 1.10")
    institution: str
    description: str
    start: date
    end: date
    expected_result: str = ""
    commitment: int = 0


class Commitment(_Strict):
    number: int
    ogp_id: str
    title: str
    leads: list[str]
    milestones: list[Milestone]
    sample: bool = False
    irm_cluster: str = ""
    """The IRM's cluster of related commitments, where the plan declares one; empty otherwise."""

    @property
    def code(self) -> str:
        return f"C{self.number:02d}"


class Coordinator(_Strict):
    institution: str
    director: Contact
    name: str = Field(
        "",
        description="The directorate as it signs its emails; empty: the coordinating "
        "institution's name.",
    )


PUBLIC, CIVIL_SOCIETY = "public", "civil_society"
"""The two halves of the Mesa Técnica: the State's institutions and civil society."""


class Member(_Strict):
    """A member of the Mesa Técnica: a public institution or a civil-society organisation.

    A member that is also an institution of the plan takes its name from there, and, without
    representatives of its own, is represented by its liaison in force
    (``tasks.mesa.members``). Representatives' contacts never reach a public file.
    """

    code: str
    kind: Literal["public", "civil_society"]
    name: str = ""
    representatives: list[Contact] = Field(default_factory=list)
    sample: bool = False


class Mesa(_Strict):
    """The body that meets twice a year about the plan: its name and its members."""

    name: str = "Mesa Técnica de Gobierno Abierto"
    members: list[Member] = Field(default_factory=list)


class Plan(_Strict):
    """An action plan as loaded and checked; read-only afterwards (its indexes are built once,
    on first use, so a plan changed in place would answer from stale ones)."""

    id: str
    name: str
    short_name: str = Field(
        "",
        description="How emails name the plan beside the cycle («5.º plan»); set it on each plan "
        "when one ledger holds several, so a liaison asked by two plans tells their emails apart.",
    )
    country: str
    timezone: str = "America/Guatemala"
    language: str = "es"
    start: date | None = Field(None, description="First day of the plan's period.")
    end: date | None = Field(None, description="Last day of the plan's period.")
    coordinator: Coordinator
    institutions: list[Institution]
    commitments: list[Commitment]
    mesa: Mesa = Field(default_factory=Mesa)

    @model_validator(mode="after")
    def _link_and_check(self) -> Plan:
        """Give each milestone its commitment and refuse references to unknown institutions."""
        known = {i.code for i in self.institutions}
        self._check_members(known)
        codes: set[str] = set()
        for commitment in self.commitments:
            for lead in commitment.leads:
                if lead not in known:
                    raise ValueError(f"commitment {commitment.number}: unknown lead {lead!r}")
            for milestone in commitment.milestones:
                milestone.commitment = commitment.number
                if milestone.institution not in known:
                    raise ValueError(
                        f"milestone {milestone.code}: unknown institution {milestone.institution!r}"
                    )
                if not milestone.code.startswith(f"{commitment.number}."):
                    raise ValueError(
                        f"milestone {milestone.code} is not numbered under commitment "
                        f"{commitment.number}"
                    )
                if milestone.code in codes:
                    raise ValueError(f"milestone {milestone.code} appears twice")
                codes.add(milestone.code)
        return self

    def _check_members(self, known: set[str]) -> None:
        """Members named once; a public member is an institution of the plan; every member has a
        name and someone to invite (its own representatives, or the liaison of its institution)."""
        seen: set[str] = set()
        for member in self.mesa.members:
            if member.code.lower() in seen:
                raise ValueError(f"member {member.code} of the Mesa appears twice")
            seen.add(member.code.lower())
            if member.kind == PUBLIC and member.code not in known:
                raise ValueError(f"public member {member.code!r} is not an institution of the plan")
            if not member.name:
                if member.code not in known:
                    raise ValueError(f"member {member.code!r} of the Mesa needs a name")
                member.name = next(i.name for i in self.institutions if i.code == member.code)
            if not member.representatives and member.code not in known:
                raise ValueError(f"member {member.code!r} of the Mesa needs representatives")

    def member(self, code: str) -> Member:
        """The Mesa's member by code or name, in any case; KeyError names the unknown one."""
        wanted = code.strip().lower()
        for member in self.mesa.members:
            if wanted in (member.code.lower(), member.name.lower()):
                return member
        raise KeyError(f"{code!r} is not a member of the Mesa of plan {self.id}")

    def name_of(self, code: str) -> str:
        """The name of an institution of the plan or of a member of its Mesa (who may own an
        agreement); KeyError names the unknown code."""
        found = self._institutions_by_code.get(code)
        return found.name if found is not None else self.member(code).name

    def civil_society(self) -> list[Member]:
        """The Mesa's civil-society organisations, in the plan's order."""
        return [m for m in self.mesa.members if m.kind == CIVIL_SOCIETY]

    @cached_property
    def milestones(self) -> list[Milestone]:
        return [m for c in self.commitments for m in c.milestones]

    @cached_property
    def _milestones_by_institution(self) -> dict[str, list[Milestone]]:
        """Built once: a scan of the plan per lookup cost 13 ms at 20,000 milestones."""
        grouped: dict[str, list[Milestone]] = {}
        for milestone in self.milestones:
            grouped.setdefault(milestone.institution, []).append(milestone)
        return grouped

    @cached_property
    def _institutions_by_code(self) -> dict[str, Institution]:
        return {i.code: i for i in self.institutions}

    @cached_property
    def _reporting(self) -> list[Institution]:
        responsible = {m.institution for m in self.milestones}
        return [i for i in self.institutions if i.code in responsible]

    @cached_property
    def _senders(self) -> dict[str, list[str]]:
        """Address (lower case) → reporting institutions whose liaison or head uses it."""
        found: dict[str, list[str]] = {}
        for i in self._reporting:
            for address in {i.liaison.email.lower(), i.head.email.lower()}:
                found.setdefault(address, []).append(i.code)
        return found

    @property
    def directorate(self) -> str:
        """Who signs the plan's emails: the coordinator's name, else its institution's."""
        if self.coordinator.name:
            return self.coordinator.name
        found = self._institutions_by_code.get(self.coordinator.institution)
        return found.name if found is not None else self.coordinator.institution

    def institution(self, code: str) -> Institution:
        found = self._institutions_by_code.get(code)
        if found is None:
            raise KeyError(f"institution {code!r} is not in plan {self.id}")
        return found

    @cached_property
    def _commitments_by_number(self) -> dict[int, Commitment]:
        return {c.number: c for c in self.commitments}

    def commitment(self, number: int) -> Commitment:
        found = self._commitments_by_number.get(number)
        if found is None:
            raise KeyError(f"commitment {number} is not in plan {self.id}")
        return found

    def milestones_of(self, institution: str) -> list[Milestone]:
        return list(self._milestones_by_institution.get(institution, []))

    def reporting_institutions(self) -> list[Institution]:
        """Institutions responsible for at least one milestone: the ones asked each cycle."""
        return list(self._reporting)

    def institutions_writing_from(self, address: str) -> list[str]:
        """Codes of the reporting institutions whose liaison or head writes from this address."""
        return list(self._senders.get(address.lower(), []))


def read_plan_yaml(path: Path) -> object:
    """A plan file's data, refused (``PlanFileTooLarge``) when its aliases expand beyond
    ``MAX_YAML_NODES``; libyaml's loader when present (4× faster, same types)."""
    with path.open(encoding="utf-8") as handle:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(handle)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            size = _expanded_size(node, {})
            if size > MAX_YAML_NODES:
                raise PlanFileTooLarge(
                    f"{path}: its aliases expand to {size:,} values (at most "
                    f"{MAX_YAML_NODES:,}): write the values out, or remove the aliases"
                )
            return loader.construct_document(node)
        finally:
            loader.dispose()


def _expanded_size(node: yaml.Node, seen: dict[int, int]) -> int:
    """How many values a node stands for once every alias is expanded (each node counted
    once per place it appears, computed once per node)."""
    if id(node) in seen:
        return seen[id(node)]
    seen[id(node)] = 1  # a node that contains itself counts once more, not for ever
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(item, seen) for item in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(k, seen) + _expanded_size(v, seen) for k, v in node.value)
    seen[id(node)] = size
    return size


def load_plan(path: Path) -> Plan:
    """The plan in a YAML file, checked."""
    return Plan.model_validate(read_plan_yaml(path))
