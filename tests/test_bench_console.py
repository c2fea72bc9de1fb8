"""The console benchmark runs: a smoke run of ten institutions, two users, one second of people
and one of stress.

It checks that ``hitos serve`` started in its own processes and that every request was answered
and counted, never how fast (BENCHMARKS.md has the measured run).
"""

from __future__ import annotations

from bench.console import run


def test_console_bench_serves_in_its_own_process_and_measures_people_and_stress():
    result = run(institutions=10, milestones=5, users=2, seconds=1, think=0.1, workers=2)

    assert result["milestones"] == 50 and result["workers"] == 2
    for mode, think in (("people", 0.1), ("stress", 0)):
        assert result[mode]["think_s"] == think
        for page in ("dashboard", "submission", "approve"):
            measure = result[mode]["pages"][page]
            assert measure["requests"] > 0, (mode, page)
            assert measure["errors"] == 0, (mode, page)
            assert measure["p95_ms"] >= measure["p50_ms"] > 0
