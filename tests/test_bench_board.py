"""The board bench builds a real board from published versions (a smoke run, never timed)."""

from __future__ import annotations

import re

from bench.board import main


def test_board_bench_builds_every_page_of_the_published_cycles(capsys):
    assert main(["--institutions", "3", "--milestones", "2", "--cycles", "2"]) == 0

    line = capsys.readouterr().out.strip().splitlines()[-1]
    pages = int(re.search(r"(\d+) pages", line).group(1))  # type: ignore[union-attr]
    assert pages > 3 + 3  # home, OGP and downloads, plus a page per institution and commitment
