"""The console benchmark runs (a smoke run: ten institutions, two users, one second).

It checks that every request was answered and counted, never how fast (BENCHMARKS.md has the
measured run).
"""

from __future__ import annotations

from bench.console import run


def test_console_bench_signs_users_in_and_measures_both_pages_without_errors():
    result = run(institutions=10, milestones=5, users=2, seconds=1)

    assert result["milestones"] == 50
    for page in ("dashboard", "submission"):
        measure = result["pages"][page]
        assert measure["requests"] > 0
        assert measure["errors"] == 0
        assert measure["p95_ms"] >= measure["p50_ms"] > 0
