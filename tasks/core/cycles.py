"""A cycle's id and how people see it: ``2023-03`` of plan ``gt-pan5`` is ``gt-pan5/2023-03``."""

from __future__ import annotations

import re

CYCLE_ID = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
"""A reporting round is named by its year and month: ``2023-03``."""


def is_cycle_id(value: str) -> bool:
    return CYCLE_ID.fullmatch(value) is not None


def cycle_label(plan_id: str, cycle_id: str) -> str:
    """A cycle as people see it and keys name it: ``gt-pan5/2023-03``."""
    return f"{plan_id}/{cycle_id}"
