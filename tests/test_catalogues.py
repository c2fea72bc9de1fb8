"""Every language says everything: catalogues and templates complete, formatting per locale."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
import yaml
from jinja2 import meta

from tasks import catalogues
from tasks.catalogues import LANGUAGES, SOURCE, TEMPLATES, UnknownLanguage, language_of
from tasks.checks.findings import finding
from tasks.plans.plan import load_plan
from tasks.rendering import render
from tasks.settings import Settings

OTHERS = [language for language in LANGUAGES if language != SOURCE]
# Templates people read: the source language's in templates/, each other language's beside them.
READ_BY_PEOPLE = ("email/", "workbook_instructions", "report", "_report_")
NEUTRAL = {"_report_style.css", "_findings.html"}
"""Templates shared by every language: each word they show comes from t()."""


def _people_templates() -> list[str]:
    return sorted(
        str(path.relative_to(TEMPLATES))
        for path in TEMPLATES.rglob("*")
        if path.is_file()
        and path.parent.relative_to(TEMPLATES).parts[:1] not in [(lang,) for lang in LANGUAGES]
        and str(path.relative_to(TEMPLATES)).startswith(READ_BY_PEOPLE)
        and path.name not in NEUTRAL
    )


@pytest.mark.parametrize("language", OTHERS)
def test_every_catalogue_key_exists_in_every_language(language):
    source, other = set(catalogues.messages(SOURCE)), set(catalogues.messages(language))
    assert source - other == set(), f"{language}.yaml lacks keys"
    assert other - source == set(), f"{SOURCE}.yaml lacks keys"


@pytest.mark.parametrize("language", OTHERS)
def test_every_finding_rule_has_a_message_in_every_language(language):
    def rules(code: str) -> set[str]:
        with (TEMPLATES / f"findings.{code}.yaml").open(encoding="utf-8") as handle:
            return set(yaml.safe_load(handle))

    assert rules(SOURCE) ^ rules(language) == set()


@pytest.mark.parametrize("language", OTHERS)
def test_every_template_people_read_has_a_version_in_every_language(language):
    names = _people_templates()
    assert {"email/request.html", "workbook_instructions.txt", "report.html"} <= set(names)
    missing = [name for name in names if not (TEMPLATES / language / name).exists()]
    assert missing == []


def test_the_catalogue_completeness_check_notices_a_missing_key(tmp_path, monkeypatch):
    (tmp_path / "es.yaml").write_text("a: uno\nb:\n  c: dos\n", encoding="utf-8")
    (tmp_path / "en.yaml").write_text("a: one\n", encoding="utf-8")
    monkeypatch.setattr(catalogues, "MESSAGES", tmp_path)
    catalogues.messages.cache_clear()
    try:
        assert set(catalogues.messages("es")) - set(catalogues.messages("en")) == {"b.c"}
    finally:
        catalogues.messages.cache_clear()


# Values of the right type for the names texts use with a filter; any other name gets "x".
TYPED = {
    "cycle_id": "2023-03",
    "cycle": "2023-03",
    "deadline": date(2023, 3, 24),
    "low": 0,
    "high": 100,
    "version": 1,
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_catalogue_text_renders(language):
    env = catalogues.formatting_environment(language)
    for key, value in catalogues.messages(language).items():
        if not isinstance(value, str) or key.startswith("formats."):
            continue
        names = meta.find_undeclared_variables(env.parse(value)) - {"t"}
        rendered = catalogues.text(language, key, **{n: TYPED.get(n, "x") for n in names})
        assert rendered, key


def test_plan_language_is_the_default_and_the_setting_overrides_it(monkeypatch):
    plan = load_plan(Settings().plan).model_copy(update={"language": "en"})
    monkeypatch.delenv("HITOS_LANGUAGE", raising=False)
    assert language_of(Settings(), plan) == "en"
    monkeypatch.setenv("HITOS_LANGUAGE", "es")
    assert language_of(Settings(), plan) == "es"
    monkeypatch.setenv("HITOS_LANGUAGE", "fr")
    with pytest.raises(UnknownLanguage, match="'fr' has no catalogue"):
        language_of(Settings(), plan)


def test_dates_and_numbers_follow_the_locale():
    day = date(2023, 3, 24)
    assert catalogues.long_date(day, "es") == "viernes 24 de marzo de 2023"
    assert catalogues.long_date(day, "en") == "Friday 24 March 2023"
    assert catalogues.short_date(day, "es") == "24/03/2023"
    assert catalogues.short_date(day, "en") == "24 Mar 2023"
    assert catalogues.month_year("2023-03", "es") == "marzo 2023"
    assert catalogues.month_year("2023-03", "en") == "March 2023"
    assert catalogues.percent(54.1666, 2, "es") == "54,17 %"
    assert catalogues.percent(54.1666, 2, "en") == "54.17%"


def test_english_templates_and_findings_are_english():
    plan = load_plan(Settings().plan)
    message = finding("milestone-absent", milestone="4.2", language="en").message
    assert message.startswith("The row of milestone 4.2 is missing")
    page = render("email/_findings.txt", "en", findings=[finding("sheet-missing", language="en")])
    assert "«Milestones»" in page and "ERROR" in page
    assert Path(TEMPLATES / "en" / "email" / "request.html").exists()
    assert plan.language == "es"


def test_why_a_file_is_unreadable_is_said_in_the_liaisons_language():
    from tasks.workbooks.reading import UnreadableFile, read_submission

    with pytest.raises(UnreadableFile) as raised:
        read_submission(b"%PDF-1.4 not a workbook", "avance.pdf")

    problem = finding(
        raised.value.rule,
        filename="avance.pdf",
        reason=raised.value.reason_in("en"),
        language="en",
    )
    assert problem.message.startswith("We could not open the file «avance.pdf»: it is not a")
    assert raised.value.reason == "no es una hoja de cálculo"


CONSOLE = TEMPLATES / "console"
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
WORDS_IN_ATTRIBUTES = re.compile(r'\b(?:aria-label|title|placeholder|alt|data-label)="([^"]*)"')


def _console_texts(source: str) -> list[str]:
    """What a console template would show that does not come from ``t()``: text between tags
    and the words of labelling attributes, with Jinja expressions taken out."""
    bare = JINJA.sub(" ", source)
    between = re.sub(r"<[^>]*>", " ", re.sub(r"<style.*?</style>", " ", bare, flags=re.S))
    return [*between.split(), *WORDS_IN_ATTRIBUTES.findall(bare)]


def test_the_console_is_one_template_set_whose_words_all_come_from_the_catalogue():
    assert not any((TEMPLATES / language / "console").exists() for language in LANGUAGES)
    words = {
        template.name: [
            w
            for w in _console_texts(template.read_text())
            if re.search(r"\w", w) and not w.startswith("/")  # a macro's URL is not a word
        ]
        for template in sorted(CONSOLE.glob("*.html"))
    }
    assert set(words) >= {"dashboard.html", "submission.html", "_layout.html"}
    assert {name: found for name, found in words.items() if found} == {}


def test_the_console_template_check_notices_a_word_written_in_the_template():
    assert _console_texts('<p>{{ t("console.site") }} · Hola</p>') == ["·", "Hola"]
    assert _console_texts('<nav aria-label="Secciones"></nav>') == ["Secciones"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_catalogue_key_the_console_uses_exists(language):
    used = set()
    for template in CONSOLE.glob("*.html"):
        source = template.read_text()
        used |= set(re.findall(r"""t\(["'](console\.[\w.-]*\w)["']\s*[,)]""", source))
    assert used and used - set(catalogues.messages(language)) == set()
