"""Synthetic inputs for the benchmarks: a plan of N institutions × M milestones, and the
workbooks those institutions send back, with a realistic share of mistakes.

Everything is seeded, so two runs of the same size see the same plan and the same answers.
"""

from __future__ import annotations

import json
import random
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import yaml

from tasks.cycle.requests import request_copy
from tasks.mail.inbox import open_maildir
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.simulation import filled_workbook

MILESTONES_PER_COMMITMENT = 5
CYCLE = "2023-03"
SILENT_SHARE = 0.05
"""Institutions that never answer (their milestones are «sin datos» in the report)."""
CARELESS_SHARE = 0.10
"""Answers with the mistakes liaisons make (Completado at 80 %, no evidence): rejected."""
STRANGER_SHARE = 0.03
"""Answers sent from an address not on the institution's contacts: held for an operator, no
reply, the liaison told once (``tasks.intake.senders``)."""
UNREADABLE_SHARE = 0.01
"""Answers whose attachment is damaged (a truncated .xlsx)."""


def institution_code(index: int) -> str:
    return f"I{index:04d}"


def plan_data(institutions: int, milestones: int, seed: int = 0) -> dict[str, Any]:
    """The plan as the YAML loader reads it: commitments of five milestones each."""
    rng = random.Random(seed)
    codes = [institution_code(i) for i in range(1, institutions + 1)]
    people = [
        {
            "code": code,
            "name": f"Institución sintética {code}",
            "sample": True,
            "liaison": {"name": f"Enlace {code}", "email": f"enlace@{code.lower()}.example"},
            "head": {"name": f"Despacho {code}", "email": f"despacho@{code.lower()}.example"},
        }
        for code in codes
    ]
    commitments: list[dict[str, Any]] = []
    number = 0
    for code in codes:
        left = milestones
        while left > 0:
            number += 1
            size = min(MILESTONES_PER_COMMITMENT, left)
            left -= size
            items = []
            for n in range(1, size + 1):
                start = date(2021, 12, 1) + timedelta(days=rng.randrange(0, 400))
                end = start + timedelta(days=rng.randrange(90, 700))
                items.append(
                    {
                        "code": f"{number}.{n}",
                        "institution": code,
                        "description": (
                            f"Hito {number}.{n}: publicar en datos abiertos el avance del "
                            f"servicio {rng.randrange(1000)} con participación ciudadana."
                        ),
                        "start": start.isoformat(),
                        "end": end.isoformat(),
                        "expected_result": "Informe publicado y verificado por la Mesa Técnica.",
                    }
                )
            commitments.append(
                {
                    "number": number,
                    "ogp_id": f"GT{number:04d}",
                    "title": f"Compromiso sintético {number} de transparencia y participación",
                    "leads": [code],
                    "milestones": items,
                    "sample": True,
                }
            )
    return {
        "id": "bench",
        "name": f"Plan sintético ({institutions} instituciones × {milestones} hitos)",
        "country": "GT",
        "timezone": "America/Guatemala",
        "language": "es",
        "coordinator": {
            "institution": codes[0],
            "director": {"name": "Director de Gobierno Abierto", "email": "director@gae.example"},
        },
        "institutions": people,
        "commitments": commitments,
    }


def write_plan(path: Path, institutions: int, milestones: int) -> Path:
    """The synthetic plan as YAML, where ``HITOS_PLAN`` can point at it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        yaml.dump(
            plan_data(institutions, milestones),
            handle,
            Dumper=yaml.CSafeDumper,
            allow_unicode=True,
            sort_keys=False,
        )
    return path


@dataclass(frozen=True)
class Answer:
    """What one institution sends back, and why (for the summary, never for the timing)."""

    institution: str
    kind: str  # correct, careless, stranger, unreadable
    sender: str
    data: bytes


def answer_kind(rng: random.Random) -> str:
    """silent, careless, stranger, unreadable or correct, in the shares above."""
    draw = rng.random()
    for kind, share in (
        ("silent", SILENT_SHARE),
        ("careless", CARELESS_SHARE),
        ("stranger", STRANGER_SHARE),
        ("unreadable", UNREADABLE_SHARE),
    ):
        if draw < share:
            return kind
        draw -= share
    return "correct"


def fill(job: tuple[str, str, str, Path]) -> Answer:
    """One institution's answer: its request workbook filled by simulation's helper."""
    code, kind, sender, request = job
    data = filled_workbook(request, code, careless=kind == "careless")
    if kind == "unreadable":
        data = data[: len(data) // 3]
    return Answer(code, kind, sender, data)


def answers(
    settings: Settings, plan: Plan, cycle_id: str = CYCLE, seed: int = 0, workers: int = 1
) -> list[Answer]:
    """Each answering institution's filled request workbook, mistakes included; the silent
    ones are left out. ``workers`` processes share the filling (it is set-up, not measured)."""
    rng = random.Random(seed)
    jobs = []
    for institution in plan.reporting_institutions():
        kind = answer_kind(rng)
        if kind == "silent":
            continue
        sender = (
            f"otra.persona@{institution.code.lower()}-personal.example"
            if kind == "stranger"
            else institution.liaison.email
        )
        request = request_copy(settings, plan, cycle_id, institution.code)
        jobs.append((institution.code, kind, sender, request))
    if workers <= 1 or len(jobs) < 50:
        return [fill(job) for job in jobs]
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        return list(pool.map(fill, jobs, chunksize=25))


def deliver_to_inbox(settings: Settings, found: list[Answer], cycle_id: str = CYCLE) -> Path:
    """File the answers in the directorate's Maildir, as the local SMTP server would."""
    inbox = settings.folder("mail", "inbox")
    box = open_maildir(inbox)
    for number, answer in enumerate(found, start=1):
        message = EmailMessage()
        message["From"] = answer.sender
        message["To"] = settings.sender
        message["Subject"] = f"RE: [Gobierno Abierto] Solicitud de avances · {answer.institution}"
        message["Message-ID"] = f"<bench-{cycle_id}-{number}@{answer.institution.lower()}.example>"
        message.set_content("Adjunto el reporte de avances.")
        message.add_attachment(
            answer.data,
            maintype="application",
            subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            filename=f"avances-{answer.institution}-{cycle_id}.xlsx",
        )
        box.add(message)
    return inbox


def write_answers(folder: Path, found: list[Answer], cycle_id: str = CYCLE) -> Path:
    """The same files as loose files, for timing the reader alone on exactly what intake reads."""
    folder.mkdir(parents=True, exist_ok=True)
    kinds = {}
    for answer in found:
        name = f"avances-{answer.institution}-{cycle_id}.xlsx"
        (folder / name).write_bytes(answer.data)
        kinds[name] = answer.kind
    # What each file is meant to be (careless, unreadable…): how a peer's catches are judged.
    (folder / "kinds.json").write_text(json.dumps(kinds, indent=1), encoding="utf-8")
    return folder
