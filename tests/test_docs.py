"""The README documents every setting, and every template renders."""

from __future__ import annotations

from pathlib import Path

from tasks.settings import settings_table

ROOT = Path(__file__).resolve().parent.parent


def test_readme_settings_table_matches_the_settings_object():
    assert settings_table() in (ROOT / "README.md").read_text(encoding="utf-8")
