"""The XMP packet: merge rules, escaping, re-tagging (no files involved)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance.tagging import DIGITAL_SOURCE_TYPES, NS_IPTC_EXT, NS_PROVENANCE, TagRecord
from provenance.tagging._xmp import PacketError, merge_packet, read_packet

from .helpers import BILLION_LAUGHS, DARKTABLE_SIDECAR, make_record

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
IPTC_DST = f"{{{NS_IPTC_EXT}}}DigitalSourceType"
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# Any text, including markup characters, quotes, non-ASCII and control characters.
any_text = st.text(alphabet=st.characters(codec=None), max_size=40) | st.sampled_from(
    ["<b>&amp;</b>", "\"'", "Ünïcødé 生成", "\r\n", "\x00\x1b\x7f", "]]>", " padded "]
)
aware = st.datetimes(
    # hypothesis wants naive bounds and applies the zones itself
    min_value=datetime(1900, 1, 1),  # noqa: DTZ001
    max_value=datetime(2200, 1, 1),  # noqa: DTZ001
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-7, minutes=-30))]
    ),
)
records = st.builds(
    TagRecord,
    asset_uid=st.uuids(version=4).map(str),
    ai_class=st.sampled_from(["ai", "partial"]),
    status=st.sampled_from(["temporary", "expiring", "flagged", "cleared", "held"]) | any_text,
    content_hash=st.text("0123456789abcdef", min_size=1).map(lambda h: "blake3:" + h),
    first_seen=aware,
    deadline=st.none() | aware,
    generator=st.none() | any_text,
    model=st.none() | any_text,
    digital_source_type=st.sampled_from(sorted(DIGITAL_SOURCE_TYPES.values())) | any_text,
    signals=st.lists(any_text, max_size=4).map(tuple),
    approval_ref=st.none() | any_text,
    tool_version=st.just("0.1.0") | any_text,
)


def clean(text: str) -> str:
    """What XML 1.0 can carry of ``text``: characters it cannot hold are dropped."""
    return NOT_XML.sub("", text)


def clean_optional(text: str | None) -> str | None:
    return None if text is None else clean(text)


def cleaned(record: TagRecord) -> TagRecord:
    return replace(
        record,
        status=clean(record.status),
        generator=clean_optional(record.generator),
        model=clean_optional(record.model),
        digital_source_type=clean(record.digital_source_type),
        signals=tuple(clean(s) for s in record.signals),
        approval_ref=clean_optional(record.approval_ref),
        tool_version=clean(record.tool_version),
    )


@settings(max_examples=300, deadline=None)
@given(records, records)
def test_packet_round_trips_and_a_second_tag_replaces_the_first(
    first: TagRecord, second: TagRecord
) -> None:
    packet = merge_packet(None, first)
    assert read_packet(packet) == cleaned(first)
    assert read_packet(merge_packet(packet, second)) == cleaned(second)


def test_markup_and_carriage_returns_survive_and_controls_are_dropped() -> None:
    record = make_record(generator='A <b> & "C"\r\n', model="m\x00\x1bodel\ufffe")
    back = read_packet(merge_packet(None, record))
    assert back is not None
    assert back.generator == 'A <b> & "C"\r\n'
    assert back.model == "model"


def test_times_are_written_in_utc_with_z() -> None:
    plus_two = timezone(timedelta(hours=2))
    packet = merge_packet(
        None, make_record(first_seen=datetime(2026, 5, 1, 11, 30, tzinfo=plus_two))
    )
    assert b"<provenance:FirstSeen>2026-05-01T09:30:00Z</provenance:FirstSeen>" in packet


def test_packet_has_wrapper_and_no_creator_tool() -> None:
    packet = merge_packet(None, make_record())
    text = packet.decode("utf-8")
    assert text.startswith('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>')
    assert text.endswith('<?xpacket end="w"?>')
    assert "CreatorTool" not in text
    root = ET.fromstring(packet)
    assert root.tag == "{adobe:ns:meta/}xmpmeta"
    description = root.find(f"{{{RDF}}}RDF/{{{RDF}}}Description")
    assert description is not None
    assert description.findtext(IPTC_DST) == DIGITAL_SOURCE_TYPES["ai"]
    assert description.findtext(f"{{{NS_PROVENANCE}}}AssetId") == make_record().asset_uid


def test_packet_without_our_properties_reads_as_none() -> None:
    assert read_packet(DARKTABLE_SIDECAR) is None


def test_packet_with_attribute_form_properties_reads_back() -> None:
    """exiv2-based tools may rewrite simple properties as attributes."""
    packet = f"""<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="{RDF}">
    <rdf:Description rdf:about="" xmlns:provenance="{NS_PROVENANCE}"
     xmlns:Iptc4xmpExt="{NS_IPTC_EXT}"
     Iptc4xmpExt:DigitalSourceType="{DIGITAL_SOURCE_TYPES["partial"]}"
     provenance:AssetId="u-1" provenance:AiClass="partial" provenance:Status="held"
     provenance:ContentHash="blake3:00" provenance:FirstSeen="2026-01-02T03:04:05.5Z"
     provenance:ToolVersion="0.0.9" provenance:SchemaVersion="1"/>
    </rdf:RDF></x:xmpmeta>""".encode()
    record = read_packet(packet)
    assert record == TagRecord(
        asset_uid="u-1",
        ai_class="partial",
        status="held",
        content_hash="blake3:00",
        first_seen=datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=UTC),
        deadline=None,
        generator=None,
        model=None,
        digital_source_type=DIGITAL_SOURCE_TYPES["partial"],
        tool_version="0.0.9",
    )


def test_incomplete_record_is_an_error() -> None:
    packet = merge_packet(None, make_record()).replace(b"provenance:AssetId", b"provenance:Other")
    with pytest.raises(PacketError, match="missing AssetId"):
        read_packet(packet)


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (BILLION_LAUGHS, "forbidden XML construct"),
        (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
            "forbidden XML construct",
        ),
        (b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><unclosed>", "not well-formed"),
        (b"<html><body/></html>", "no rdf:RDF"),
        (b"<a>" * 100_000 + b"</a>" * 100_000, "nested deeper"),
    ],
)
def test_merge_refuses_hostile_or_broken_packets(bad: bytes, reason: str) -> None:
    with pytest.raises(PacketError, match=reason):
        merge_packet(bad, make_record())


@settings(max_examples=200, deadline=None)
@given(records)
def test_a_new_packet_from_its_template_is_the_packet_the_tree_builds(record: TagRecord) -> None:
    # new sidecars are filled into a cached template; it must be byte for byte the same
    from provenance.tagging._xmp import _merge, _values

    built = _merge(None, record.digital_source_type, _values(record))
    assert merge_packet(None, record) == built
    assert merge_packet(None, record) == built  # and again, from the cache
