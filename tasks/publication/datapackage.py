"""The board's open data as a Frictionless Data Package: every published table with its schema.

``datos/datapackage.json`` describes each CSV the board publishes (the plan's milestones,
commitments and institutions, the whole history, the per-commitment figures and deliveries of
every published cycle, and the CSV of each report version) with a Table Schema: types, units,
enumerations of states, primary keys and the foreign keys that tie them together. The CSVs are
written by ``tasks.publication.report.write_csv``, typed as the schema says; a value nobody
reported is empty, never 0, and each field's description says what its empty means. Texts are in
the message catalogues (``board!`` in ``templates/messages/<language>.yaml``).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from tasks import catalogues
from tasks.core import contract
from tasks.core.states import Delivery
from tasks.plans.plan import Plan
from tasks.publication.consolidation import TEXT_COLUMNS
from tasks.publication.irm import commitment_progress, suggested_completion
from tasks.publication.report import data_dictionary, published, write_csv
from tasks.settings import Settings

if TYPE_CHECKING:
    from tasks.publication.board.cycles import PublishedCycle

SOURCES = ("reportado", "ultimo_conocido", "sin_datos")
PERCENT = {"minimum": 0, "maximum": 100}
REQUIRED = {"required": True}

CONSOLIDATED_TYPES: dict[str, dict[str, Any]] = {
    "ciclo": {"constraints": {"required": True, "pattern": r"\d{4}-\d{2}"}},
    "codigo_compromiso": {"constraints": {"required": True}},
    "codigo_hito": {"constraints": {"required": True, "pattern": r"\d+\.\d+"}},
    "institucion": {"constraints": {"required": True}},
    "fecha_inicio": {"type": "date", "constraints": {"required": True}},
    "fecha_fin": {"type": "date", "constraints": {"required": True}},
    "avance_pct": {"type": "number", "unit": "%", "constraints": PERCENT},
    "avance_anterior": {"type": "number", "unit": "%", "constraints": PERCENT},
    "cambio_pct": {
        "type": "number",
        "unit": "puntos porcentuales",
        "constraints": {"minimum": -100, "maximum": 100},
    },
    "vencido": {
        "type": "boolean",
        "trueValues": ["true"],
        "falseValues": ["false"],
        "constraints": {"required": True},
    },
    "fuente": {"constraints": {"required": True, "enum": list(SOURCES)}},
    "envio": {"type": "integer", "constraints": {"minimum": 1}},
}
"""What the consolidated table's columns hold beyond text (``report.data_dictionary`` describes
them; the states' enumeration is in the plan's language, ``consolidated_schema``)."""


def catalogue(language: str) -> dict[str, Any]:
    """The board's texts in a language: the IRM scale and the package's titles and descriptions
    (``board!`` in ``templates/messages/<language>.yaml``)."""
    found: dict[str, Any] = catalogues.value(language, "board!")
    return found


def _field(name: str, description: str, **typed: Any) -> dict[str, Any]:
    return {"name": name, "type": "string", "description": description, **typed}


def consolidated_schema(
    primary_key: list[str], language: str = "es", states_in: str | None = None
) -> dict[str, Any]:
    """The Table Schema of a consolidated table (one cycle's, or the history of all).

    ``states_in`` is the language its states are written in; None for a report's own CSV, which
    keeps the language it was published in (any language's labels).
    """
    languages = [states_in] if states_in else list(catalogues.LANGUAGES)
    labels = [label for code in languages for label in contract.state_labels(code)]
    types = {
        **CONSOLIDATED_TYPES,
        contract.STATE: {"constraints": {"enum": list(dict.fromkeys(labels))}},
    }
    fields = [
        _field(name, description, **types.get(name, {}))
        for name, description in data_dictionary(language)
    ]
    return {
        "fields": fields,
        "missingValues": [""],
        "primaryKey": primary_key,
        "foreignKeys": [
            _reference("codigo_hito", "hitos"),
            _reference("codigo_compromiso", "compromisos"),
            _reference("institucion", "instituciones", "codigo"),
        ],
    }


def _reference(column: str, resource: str, key: str | None = None) -> dict[str, Any]:
    return {"fields": [column], "reference": {"resource": resource, "fields": [key or column]}}


def _plan_tables(plan: Plan, language: str) -> dict[str, tuple[pd.DataFrame, dict[str, Any]]]:
    """The plan's own tables (milestones, commitments, institutions) and their schemas."""
    words = catalogue(language)["datapackage"]["fields"]
    dictionary = dict(data_dictionary(language))
    milestones = pd.DataFrame(
        [
            {
                "codigo_hito": m.code,
                "codigo_compromiso": plan.commitment(m.commitment).code,
                "institucion": m.institution,
                "hito": m.description,
                "fecha_inicio": m.start.isoformat(),
                "fecha_fin": m.end.isoformat(),
                "resultado_esperado": m.expected_result,
            }
            for m in plan.milestones
        ]
    )
    milestone_fields = [
        _field(name, dictionary[name], **CONSOLIDATED_TYPES.get(name, {}))
        for name in ("codigo_hito", "codigo_compromiso", "institucion", "hito")
    ]
    milestone_fields += [
        _field(name, dictionary[name], **CONSOLIDATED_TYPES[name])
        for name in ("fecha_inicio", "fecha_fin")
    ]
    milestone_fields.append(_field("resultado_esperado", words["hitos"]["resultado_esperado"]))
    commitments = pd.DataFrame(
        [
            {
                "codigo_compromiso": c.code,
                "numero": c.number,
                "compromiso_ogp": c.ogp_id,
                "compromiso": c.title,
                "instituciones_responsables": ", ".join(c.leads),
                "cluster_mri": c.irm_cluster,
            }
            for c in plan.commitments
        ]
    )
    own = words["compromisos"]
    commitment_fields = [
        _field("codigo_compromiso", dictionary["codigo_compromiso"], constraints=REQUIRED),
        _field("numero", own["numero"], type="integer", constraints={"minimum": 1}),
        _field("compromiso_ogp", dictionary["compromiso_ogp"]),
        _field("compromiso", dictionary["compromiso"]),
        _field("instituciones_responsables", own["instituciones_responsables"]),
        _field("cluster_mri", own["cluster_mri"]),
    ]
    institutions = pd.DataFrame([{"codigo": i.code, "nombre": i.name} for i in plan.institutions])
    institution_fields = [
        _field("codigo", words["instituciones"]["codigo"], constraints={"required": True}),
        _field("nombre", words["instituciones"]["nombre"]),
    ]
    return {
        "hitos": (
            milestones,
            {
                "fields": milestone_fields,
                "missingValues": [""],
                "primaryKey": ["codigo_hito"],
                "foreignKeys": [
                    _reference("codigo_compromiso", "compromisos"),
                    _reference("institucion", "instituciones", "codigo"),
                ],
            },
        ),
        "compromisos": (
            commitments,
            {
                "fields": commitment_fields,
                "missingValues": [""],
                "primaryKey": ["codigo_compromiso"],
            },
        ),
        "instituciones": (
            institutions,
            {"fields": institution_fields, "missingValues": [""], "primaryKey": ["codigo"]},
        ),
    }


def _cycle_tables(
    cycles: list[PublishedCycle], language: str
) -> dict[str, tuple[pd.DataFrame, dict[str, Any]]]:
    """The history of all published cycles: milestones, commitment figures, deliveries."""
    words = catalogue(language)
    levels = words["irm_levels"]
    own = words["datapackage"]["fields"]
    dictionary = dict(data_dictionary(language))
    history = published(pd.concat([p.table for p in cycles], ignore_index=True), language)
    history[TEXT_COLUMNS] = history[TEXT_COLUMNS].astype(str)
    commitments = pd.DataFrame(
        [
            {
                "ciclo": p.cycle.id,
                "version": p.report.version,
                "codigo_compromiso": c.codigo,
                "no_iniciado": c.no_iniciado,
                "iniciado": c.iniciado,
                "completado": c.completado,
                "sin_datos": c.sin_datos,
                "avance_pct": commitment_progress(c),  # empty when no milestone has data
                "nivel_mri_sugerido": levels[suggested_completion(c)]["code"],
            }
            for p in cycles
            for c in p.figures.commitments
        ]
    )
    count = {"type": "integer", "constraints": {"minimum": 0, "required": True}}
    figures = own["avance_compromisos"]
    version_field = _field("version", own["version"], type="integer", constraints={"minimum": 1})
    commitment_fields = [
        _field("ciclo", dictionary["ciclo"], **CONSOLIDATED_TYPES["ciclo"]),
        version_field,
        _field("codigo_compromiso", dictionary["codigo_compromiso"], constraints=REQUIRED),
        *[_field(name, figures[name], **count) for name in ("no_iniciado", "iniciado")],
        *[_field(name, figures[name], **count) for name in ("completado", "sin_datos")],
        _field("avance_pct", figures["avance_pct"], type="number", unit="%", constraints=PERCENT),
        _field(
            "nivel_mri_sugerido",
            figures["nivel_mri_sugerido"],
            constraints={"required": True, "enum": [v["code"] for v in levels.values()]},
        ),
    ]
    deliveries = pd.DataFrame(
        [
            {
                "ciclo": p.cycle.id,
                "version": p.report.version,
                **{k: v for k, v in asdict(i).items() if k != "nombre"},
                "estado_entrega": i.estado_entrega.label(language),
            }
            for p in cycles
            for i in p.figures.institutions
        ]
    ).rename(columns={"codigo": "institucion"})
    delivery = own["entregas"]
    delivery_fields = [
        _field("ciclo", dictionary["ciclo"], **CONSOLIDATED_TYPES["ciclo"]),
        version_field,
        _field("institucion", dictionary["institucion"], constraints={"required": True}),
        _field("hitos", delivery["hitos"], **count),
        _field(
            "estado_entrega",
            delivery["estado_entrega"],
            constraints={
                "required": True,
                "enum": [state.label(language) for state in Delivery],
            },
        ),
        _field("envios", delivery["envios"], **count),
        _field("rechazos", delivery["rechazos"], **count),
        _field("prorroga", delivery["prorroga"], type="date"),
    ]
    return {
        "historial": (
            history,
            consolidated_schema(["ciclo", "codigo_hito"], language, states_in=language),
        ),
        "avance_compromisos": (
            commitments,
            {
                "fields": commitment_fields,
                "missingValues": [""],
                "primaryKey": ["ciclo", "codigo_compromiso"],
                "foreignKeys": [_reference("codigo_compromiso", "compromisos")],
            },
        ),
        "entregas": (
            deliveries,
            {
                "fields": delivery_fields,
                "missingValues": [""],
                "primaryKey": ["ciclo", "institucion"],
                "foreignKeys": [_reference("institucion", "instituciones", "codigo")],
            },
        ),
    }


def _resource(
    name: str, path: str, title: str, description: str, schema: dict[str, Any]
) -> dict[str, Any]:
    return {
        "name": name,
        "path": path,
        "profile": "tabular-data-resource",
        "title": title,
        "description": description,
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "schema": schema,
    }


def write_package(
    settings: Settings,
    plan: Plan,
    language: str,
    cycles: list[PublishedCycle],
    offered: dict[tuple[str, int], dict[str, str]],
    folder: Path,
) -> Path:
    """Write the board's CSVs and ``datapackage.json`` describing them into ``folder``; its path.

    ``offered`` maps (cycle, version) to the files copied under the board (paths from the board's
    top, ``datos/2023-03/v1/….csv``): each CSV among them becomes a resource of its own.
    """
    words = catalogue(language)["datapackage"]
    titles = words["resources"]
    tables = {**_plan_tables(plan, language), **_cycle_tables(cycles, language)}
    resources = []
    for name, (table, schema) in tables.items():
        write_csv(table, folder / f"{name}.csv")
        text = titles[name]
        resources.append(_resource(name, f"{name}.csv", text["title"], text["description"], schema))
    for (cycle_id, version), files in offered.items():
        if "csv" not in files:
            continue
        text = {k: v.format(cycle=cycle_id, version=version) for k, v in titles["ciclo"].items()}
        resources.append(
            _resource(
                f"ciclo-{cycle_id}-v{version}",
                files["csv"].removeprefix("datos/"),
                text["title"],
                text["description"],
                consolidated_schema(["codigo_hito"], language),
            )
        )
    latest = cycles[-1].report
    created = max(p.report.created_at for p in cycles).replace(tzinfo=UTC)
    descriptor = {
        "profile": "tabular-data-package",
        "name": plan.id.lower(),
        "title": plan.name,
        "description": words["description"],
        "version": f"{latest.cycle_id}-v{latest.version}",
        "created": created.isoformat().replace("+00:00", "Z"),
        "keywords": words["keywords"],
        "licenses": [
            {
                "name": settings.data_license,
                "path": f"https://spdx.org/licenses/{settings.data_license}.html",
            }
        ],
        "sources": words["sources"],
        "resources": resources,
    }
    path = folder / "datapackage.json"
    path.write_text(json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return path
