"""The benchmark still runs: every stage at small sizes, every measure of its table filled in.

A smoke run, not a timed test: nothing here asserts how fast anything is.
"""

from __future__ import annotations

import pytest

from bench.runner import PLAIN_STAGES, SizeRun, orchestration_overhead, run_size
from bench.table import measures, table


def filled(runs: list[SizeRun], skip: set[str]) -> dict[str, float | None]:
    by_size = {run.institutions: run for run in runs}
    largest = runs[-1]
    return {m.label: m.value(largest, by_size) for m in measures() if m.label not in skip}


@pytest.mark.slow
def test_bench_measures_every_stage_and_ratio_at_small_sizes(tmp_path):
    runs = [run_size(tmp_path / f"n{n}", n, 20, flows=False, say=lambda _: None) for n in (1, 10)]

    for run in runs:
        assert set(PLAIN_STAGES) | {"plan-load"} <= set(run.stages)
        assert run.stages["open"]["emails"] == run.institutions
        assert run.stages["consolidate"]["items"] == 20 * run.institutions
    values = filled(runs, skip={"Prefect overhead (ms/institution)"})
    assert [label for label, value in values.items() if value is None] == []
    assert table(runs).row_count == len(measures())


@pytest.mark.slow
def test_bench_measures_prefect_overhead_with_the_real_flows(tmp_path):
    run = run_size(tmp_path / "n2", 2, 5, flows=True, say=lambda _: None)

    assert {"flow-open", "flow-rest"} <= set(run.stages)
    assert run.stages["flow-open"]["items"] == 2  # one request email per institution
    assert orchestration_overhead(run) is not None
