"""schema/xmp-namespace.md matches the code: every property documented, the example parses."""

from __future__ import annotations

import re
from pathlib import Path

import provenance
from provenance.tagging import NS_PROVENANCE, SCHEMA_VERSION
from provenance.tagging._xmp import PROPERTIES, merge_packet, read_packet

from .helpers import make_record

DOC = Path(__file__).resolve().parents[2] / "schema" / "xmp-namespace.md"


def _documented_properties() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    table = text.split("## Properties", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `provenance:(\w+)` \|", table, flags=re.MULTILINE)


def _example() -> bytes:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"## Example.*?```xml\n(.*?)\n```", text, flags=re.DOTALL)
    assert match, "the doc has an ## Example section with an xml block"
    return match.group(1).encode("utf-8")


def test_every_written_property_is_documented() -> None:
    assert sorted(_documented_properties()) == sorted(PROPERTIES)


def test_a_record_with_every_field_writes_every_property() -> None:
    packet = merge_packet(None, make_record(approval_ref="CLR-1")).decode()
    written = set(re.findall(r"<provenance:(\w+)>", packet))
    assert written == set(PROPERTIES)


def test_doc_names_the_namespace_and_version() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert f"`{NS_PROVENANCE}`" in text
    assert f"schema version {SCHEMA_VERSION}" in text


def test_doc_example_parses_and_is_what_the_code_writes() -> None:
    example = _example()
    record = read_packet(example)
    assert record is not None
    assert record.approval_ref == "CLR-2026-0142"
    expected = merge_packet(None, record).replace(
        f"provenance {provenance.__version__}".encode(),
        f"provenance {record.tool_version}".encode(),
    )
    assert example == expected, "regenerate the example in schema/xmp-namespace.md"
