"""The contracts of ``schema/`` as tests read them: each schema by file name, validated with
the others it refers to (the statuses are in ``status.schema.json``, generated from
``provenance.lifecycle.states``)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schema"
#: Where the lifecycle's statuses are published (their ``$id``).
STATUS_SCHEMA = "status.schema.json"
STATUS_ID = "https://provenance.invalid/schema/status.schema.json"
#: Set to rewrite what a test compares with a generated file (as for the report's goldens).
UPDATE_ENV = "PROVENANCE_UPDATE_GOLDEN"


def load(name: str) -> dict[str, Any]:
    """Return the schema in ``schema/NAME``."""
    return json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@functools.cache
def _registry() -> Registry:
    resources = [
        (schema["$id"], Resource.from_contents(schema))
        for schema in (load(path.name) for path in sorted(SCHEMA_DIR.glob("*.schema.json")))
    ]
    return Registry().with_resources(resources)


def validator(name: str, *, formats: bool = False) -> jsonschema.Draft202012Validator:
    """A validator of the schema ``schema/NAME`` that follows its ``$ref`` to the others."""
    schema = load(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    checker = jsonschema.FormatChecker() if formats else None
    return jsonschema.Draft202012Validator(schema, registry=_registry(), format_checker=checker)


def validate(record: Any, name: str, *, formats: bool = False) -> None:
    """Raise jsonschema.ValidationError unless ``record`` follows ``schema/NAME``."""
    validator(name, formats=formats).validate(record)
