"""Media types come from magic bytes, not names."""

from __future__ import annotations

import pytest

from provenance.detect import sniff_media_type
from tests.fixtures_media import jpeg, plain_png, webp, xmp_packet


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 8, "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "audio/wav"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"II*\x00\x08\x00\x00\x00", "image/tiff"),
        (b"MM\x00*\x00\x00\x00\x08", "image/tiff"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00", "video/mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00", "video/quicktime"),
        (b"%PDF-1.7\n", "application/pdf"),
        (b"v/1\x01\x02\x00\x00\x00", "image/x-exr"),
        (b"SDPX\x00\x00\x08\x00V2.0", "image/x-dpx"),
        (b"XPDS\x00\x08\x00\x00V2.0", "image/x-dpx"),
        (bytes.fromhex("060e2b34020501010d01020101020400") + b"\x83", "application/mxf"),
        (b"<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?>", "application/rdf+xml"),
        (b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>", "application/rdf+xml"),
        (b"", "application/octet-stream"),
        (b"hello world", "application/octet-stream"),
    ],
)
def test_sniff_media_type_by_magic(head: bytes, expected: str) -> None:
    assert sniff_media_type(head) == expected


def test_sniff_media_type_of_generated_files() -> None:
    assert sniff_media_type(plain_png()) == "image/png"
    assert sniff_media_type(jpeg()) == "image/jpeg"
    assert sniff_media_type(webp()) == "image/webp"
    assert sniff_media_type(xmp_packet(creator_tool="x").encode()) == "application/rdf+xml"
