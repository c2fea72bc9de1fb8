"""docs/settings.md documents every setting, the README links every page of docs/, and every
template renders."""

from __future__ import annotations

import re
from pathlib import Path

from tasks.settings import settings_table

ROOT = Path(__file__).resolve().parent.parent


def test_the_settings_page_matches_the_settings_object():
    assert settings_table() in (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")


def test_the_readme_links_every_page_of_the_docs():
    """A page nobody links is a page nobody reads: the README is the map."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert [p.name for p in (ROOT / "docs").glob("*.md") if f"(docs/{p.name})" not in readme] == []


def test_no_page_links_a_file_or_section_that_is_not_there():
    """Pages moved out of the README keep working links: every relative link points at a file,
    and every ``#anchor`` at one of that file's headings."""
    broken = []
    for page in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            missing = not linked.exists() or (
                bool(anchor) and linked.suffix == ".md" and anchor not in _anchors(linked)
            )
            if missing:
                broken.append(f"{page.name}: {target}")
    assert broken == []


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors for a page's headings."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}
