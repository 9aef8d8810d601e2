"""Build small media files with AI marks for tests: PNG text chunks, EXIF, XMP, C2PA.

Everything is generated in memory (Pillow, struct/zlib, cryptography, c2pa-python), so no
binary fixture is committed. Other test suites import these builders to make AI images.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

IPTC_DST = "http://cv.iptc.org/newscodes/digitalsourcetype/"
A1111_PARAMETERS = (
    "a lighthouse at dusk, oil painting\n"
    "Negative prompt: blurry\n"
    "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1234, Size: 64x64, "
    "Model hash: abcdef1234, Model: testModel_v1, Version: v1.10.1"
)


# --- PNG ------------------------------------------------------------------------------


def png_chunk(chunk_type: bytes, body: bytes) -> bytes:
    """Return one PNG chunk: length, type, body and CRC."""
    crc = zlib.crc32(chunk_type + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + chunk_type + body + struct.pack(">I", crc)


def text_chunk(keyword: str, text: str) -> bytes:
    """Return a tEXt chunk (Latin-1)."""
    return png_chunk(b"tEXt", keyword.encode("latin-1") + b"\x00" + text.encode("latin-1"))


def ztxt_chunk(keyword: str, text: str) -> bytes:
    """Return a zTXt chunk (zlib-compressed Latin-1)."""
    body = keyword.encode("latin-1") + b"\x00\x00" + zlib.compress(text.encode("latin-1"))
    return png_chunk(b"zTXt", body)


def itxt_chunk(keyword: str, text: str, *, compressed: bool = False) -> bytes:
    """Return an iTXt chunk (UTF-8, optionally compressed)."""
    payload = text.encode("utf-8")
    if compressed:
        payload = zlib.compress(payload)
    header = keyword.encode("latin-1") + b"\x00" + bytes([int(compressed), 0]) + b"\x00\x00"
    return png_chunk(b"iTXt", header + payload)


def plain_png(size: tuple[int, int] = (8, 8), mode: str = "RGB") -> bytes:
    """Return a PNG written by Pillow with no metadata."""
    buffer = io.BytesIO()
    Image.new(mode, size, "white" if mode != "RGBA" else (255, 255, 255, 255)).save(buffer, "PNG")
    return buffer.getvalue()


def split_png(data: bytes) -> list[bytes]:
    """Return the chunks of a PNG (each whole, with length and CRC), signature excluded."""
    chunks = []
    position = 8
    while position < len(data):
        length = struct.unpack(">I", data[position : position + 4])[0]
        chunks.append(data[position : position + 12 + length])
        position += 12 + length
    return chunks


def png_with_chunks(
    before_idat: Sequence[bytes] = (), after_idat: Sequence[bytes] = (), base: bytes | None = None
) -> bytes:
    """Return a PNG with extra chunks inserted before the first IDAT and/or after the last."""
    chunks = split_png(base if base is not None else plain_png())
    first = next(i for i, chunk in enumerate(chunks) if chunk[4:8] == b"IDAT")
    last = max(i for i, chunk in enumerate(chunks) if chunk[4:8] == b"IDAT")
    out = [*chunks[:first], *before_idat, *chunks[first : last + 1], *after_idat]
    out.extend(chunks[last + 1 :])
    return b"\x89PNG\r\n\x1a\n" + b"".join(out)


def png_claiming_300_mb() -> bytes:
    """Return a PNG that ends in a text chunk claiming 300 MB: a few hundred bytes in all."""
    chunks = split_png(plain_png())
    claim = struct.pack(">I", 300 * 1024 * 1024) + b"tEXt" + b"parameters\x00Steps: 1"
    return b"\x89PNG\r\n\x1a\n" + chunks[0] + claim


def ztxt_bomb(megabytes: int) -> bytes:
    """Return a PNG with one zTXt chunk of ``megabytes`` MB of zeros (a thousandth of that
    compressed)."""
    compressor = zlib.compressobj(9)
    zeros = b"\x00" * (1024 * 1024)
    body = b"".join(compressor.compress(zeros) for _ in range(megabytes)) + compressor.flush()
    return png_with_chunks([png_chunk(b"zTXt", b"x\x00\x00" + body)])


# --- EXIF, XMP, JPEG, WebP ------------------------------------------------------------


def user_comment(text: str, encoding: str = "utf-16-be") -> bytes:
    """Return an EXIF UserComment value with its character-set prefix."""
    if encoding.startswith("utf-16"):
        return b"UNICODE\x00" + text.encode(encoding)
    return b"ASCII\x00\x00\x00" + text.encode("ascii")


def exif_bytes(
    *, comment: bytes | None = None, software: str | None = None, make: str | None = None
) -> bytes:
    """Return an EXIF block (``Exif\\0\\0`` + TIFF) with the given fields, built by Pillow."""
    exif = Image.Exif()
    if software is not None:
        exif[0x0131] = software
    if make is not None:
        exif[0x010F] = make
    if comment is not None:
        exif.get_ifd(0x8769)[0x9286] = comment
    return exif.tobytes()


def xmp_packet(*, digital_source_type: str | None = None, creator_tool: str | None = None) -> str:
    """Return an XMP packet with an IPTC DigitalSourceType and/or xmp:CreatorTool."""
    fields = ""
    if digital_source_type is not None:
        tag = "Iptc4xmpExt:DigitalSourceType"
        fields += f"<{tag}>{digital_source_type}</{tag}>"
    if creator_tool is not None:
        fields += f"<xmp:CreatorTool>{creator_tool}</xmp:CreatorTool>"
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" '
        'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        'xmlns:xmp="http://ns.adobe.com/xap/1.0/">'
        f"{fields}</rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    )


#: Another tool's sidecar (no record of ours), as darktable leaves beside a file.
FOREIGN_SIDECAR = xmp_packet(creator_tool="darktable 4.8")


def jpeg(
    *,
    exif: bytes | None = None,
    xmp: str | bytes | None = None,
    size: tuple[int, int] = (16, 16),
    comment: bytes | None = None,
) -> bytes:
    """Return a JPEG written by Pillow, with an EXIF block, an XMP packet and/or a COM."""
    buffer = io.BytesIO()
    options: dict[str, object] = {}
    if exif is not None:
        options["exif"] = exif
    if xmp is not None:
        options["xmp"] = xmp.encode("utf-8") if isinstance(xmp, str) else xmp
    if comment is not None:
        options["comment"] = comment
    Image.new("RGB", size, "gray").save(buffer, "JPEG", **options)
    return buffer.getvalue()


def webp(*, exif: bytes | None = None) -> bytes:
    """Return a WebP written by Pillow, with an EXIF chunk."""
    buffer = io.BytesIO()
    options: dict[str, object] = {"exif": exif} if exif is not None else {}
    Image.new("RGB", (16, 16), "gray").save(buffer, "WEBP", **options)
    return buffer.getvalue()


# --- C2PA -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SigningIdentity:
    """A throw-away ES256 signing identity: leaf + CA chain and the leaf's key (PEM)."""

    chain_pem: bytes
    key_pem: bytes


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _full_box(kind: bytes, version: int, payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", version << 24) + payload)


def avif(width: int = 16, height: int = 16) -> bytes:
    """An AVIF container (ISO BMFF: ftyp, meta with one av01 item, mdat), written box by box
    whatever Pillow can write (its AVIF writer came in 11.3). The item holds an AV1 temporal
    delimiter and sequence header, no frame: C2PA signs and reads boxes, never pixels."""
    av1 = bytes.fromhex("12000a0b00000024cf7f0dbfff3008")
    av1c = _box(b"av1C", bytes.fromhex("81000c00"))
    return _heif(b"avif" + bytes(4) + b"avifmif1miaf", b"av01", av1c, av1, width, height)


def heic(width: int = 16, height: int = 16) -> bytes:
    """A HEIC container as :func:`avif` builds one, its one item an HEVC image (hvc1) whose
    decoder configuration and data are placeholders: nothing here decodes a picture."""
    hvcc = _box(b"hvcC", bytes([1]) + bytes(22))
    return _heif(b"heic" + bytes(4) + b"mif1heic", b"hvc1", hvcc, bytes(16), width, height)


def _heif(
    ftyp: bytes, item_type: bytes, config: bytes, item: bytes, width: int, height: int
) -> bytes:
    """An ISO BMFF still image: ftyp, a meta box naming one item of ``item_type`` (its
    ``config`` property and size), and an mdat holding the item's bytes."""
    ftyp_box = _box(b"ftyp", ftyp)
    hdlr = _full_box(b"hdlr", 0, bytes(4) + b"pict" + bytes(13))
    pitm = _full_box(b"pitm", 0, struct.pack(">H", 1))
    infe = _full_box(b"infe", 2, struct.pack(">HH", 1, 0) + item_type + b"\0")
    iinf = _full_box(b"iinf", 0, struct.pack(">H", 1) + infe)
    ispe = _full_box(b"ispe", 0, struct.pack(">II", width, height))
    ipma = _full_box(b"ipma", 0, struct.pack(">IHB", 1, 1, 2) + bytes.fromhex("0182"))
    iprp = _box(b"iprp", _box(b"ipco", ispe + config) + ipma)

    def meta(offset: int) -> bytes:  # iloc: 4-byte offsets and lengths, one extent
        where = struct.pack(">HHHHII", 1, 1, 0, 1, offset, len(item))
        iloc = _full_box(b"iloc", 0, bytes.fromhex("4400") + where)
        return _full_box(b"meta", 0, hdlr + pitm + iloc + iinf + iprp)

    data_at = len(ftyp_box) + len(meta(0)) + 8  # the mdat's payload, after its header
    return ftyp_box + meta(data_at) + _box(b"mdat", item)


def jxl() -> bytes:
    """A JPEG XL file in its ISO BMFF-style container (signature box, ftyp, one jxlc box of
    codestream): C2PA keeps its manifest in a box of that container, never in the codestream.
    The codestream is its signature and a placeholder, not a picture."""
    signature = _box(b"JXL ", b"\r\n\x87\n")
    return (
        signature
        + _box(b"ftyp", b"jxl " + bytes(4) + b"jxl ")
        + _box(b"jxlc", b"\xff\x0a" + bytes(16))
    )


def make_test_signer() -> SigningIdentity:
    """Return an ES256 leaf certificate (digitalSignature, emailProtection, not a CA)
    issued by a freshly generated CA. Readers report it as ``signingCredential.untrusted``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "provenance test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf_cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.COMMON_NAME, "provenance test signer"),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "provenance tests"),
                ]
            )
        )
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    chain = leaf_cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(
        serialization.Encoding.PEM
    )
    key = leaf_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return SigningIdentity(chain, key)


def c2pa_signed(
    source: bytes,
    mime_type: str,
    signer: SigningIdentity,
    *,
    actions: Sequence[tuple[str, str | None]] = (("c2pa.created", "trainedAlgorithmicMedia"),),
    software_agent: str = "Test Generator 1.0",
) -> bytes:
    """Return ``source`` with an embedded C2PA manifest holding ``actions``.

    Each action is ``(name, IPTC source-type term or None)``; the first must be
    ``c2pa.created`` or ``c2pa.opened`` (the SDK refuses anything else).
    """
    import c2pa

    entries = []
    for action, term in actions:
        entry: dict[str, object] = {"action": action, "softwareAgent": software_agent}
        if term is not None:
            entry["digitalSourceType"] = IPTC_DST + term
        entries.append(entry)
    manifest = {
        "claim_generator_info": [{"name": "provenance-tests", "version": "1.0"}],
        "title": "test asset",
        "format": mime_type,
        "assertions": [{"label": "c2pa.actions", "data": {"actions": entries}}],
    }
    info = c2pa.C2paSignerInfo(b"es256", signer.chain_pem, signer.key_pem, None)
    output = io.BytesIO()
    with c2pa.Signer.from_info(info) as c2pa_signer, c2pa.Builder(json.dumps(manifest)) as builder:
        builder.sign(c2pa_signer, mime_type, io.BytesIO(source), output)
    return output.getvalue()


#: An XMP packet whose entities expand to gigabytes (the parser must refuse it).
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description
 xmlns:dc="http://purl.org/dc/elements/1.1/" dc:title="&lol9;"/></rdf:RDF></x:xmpmeta>"""
