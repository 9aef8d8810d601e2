"""Property: whatever the bytes, detect_file returns a verdict or raises ReadError only."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provenance.detect import AiClass, detect_file
from provenance.errors import ReadError
from tests.fixtures_media import A1111_PARAMETERS, png_with_chunks, text_chunk

HEADERS = [
    b"",
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"\xff\xd8\xff\xe1",
    b"\xff\xd8\xff\xeb\x00\x40JP",
    b"RIFF\xff\xff\x00\x00WEBP",
    b"RIFF\xff\xff\x00\x00WAVE",
    b"\x00\x00\x00\x18ftypisom",
    b"II*\x00",
    b"MM\x00*",
    b"%PDF-1.7 c2pa",
    b"<x:xmpmeta ",
]
PNG_PREFIX = png_with_chunks([text_chunk("parameters", A1111_PARAMETERS)])


def _check(data: bytes, deep: bool) -> None:
    try:
        verdict = detect_file(Path("fuzz.bin"), data, deep=deep, sidecar=False)
    except ReadError:
        return
    assert verdict.ai_class in get_args(AiClass)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(header=st.sampled_from(HEADERS), body=st.binary(max_size=2048), deep=st.booleans())
@pytest.mark.timeout(120)
def test_random_bytes_never_raise_anything_but_read_error(
    header: bytes, body: bytes, deep: bool
) -> None:
    _check(header + body, deep)


@settings(max_examples=200, deadline=None)
@given(cut=st.integers(min_value=0, max_value=len(PNG_PREFIX)), noise=st.binary(max_size=64))
@pytest.mark.timeout(120)
def test_mangled_png_never_raises(cut: int, noise: bytes) -> None:
    _check(PNG_PREFIX[:cut] + noise + PNG_PREFIX[cut + len(noise) :], deep=True)
