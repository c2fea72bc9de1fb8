"""Every language says everything: catalogues and templates complete, formatting per locale."""

from __future__ import annotations

import re
from datetime import date

import pytest
import yaml
from jinja2 import meta, nodes

from tasks import catalogues, rendering
from tasks.catalogues import LANGUAGES, SOURCE, TEMPLATES, UnknownLanguage, language_of
from tasks.core.findings import finding
from tasks.plans.plan import load_plan
from tasks.rendering import render
from tasks.settings import Settings

OTHERS = [language for language in LANGUAGES if language != SOURCE]
# The console's pages belong to its own issue (#15): every other template is held to t().
HELD = [
    str(path.relative_to(TEMPLATES))
    for path in sorted(TEMPLATES.rglob("*"))
    if path.is_file()
    and path.suffix in (".html", ".txt", ".md", ".css")
    and path.relative_to(TEMPLATES).parts[0] != "console"
]


def _keys_asked(name: str) -> list[tuple[str, bool]]:
    """Each ``t(...)`` key a template asks for: (key, whole) — a whole key when it is written
    out or built from a ``{% set %}`` prefix and a literal, else the literal prefix of a key made
    at render time (``"report.delivery." ~ i.estado_entrega``)."""
    env = rendering.environment(SOURCE)
    source = env.loader.get_source(env, name)[0]  # type: ignore[union-attr]
    tree = env.parse(source)
    prefixes = {
        node.target.name: node.node.value
        for node in tree.find_all(nodes.Assign)
        if isinstance(node.target, nodes.Name) and isinstance(node.node, nodes.Const)
    }

    def literal(node: nodes.Node) -> tuple[str, bool]:
        if isinstance(node, nodes.Const) and isinstance(node.value, str):
            return node.value, True
        if isinstance(node, nodes.Name) and node.name in prefixes:
            return prefixes[node.name], True
        if isinstance(node, nodes.Concat):
            parts = [literal(n) for n in node.nodes]
            text, whole = "", True
            for part, complete in parts:
                text += part
                if not complete:
                    return text, False
            return text, whole
        return "", False

    return [
        literal(call.args[0])
        for call in tree.find_all(nodes.Call)
        if isinstance(call.node, nodes.Name) and call.node.name == "t" and call.args
    ]


def test_no_template_folder_per_language_remains():
    """One template per kind: a language is a catalogue, never a copy of the templates."""
    assert [p.name for p in TEMPLATES.iterdir() if p.is_dir() and p.name in LANGUAGES] == []
    assert {"email/request.html", "report.html", "board/index.html"} <= set(HELD)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", HELD)
def test_every_key_a_template_asks_for_is_in_every_catalogue(name, language):
    keys = catalogues.messages(language)
    missing = [
        key
        for key, whole in _keys_asked(name)
        if not (key in keys if whole else any(k.startswith(key) for k in keys))
    ]
    assert missing == []


def test_the_key_check_sees_a_key_built_from_a_prefix():
    asked = dict(_keys_asked("_report_institutions.html"))
    assert asked["report_page.columns.extended_until"] is True
    assert asked["states.delivery."] is False


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_texts_carry_only_the_tags_both_parts_of_an_email_understand(language):
    tags = {
        (key, tag)
        for key, value in catalogues.messages(language).items()
        if isinstance(value, str)
        for tag in re.findall(r"</?([a-z]+)[ >]", value)
        if tag not in catalogues.TAGS
    }
    assert tags == set()


def test_one_paragraph_gives_the_html_part_and_the_plain_text_part():
    values = {
        "filename": "<b>avance</b>.xlsx",
        "code": "MINGOB",
        "name": "Gobernación",
        "period": "2023-03",
        "version": 2,
    }
    html = catalogues.markup("es", "email.returned.returns", **values)
    plain = catalogues.text("es", "email.returned.returns", **values)

    assert "y <strong>lo devuelve</strong> para" in html
    assert "«&lt;b&gt;avance&lt;/b&gt;.xlsx»" in html
    assert "y LO DEVUELVE para" in plain and "«<b>avance</b>.xlsx»" in plain
    assert "para el ciclo de marzo de 2023 (versión 2)" in plain
    # a value in bold keeps its case in plain text
    bold = catalogues.text("es", "email.reminder.nothing", code="MINGOB", name="Gobernación")
    assert bold.endswith("de MINGOB (Gobernación).")


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
    "period": "2023-03",
    "day": date(2023, 3, 20),
    "received_at": date(2023, 3, 20),
    "headline": 54.17,
    "progress": 54.17,
    "value": 50,
    "substantial": 60,
    "institution": None,
    "days": 2,
    "count": 3,
    "warnings": 2,
    "due": date(2023, 4, 14),
    "end": date(2023, 2, 28),
    "before": 50,
    "now": 40,
    "number": 1,
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
        used |= set(
            re.findall(r"""t\(["']((?:console|console_\w+|times)\.[\w.-]*\w)["']\s*[,)]""", source)
        )
    assert used and used - set(catalogues.messages(language)) == set()
