"""Name a file's media type from its first bytes (magic numbers), never from its name."""

from __future__ import annotations

import logging

from provenance.detect.buffers import Buffer
from provenance.detect.formats.id3 import tag_end

log = logging.getLogger(__name__)

#: ISO-BMFF major brands of QuickTime files; every other brand is reported as MP4.
_QUICKTIME_BRANDS = (b"qt  ",)
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1")
_AVIF_BRANDS = (b"avif", b"avis")
_AUDIO_BRANDS = (b"M4A ", b"M4B ")
#: JPEG XL: a bare codestream, or the ISO-BMFF-style container's signature box.
_JXL_SIGNATURES = (b"\xff\x0a", b"\x00\x00\x00\x0cJXL \r\n\x87\n")
#: An MXF file opens with its header partition pack's key (a run-in before it is not read).
_MXF_HEADER_PARTITION = bytes.fromhex("060e2b34020501010d0102010102")


def sniff_media_type(data: Buffer) -> str:
    """Return the MIME type that the magic bytes at the start of ``data`` announce.

    Unknown or empty content is ``"application/octet-stream"``. Example: a PNG saved
    under a ``.jpeg`` name is still ``"image/png"``.
    """
    head = bytes(data[:64])
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video/x-msvideo"
    if head.startswith(_JXL_SIGNATURES):
        return "image/jxl"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"ID3") and _is_flac_after_id3(data):
        return "audio/flac"  # an ID3v2 tag before a FLAC stream (C2PA's place in FLAC)
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE6 == 0xE2):
        return "audio/mpeg"  # an ID3v2 tag, or an MPEG audio layer III frame header
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm" if b"webm" in head else "video/x-matroska"
    if head[4:8] == b"jumb":
        return "application/c2pa"  # a bare C2PA manifest store (a .c2pa file)
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _QUICKTIME_BRANDS:
            return "video/quicktime"
        if brand in _HEIF_BRANDS:
            return "image/heic"
        if brand in _AVIF_BRANDS:
            return "image/avif"
        if brand in _AUDIO_BRANDS:
            return "audio/mp4"
        return "video/mp4"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"v/1\x01"):
        return "image/x-exr"
    if head.startswith((b"SDPX", b"XPDS")):
        return "image/x-dpx"  # big or little endian
    if head.startswith(_MXF_HEADER_PARTITION):
        return "application/mxf"
    if _is_svg(head, data):
        return "image/svg+xml"
    if _is_xmp_packet(head, data):
        return "application/rdf+xml"
    return "application/octet-stream"


def _is_flac_after_id3(data: Buffer) -> bool:
    """Say whether the ID3v2 tag that opens the content is followed by a FLAC stream."""
    end = tag_end(data)
    return bytes(data[end : end + 4]) == b"fLaC"


def _is_xmp_packet(head: bytes, data: Buffer) -> bool:
    """Say whether the content is a bare XMP packet (a ``.xmp`` sidecar file)."""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith((b"<?xpacket", b"<x:xmpmeta", b"<x:xapmeta")):
        return True
    if stripped.startswith((b"<?xml", b"<rdf:RDF")):
        return b"xmpmeta" in bytes(data[:4096]) or b"rdf:RDF" in bytes(data[:4096])
    return False


def _is_svg(head: bytes, data: Buffer) -> bool:
    """Say whether the content is an SVG document (its root element ``<svg``)."""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<svg"):
        return True
    if stripped.startswith((b"<?xml", b"<!DOCTYPE svg", b"<!--")):
        window = bytes(data[:4096])
        return b"<svg" in window and b"xmpmeta" not in window[: window.find(b"<svg")]
    return False
