"""Every format the C2PA library reads is handed to it, and manifest stores kept beside a
file (``.c2pa`` sidecars) are read against the file's bytes."""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import pytest
from PIL import Image

from provenance.detect import detect_file
from provenance.detect.families.c2pa import supported_media_types
from tests.fixtures_media import IPTC_DST, SigningIdentity, avif, c2pa_signed, heic, jpeg, jxl

SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b'<rect width="10" height="10"/></svg>'
)
#: An MP3: an empty ID3v2.4 tag and four silent MPEG-1 layer III frames.
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + (b"\xff\xfb\x90\x64" + bytes(413)) * 4
#: A FLAC: its last (only) metadata block, STREAMINFO (44.1 kHz, stereo, 16 bits), then a
#: frame's sync code. The C2PA library signs it with an ID3v2 tag before the stream.
FLAC = (
    b"fLaC\x80\x00\x00\x22"
    + struct.pack(">HH", 4096, 4096)
    + bytes(6)
    + (44100 << 44 | 1 << 41 | 15 << 36).to_bytes(8, "big")
    + bytes(16)
    + b"\xff\xf8"
    + bytes(64)
)


def _image(kind: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "gray").save(buffer, kind)
    return buffer.getvalue()


SOURCES = {
    "image/gif": lambda: _image("GIF"),
    "image/tiff": lambda: _image("TIFF"),
    "image/avif": avif,  # built box by box: Pillow writes AVIF only from 11.3
    "image/heic": heic,
    "image/jxl": jxl,
    "image/svg+xml": lambda: SVG,
    "audio/mpeg": lambda: MP3,
    "audio/flac": lambda: FLAC,
}


@pytest.mark.parametrize("mime", list(SOURCES))
@pytest.mark.timeout(60)
def test_signed_file_of_a_newly_read_format_is_ai(mime: str, test_signer: SigningIdentity) -> None:
    data = c2pa_signed(SOURCES[mime](), mime, test_signer)
    verdict = detect_file(Path("signed"), data, sidecar=False)
    assert verdict.media_type == mime
    assert verdict.ai_class == "ai", verdict
    assert verdict.generator == "Test Generator 1.0"
    (signal,) = [signal for signal in verdict.signals if signal.kind == "c2pa"]
    assert "signingCredential.untrusted" in signal.detail["validation_codes"]


@pytest.mark.parametrize("mime", list(SOURCES))
def test_unsigned_file_of_a_newly_read_format_is_not_ai(mime: str) -> None:
    verdict = detect_file(Path("plain"), SOURCES[mime](), sidecar=False)
    assert verdict.media_type == mime
    assert (verdict.ai_class, verdict.signals, verdict.problems) == ("none", (), ())


@pytest.mark.timeout(60)
def test_signed_dng_is_read_as_the_tiff_it_is(test_signer: SigningIdentity) -> None:
    data = c2pa_signed(_image("TIFF"), "image/x-adobe-dng", test_signer)
    verdict = detect_file(Path("raw.dng"), data, sidecar=False)
    assert (verdict.media_type, verdict.ai_class) == ("image/tiff", "ai")
    assert verdict.generator == "Test Generator 1.0"


def test_the_library_reads_every_format_we_name() -> None:
    for mime in (*SOURCES, "image/jxl", "image/heic", "audio/flac", "video/mp4", "audio/wav"):
        assert mime in supported_media_types()


def _sidecar_manifest(source: bytes, mime: str, signer: SigningIdentity) -> bytes:
    """Return a manifest store for ``source`` that is not embedded in it (a .c2pa file)."""
    import c2pa

    manifest = {
        "claim_generator_info": [{"name": "provenance-tests", "version": "1.0"}],
        "title": "test asset",
        "format": mime,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "softwareAgent": "Sidecar Generator 2.0",
                            "digitalSourceType": IPTC_DST + "trainedAlgorithmicMedia",
                        }
                    ]
                },
            }
        ],
    }
    info = c2pa.C2paSignerInfo(b"es256", signer.chain_pem, signer.key_pem, None)
    with c2pa.Signer.from_info(info) as c2pa_signer, c2pa.Builder(json.dumps(manifest)) as builder:
        builder.set_no_embed()
        output = io.BytesIO()
        store = builder.sign(c2pa_signer, mime, io.BytesIO(source), output)
    assert output.getvalue() == b"" or output.getvalue() == source
    return store


@pytest.mark.parametrize("name", ["still.c2pa", "still.jpg.c2pa"])
@pytest.mark.timeout(60)
def test_c2pa_sidecar_beside_a_file_is_read(
    tmp_path: Path, test_signer: SigningIdentity, name: str
) -> None:
    source = jpeg()
    path = tmp_path / "still.jpg"
    path.write_bytes(source)
    (tmp_path / name).write_bytes(_sidecar_manifest(source, "image/jpeg", test_signer))
    verdict = detect_file(path)
    assert verdict.ai_class == "ai"
    assert verdict.generator == "Sidecar Generator 2.0"
    (signal,) = verdict.signals
    assert signal.kind == "sidecar"
    assert signal.source == f"C2PA manifest (sidecar {name})"
    assert detect_file(path, sidecar=False).ai_class == "none"


@pytest.mark.timeout(60)
def test_c2pa_sidecar_of_other_content_is_invalid_and_says_so(
    tmp_path: Path, test_signer: SigningIdentity
) -> None:
    path = tmp_path / "still.jpg"
    path.write_bytes(jpeg(size=(32, 32)))
    manifest = _sidecar_manifest(jpeg(), "image/jpeg", test_signer)
    (tmp_path / "still.c2pa").write_bytes(manifest)
    verdict = detect_file(path)
    signals = [signal for signal in verdict.signals if signal.kind == "sidecar"]
    assert signals, verdict
    assert signals[0].detail["validation_state"] == "Invalid"
    assert any("mismatch" in code for code in signals[0].detail["validation_codes"])


def test_c2pa_sidecar_that_is_a_fifo_is_not_opened(tmp_path: Path) -> None:
    import os

    path = tmp_path / "still.jpg"
    path.write_bytes(jpeg())
    os.mkfifo(tmp_path / "still.c2pa")
    verdict = detect_file(path)  # would block forever if the FIFO were opened for reading
    assert verdict.ai_class == "none"
    assert "still.c2pa: not a regular file; not read" in verdict.problems
