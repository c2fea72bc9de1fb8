"""The benchmark still runs: every stage at small sizes, every measure of its table filled in.

A smoke run, not a timed test: nothing here asserts how fast anything is.
"""

from __future__ import annotations

import pytest

from bench import peer
from bench.runner import PLAIN_STAGES, SizeRun, orchestration_overhead, run_size
from bench.table import measures, table


def filled(runs: list[SizeRun], skip: set[str]) -> dict[str, float | None]:
    by_size = {run.institutions: run for run in runs}
    largest = runs[-1]
    return {m.label: m.value(largest, by_size) for m in measures() if m.label not in skip}


@pytest.mark.slow
def test_bench_measures_every_stage_ratio_and_prefect_overhead_at_small_sizes(
    prefect_server, tmp_path
):
    # The real flows run at the larger size only, on the tests' Prefect server (a temporary one
    # per flow process is what the bench does, and 25 s each); five milestones an institution
    # (the PDF of the bench's 20 each takes WeasyPrint 9 s: nothing here is about the size).
    from prefect.settings import PREFECT_API_URL

    milestones = 5
    runs = [
        run_size(tmp_path / "n1", 1, milestones, flows=False, say=lambda _: None),
        run_size(
            tmp_path / "n10",
            10,
            milestones,
            flows=True,
            say=lambda _: None,
            prefect_api_url=str(PREFECT_API_URL.value()),
        ),
    ]

    for run in runs:
        assert set(PLAIN_STAGES) | {"plan-load"} <= set(run.stages)
        assert run.stages["open"]["emails"] == run.institutions
        assert run.stages["consolidate"]["items"] == milestones * run.institutions
    largest = runs[-1]
    assert {"flow-open", "flow-rest"} <= set(largest.stages)
    assert largest.stages["flow-open"]["items"] == 10  # one request email per institution
    assert orchestration_overhead(largest) is not None
    values = filled(runs, skip=set())
    assert [label for label, value in values.items() if value is None] == []
    assert table(runs).row_count == len(measures())

    # The peer on the same answers: Frictionless reads them all; Hitos stops every bad one.
    compared = peer.compare(tmp_path / "n10")
    assert compared.files == sum(largest.answers.values())
    assert compared.bad == largest.answers.get("careless", 0) + largest.answers.get("unreadable", 0)
    assert compared.hitos_caught == compared.bad
    assert compared.hitos_false_alarms == 0
    assert compared.frictionless_seconds > 0
