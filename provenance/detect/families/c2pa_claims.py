"""The C2PA generator-claim table: manifests that name an AI generator without stating a
``digitalSourceType`` (the table itself is data: ``provenance/data/c2pa-generators.toml``)."""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

from provenance.detect.signals import AiClass

log = logging.getLogger(__name__)

Field = Literal["claim_generator", "software_agent", "assertion", "title"]
FIELDS: tuple[Field, ...] = ("claim_generator", "software_agent", "assertion", "title")
_TABLE = "c2pa-generators.toml"


@dataclass(frozen=True)
class Claim:
    """One table entry: a pattern on one manifest field, and what a match says."""

    field: Field
    pattern: re.Pattern[str]
    generator: str | None
    family: str | None
    ai_class: AiClass
    example: str


@dataclass(frozen=True)
class ClaimMatch:
    """A manifest value an entry matched: the entry, the value, and the action it sat on."""

    claim: Claim
    value: str
    action: Mapping[str, Any] | None


def table_text() -> bytes:
    """Return the packaged table as stored (its digest is part of the detection settings)."""
    return resources.files("provenance").joinpath("data", _TABLE).read_bytes()


@functools.cache
def claims() -> tuple[Claim, ...]:
    """Return the table's entries in file order (the first match wins)."""
    table = tomllib.loads(table_text().decode("utf-8"))
    entries = []
    for number, entry in enumerate(table.get("claim", []), start=1):
        fields = [name for name in FIELDS if name in entry]
        if len(fields) != 1:
            raise ValueError(f"{_TABLE} entry {number}: needs exactly one of {FIELDS}")
        (field,) = fields
        entries.append(
            Claim(
                field=field,
                pattern=re.compile(entry[field], re.IGNORECASE),
                generator=entry.get("generator"),
                family=entry.get("family"),
                ai_class=entry.get("ai_class", "ai"),
                example=entry["example"],
            )
        )
    return tuple(entries)


@functools.cache
def table_digest() -> str:
    """Return a short digest of the table, to tell when a scan must read files again."""
    return hashlib.sha256(table_text()).hexdigest()[:16]


def match_claim(manifest: Mapping[str, Any]) -> ClaimMatch | None:
    """Return the first table entry one of ``manifest``'s fields matches, or None.

    The caller uses it only for a manifest with no ``digitalSourceType`` on any action.
    """
    values = {field: list(_values(manifest, field)) for field in FIELDS}
    for claim in claims():
        for value, action in values[claim.field]:
            if claim.pattern.search(value[:1024]):
                return ClaimMatch(claim, value, action)
    return None


def _values(manifest: Mapping[str, Any], field: Field) -> Iterator[tuple[str, Any]]:
    """Yield the manifest's strings for one table field, each with its action (or None)."""
    if field == "claim_generator":
        if manifest.get("claim_generator"):
            yield str(manifest["claim_generator"]), None
        for info in manifest.get("claim_generator_info") or ():
            if isinstance(info, Mapping) and info.get("name"):
                yield str(info["name"]), None
    elif field == "title":
        if manifest.get("title"):
            yield str(manifest["title"]), None
        for action in actions(manifest):
            if isinstance(action.get("description"), str):
                yield action["description"], action
    elif field == "software_agent":
        for action in actions(manifest):
            agent = action.get("softwareAgent")
            if isinstance(agent, Mapping):
                agent = agent.get("name")
            if isinstance(agent, str):
                yield agent, action
    else:
        for assertion in manifest.get("assertions") or ():
            if isinstance(assertion, Mapping) and assertion.get("label"):
                yield str(assertion["label"]), None
        for action in actions(manifest):
            parameters = action.get("parameters")
            if isinstance(parameters, Mapping):
                for key in parameters:
                    yield str(key), action


def actions(manifest: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Yield the actions of a manifest's ``c2pa.actions`` assertions (v1 and v2)."""
    for assertion in manifest.get("assertions") or ():
        if not isinstance(assertion, Mapping):
            continue
        if not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        data = assertion.get("data")
        for action in (data or {}).get("actions") or () if isinstance(data, Mapping) else ():
            if isinstance(action, Mapping):
                yield action
