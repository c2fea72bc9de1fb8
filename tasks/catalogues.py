"""Message catalogues: every short text a person reads, per language, and locale formatting.

One YAML file per language in ``templates/messages/`` (``es.yaml``, ``en.yaml``) holds every
text under dotted keys (``subject.request``, ``email.reply.rejected``); each value is a Jinja2
template rendered with the values its caller passes. The templates in ``templates/`` hold the
structure once for every language (an email's paragraphs, the report page's tables, the board)
and take each word from here with ``t(key, **values)``; a paragraph is one value, used by both
the HTML and the plain-text part of an email. Findings keep their own catalogue,
``templates/findings.<language>.yaml``. ``tests/test_catalogues.py`` fails when a language lacks
a key, or a template asks for a key a language lacks.

A value may carry four tags, so that one paragraph serves both parts of an email: ``<strong>``
(bold; in plain text its own words in capitals, as the Spanish emails always shouted the verdict),
``<b>`` (bold in HTML only), ``<em>`` and ``<code>``. In HTML the value's own markup is kept and
the values put into it are escaped; in plain text the tags are dropped (``plain_source``).

Keyed YAML rather than gettext: the texts are few, reviewed by non-programmers, and a missing
key is a test failure instead of a silent fallback to the source language.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import yaml
from babel.dates import format_date, format_datetime, format_timedelta, get_timezone_location
from babel.numbers import format_decimal
from jinja2 import Environment, StrictUndefined, Template
from markupsafe import Markup

if TYPE_CHECKING:
    from tasks.plans.plan import Plan
    from tasks.settings import Settings

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
MESSAGES = TEMPLATES / "messages"
SOURCE = "es"
"""The language a page falls back to when no plan says otherwise (Spanish, the sample plan's)."""
LANGUAGES = ("es", "en")


class UnknownLanguage(ValueError):
    """A language with no catalogue: an operator's setting or a plan's ``language:``."""


def language_of(settings: Settings, plan: Plan | None = None) -> str:
    """The language people read: ``HITOS_LANGUAGE`` when set, else the plan's ``language:``."""
    chosen = settings.language or (plan.language if plan is not None else SOURCE)
    return checked(chosen)


def checked(language: str) -> str:
    if language not in LANGUAGES:
        raise UnknownLanguage(
            f"language {language!r} has no catalogue: use one of {', '.join(LANGUAGES)} "
            "(HITOS_LANGUAGE or the plan's language:)"
        )
    return language


@cache
def messages(language: str) -> dict[str, Any]:
    """The language's catalogue as dotted key → value (text, list or mapping)."""
    # libyaml's loader (same types): PyYAML's own took 0.35 s per catalogue, paid by every
    # process that writes a word (each command, each deployment run) before doing anything.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with (MESSAGES / f"{checked(language)}.yaml").open(encoding="utf-8") as handle:
        tree: dict[str, Any] = yaml.load(handle, Loader=loader)
    return dict(_flatten(tree))


def _flatten(tree: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and not name.endswith("!"):
            items.extend(_flatten(value, f"{name}."))
        else:
            items.append((name, value))
    return items


def value(language: str, key: str) -> Any:
    """A catalogue entry as stored (lists and mappings for tables of labels)."""
    found = messages(language)
    if key not in found:
        raise KeyError(f"catalogue {language}.yaml has no key {key!r}")
    return found[key]


def text(language: str, key: str, **values: Any) -> str:
    """A catalogue entry rendered with ``values``, as plain text (its tags dropped)."""
    if not values:
        return _constant(language, key)
    return _compiled(language, key).render(**values).strip()


@cache
def _constant(language: str, key: str) -> str:
    """A label with no values, rendered once (the report asks for some 40,000 at N = 1,000)."""
    return _compiled(language, key).render().strip()


def markup(language: str, key: str, **values: Any) -> Markup:
    """A catalogue entry rendered with ``values`` for an HTML page: its own tags kept, the
    values escaped (a liaison's text never becomes markup)."""
    if not values:
        return _constant_markup(language, key)
    return Markup(_compiled_markup(language, key).render(**values).strip())


@cache
def _constant_markup(language: str, key: str) -> Markup:
    """A page's label with no values, rendered once (the board asks for some 260,000 at N =
    1,000, a fifth of its time when each was rendered anew)."""
    return Markup(_compiled_markup(language, key).render().strip())


@cache
def _compiled(language: str, key: str) -> Template:
    return formatting_environment(language).from_string(plain_source(str(value(language, key))))


@cache
def _compiled_markup(language: str, key: str) -> Template:
    return formatting_environment(language, html=True).from_string(str(value(language, key)))


TAGS = ("strong", "b", "em", "code")
"""The markup a catalogue value may carry (``tests/test_catalogues.py`` holds them to it)."""
_TAGGED = re.compile(r"<(strong|b|em|code)>(.*?)</\1>", re.DOTALL)
_JINJA = re.compile(r"(\{\{.*?\}\}|\{%.*?%\})", re.DOTALL)


def plain_source(source: str) -> str:
    """A value's source for plain text: tags dropped, the words of ``<strong>`` in capitals
    (its own words only: a name or a date put into it keeps its case)."""

    def untag(match: re.Match[str]) -> str:
        inner = match.group(2)
        if match.group(1) != "strong":
            return inner
        parts = _JINJA.split(inner)
        return "".join(p if _JINJA.fullmatch(p) else p.upper() for p in parts)

    return _TAGGED.sub(untag, source)


@cache
def formatting_environment(language: str, html: bool = False) -> Environment:
    """A bare Jinja2 environment with the language's formatting filters (for catalogue texts);
    with ``html``, autoescaping, and ``t`` inside a value gives markup too."""
    env = Environment(undefined=StrictUndefined, keep_trailing_newline=False, autoescape=html)
    env.filters.update(filters(language))
    nested = markup if html else text
    env.globals.update(t=lambda key, **values: nested(language, key, **values))
    return env


def filters(language: str) -> dict[str, Any]:
    """The formatting filters of one language, for templates and short texts alike."""

    def _long_date(day: date) -> str:
        return long_date(day, language)

    def _month_year(cycle_id: str) -> str:
        return month_year(cycle_id, language)

    def _month_of_year(cycle_id: str) -> str:
        return month_year(cycle_id, language, "formats.month_of_year")

    def _of_institution(institution: Any) -> str:
        return of_institution(institution, language)

    def _short_date(day: date | str | None) -> str:
        """Also an ISO date as the open data hold it (an extension's ``prorroga``)."""
        if isinstance(day, str):
            return short_date(date.fromisoformat(day), language) if day else ""
        return short_date(day, language)

    def _percent(number: float | None, digits: int = 0) -> str:
        return percent(number, digits, language)

    def _number(number: float | None, digits: int = 0) -> str:
        return decimal(number, digits, language)

    def _local_time(moment: datetime | None, timezone: str) -> str:
        return local_time(moment, timezone, language)

    def _zone_name(timezone: str) -> str:
        return zone_name(timezone, language)

    def _duration(length: timedelta) -> str:
        return duration(length, language)

    return {
        "long_date": _long_date,
        "month_year": _month_year,
        "month_of_year": _month_of_year,
        "of_institution": _of_institution,
        "short_date": _short_date,
        "percent": _percent,
        "number": _number,
        "local_time": _local_time,
        "zone_name": _zone_name,
        "duration": _duration,
    }


def long_date(day: date, language: str = SOURCE) -> str:
    """A date with its weekday: «viernes 24 de marzo de 2023», «Friday 24 March 2023»."""
    return format_date(day, value(language, "formats.long_date"), locale=language)


def month_year(cycle_id: str, language: str = SOURCE, pattern: str = "formats.month_year") -> str:
    """A cycle id as its month and year: ``2023-03`` → «marzo 2023», «March 2023»; with
    ``formats.month_of_year``, as a sentence says it: «marzo de 2023»."""
    year, month = cycle_id.split("-")
    return format_date(date(int(year), int(month), 1), value(language, pattern), language)


def of_institution(institution: Any, language: str = SOURCE) -> str:
    """«of» and an institution's name, with the article the name takes: «del Ministerio de
    Gobernación», «de la Secretaría…», «de GAE». An institution of the plan may say its own
    ``article``; otherwise the catalogue's ``grammar.articles!`` decides by the first word."""
    name = str(getattr(institution, "name", institution))
    article = getattr(institution, "article", None)
    if article is None:
        articles: dict[str, str] = value(language, "grammar.articles!")
        article = articles.get(name.split(" ", 1)[0], "")
    return text(language, "grammar.of", article=article, name=name)


@lru_cache(maxsize=65536)
def short_date(day: date | None, language: str = SOURCE) -> str:
    """A date the short way of the language (dd/mm/yyyy in Spanish); cached, since the report
    formats the same few hundred dates 40,000 times at 1,000 institutions."""
    if day is None:
        return ""
    return format_date(day, value(language, "formats.short_date"), locale=language)


@lru_cache(maxsize=65536)
def decimal(number: float | None, digits: int = 0, language: str = SOURCE) -> str:
    """A number with the language's decimal sign: «54,17» in Spanish, «54.17» in English."""
    if number is None:
        return "—"
    pattern = "0." + "0" * digits if digits else "0"
    return format_decimal(number, pattern, locale=language, group_separator=False)


def percent(number: float | None, digits: int = 0, language: str = SOURCE) -> str:
    """A percentage the language's way: «54,17 %» in Spanish, «54.17%» in English."""
    if number is None:
        return "—"
    return str(value(language, "formats.percent")).format(n=decimal(number, digits, language))


def local_time(moment: datetime | None, timezone: str, language: str = SOURCE) -> str:
    """A moment the ledger keeps in UTC, in the plan's time zone and the language's way:
    «8 mar 2023, 10:05» (America/Guatemala), «8 Mar 2023, 10:05»."""
    if moment is None:
        return "—"
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    pattern = value(language, "times.date_time")
    return format_datetime(aware, pattern, tzinfo=ZoneInfo(timezone), locale=language)


def zone_name(timezone: str, language: str = SOURCE) -> str:
    """A time zone as people name it: «hora de Guatemala», «Guatemala Time» (not its id)."""
    return get_timezone_location(ZoneInfo(timezone), locale=language)


def duration(length: timedelta, language: str = SOURCE) -> str:
    """A wait the language's way, never shorter than it is: «4 segundos», «3 minutos»."""
    seconds = max(1, math.ceil(length.total_seconds()))
    if seconds > 60:
        seconds = 60 * math.ceil(seconds / 60)
    return format_timedelta(timedelta(seconds=seconds), threshold=1.0, locale=language)
