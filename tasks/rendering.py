"""The one renderer: every email, workbook text, message and report page is a Jinja2 template.

Each template in ``templates/`` is written once for every language: the language's environment
gives it ``t(key, **values)``, the text of that key in the language's catalogue
(``tasks.catalogues``: markup in an HTML template, plain text elsewhere), and filters that
format dates and numbers the language's way (``state_label``, ``column_label`` name the
contract's codes).
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    pass_eval_context,
    select_autoescape,
)
from jinja2.nodes import EvalContext

from tasks import catalogues
from tasks.catalogues import SOURCE, TEMPLATES
from tasks.core import contract

__all__ = ["TEMPLATES", "environment", "long_date", "month_year", "percent", "render", "short_date"]


def long_date(value: date, language: str = SOURCE) -> str:
    """A date written out with its weekday: «viernes 24 de marzo de 2023»."""
    return catalogues.long_date(value, language)


def month_year(cycle_id: str, language: str = SOURCE) -> str:
    """A cycle id as its month and year: ``2023-03`` → «marzo 2023»."""
    return catalogues.month_year(cycle_id, language)


def short_date(value: date | None, language: str = SOURCE) -> str:
    """A date as the public board shows it: dd/mm/yyyy in Spanish."""
    return catalogues.short_date(value, language)


def percent(value: float | None, digits: int = 0, language: str = SOURCE) -> str:
    """A percentage with the language's decimal sign: «54,17 %»."""
    return catalogues.percent(value, digits, language)


@cache
def environment(language: str = SOURCE) -> Environment:
    """The language's environment: the one set of templates, the language's words and formats."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(catalogues.filters(catalogues.checked(language)))

    @pass_eval_context
    def t(context: EvalContext, key: str, **values: Any) -> str:
        if context.autoescape:
            return catalogues.markup(language, key, **values)
        return catalogues.text(language, key, **values)

    def state_label(code: str) -> str:
        """A state code as people read it; blank or ``no_data`` (never reported) too."""
        if code in contract.STATE_CODES:
            return contract.state_label(code, language)
        return catalogues.text(language, "report.no_data") if code in ("", "no_data") else code

    def column_label(key: str) -> str:
        column = contract.BY_KEY.get(key)
        return column.label(language) if column is not None else key

    env.globals.update(t=t, language=language)
    env.filters.update(state_label=state_label, column_label=column_label)
    return env


def render(name: str, language: str = SOURCE, **context: Any) -> str:
    """Render ``templates/<name>`` in ``language``."""
    return environment(language).get_template(name).render(**context)
