"""The server bench's arithmetic: overhead per institution and ratio, per stage and in total.

The bench itself starts a Prefect server, two workers and a cycle at each size (minutes even at
N = 10), so ``make bench`` runs it, not the suite; what it concludes from its timings is here.
"""

from __future__ import annotations

from bench.server import STAGES, Comparison, summary, table


def measured() -> Comparison:
    """N = 100: each deployment run 2 s longer than its stage in-process, consolidation 4 s."""
    local = {"open": 3.0, "intake": 5.0, "remind": 1.0, "consolidate": 2.0}
    remote = {stage: seconds + 2.0 for stage, seconds in local.items()}
    remote["consolidate"] = 6.0
    running = {stage: seconds - 1.0 for stage, seconds in remote.items()}
    return Comparison(100, in_process=local, server=remote, server_in_run=running)


def test_the_overhead_is_the_extra_time_per_institution_in_ms():
    result = measured()

    assert result.overhead_ms("open") == 20.0  # 2 s over 100 institutions
    assert result.overhead_ms("consolidate") == 40.0
    assert result.overhead_ms() == 100.0  # 10 s more in all, over 100 institutions


def test_the_ratio_is_the_server_time_over_the_in_process_time():
    result = measured()

    assert result.ratio("remind") == 3.0
    assert result.ratio() == 21.0 / 11.0


def test_the_table_has_a_row_per_stage_and_a_total_per_size_and_the_summary_one_line():
    results = [measured(), Comparison(10, *(dict.fromkeys(STAGES, 1.0) for _ in range(3)))]

    assert table(results).row_count == 2 * (len(STAGES) + 1)
    line = summary(results)
    assert "\n" not in line
    assert "N=100: 100.0 ms/institution, ×1.91" in line
    assert "N=10: 0.0 ms/institution, ×1.00" in line
