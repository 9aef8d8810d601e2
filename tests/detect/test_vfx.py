"""VFX and editorial formats: OpenEXR header attributes, DPX headers and user data, MXF
Identification sets and header metadata; written by struct in memory (tests.vfx_media)."""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path

import pytest

from provenance.detect import detect_file
from provenance.detect.formats.blocks import MAX_ELEMENTS
from provenance.detect.formats.dpx import MAX_USER_DATA
from provenance.detect.formats.exr import MAX_HEADER
from provenance.detect.formats.mxf import MAX_HEADER as MXF_MAX_HEADER
from provenance.detect.formats.mxf import PARTITION_PACK
from tests.fixtures_media import A1111_PARAMETERS, IPTC_DST, xmp_packet
from tests.vfx_media import MXF_IDENTIFICATION as IDENTIFICATION_KEY
from tests.vfx_media import MXF_PICTURE as PICTURE_KEY
from tests.vfx_media import (
    MXF_PRIMER,
    dpx,
    exr,
    exr_attribute,
    exr_multipart,
    exr_string,
    exr_stringvector,
    identification,
    klv,
    local_set,
    mxf,
    partition_pack,
    text_set,
    utf16,
)

pytestmark = pytest.mark.timeout(30)

GRAPH = {
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "flux1-dev.safetensors"}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a foggy harbour at dawn"}},
    "3": {"class_type": "KSampler", "inputs": {"seed": 5, "steps": 20, "positive": ["6", 0]}},
}
WORKFLOW = {"nodes": [{"id": 4, "type": "CheckpointLoaderSimple"}], "links": []}
EXR_HEAD = b"v/1\x01\x02\x00\x00\x00"  # the magic number and version 2, single part
AI_XMP = xmp_packet(digital_source_type=IPTC_DST + "trainedAlgorithmicMedia")


def _detect(data: bytes, name: str = "shot.0001.exr"):  # type: ignore[no-untyped-def]
    return detect_file(Path(name), data, sidecar=False)


# --- OpenEXR ---------------------------------------------------------------------------


def test_a_plain_exr_from_a_compositor_is_not_ai() -> None:
    data = exr(
        exr_string("software", "Nuke 15.1v3"),
        exr_string("owner", "comp department"),
        exr_string("capDate", "2026:11:30 10:00:00"),
        exr_string("comments", "plate, denoised"),
        exr_stringvector("multiView", ["left", "right"]),
    )
    verdict = _detect(data)
    assert (verdict.media_type, verdict.ai_class, verdict.problems) == ("image/x-exr", "none", ())


def test_comfyui_prompt_and_workflow_attributes_are_comfyui() -> None:
    data = exr(
        exr_string("prompt", json.dumps(GRAPH)), exr_string("workflow", json.dumps(WORKFLOW))
    )
    verdict = _detect(data)
    assert (verdict.ai_class, verdict.family, verdict.generator) == ("ai", "comfyui", "ComfyUI")
    assert verdict.prompt == "a foggy harbour at dawn"
    assert any(signal.source == "OpenEXR header 'prompt'" for signal in verdict.signals)


def test_a1111_parameters_attribute_is_read() -> None:
    verdict = _detect(exr(exr_string("parameters", A1111_PARAMETERS)))
    assert (verdict.ai_class, verdict.model) == ("ai", "testModel_v1")


def test_a1111_text_in_a_comments_stringvector_is_read() -> None:
    verdict = _detect(exr(exr_stringvector("comments", A1111_PARAMETERS.split("\n"))))
    assert (verdict.ai_class, verdict.family) == ("ai", "a1111")


def test_an_xmp_attribute_with_a_digital_source_type_is_ai() -> None:
    verdict = _detect(exr(exr_string("xmp", AI_XMP)))
    assert verdict.ai_class == "ai"
    assert verdict.signals[0].kind == "xmp-iptc"
    assert verdict.signals[0].source.startswith("OpenEXR header 'xmp'")


def test_generator_json_in_a_custom_attribute_names_the_tool() -> None:
    settings = {"generator": "FLUX.1 [dev]", "prompt": "a red kite", "seed": 9, "steps": 28}
    verdict = _detect(exr(exr_string("generator", json.dumps(settings))))
    assert (verdict.ai_class, verdict.family, verdict.prompt) == ("ai", "bfl", "a red kite")


def test_a_generator_named_in_software_is_what_exif_software_gives() -> None:
    verdict = _detect(exr(exr_string("Software", "Midjourney v7")))
    assert (verdict.ai_class, verdict.family) == ("ai", "midjourney")
    (signal,) = verdict.signals
    assert (signal.kind, signal.confidence) == ("exif", 0.8)


def test_a_mark_in_the_second_part_of_a_multipart_file_is_found() -> None:
    data = exr_multipart([exr_string("software", "Nuke 15.1v3")], [exr_string("xmp", AI_XMP)])
    verdict = _detect(data)
    assert verdict.ai_class == "ai"
    assert verdict.signals[0].source.startswith("OpenEXR part 1 'xmp'")
    assert verdict.problems == ()


def test_pixels_are_never_read() -> None:
    # an XMP packet among the pixels (past the header's end) is not the header's
    data = exr(exr_string("software", "Nuke 15.1v3")) + AI_XMP.encode()
    assert _detect(data).ai_class == "none"


def test_a_c2pa_attribute_is_a_mark_for_a_person() -> None:
    verdict = _detect(exr(exr_attribute("c2pa", "string", b"\x00\x00\x00\x20jumb" + bytes(24))))
    assert verdict.ai_class == "suspect"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (exr(exr_string("comments", "x"))[:120], "past the end of the file"),
        (EXR_HEAD + b"comments\x00string\x00" + struct.pack("<i", 2**31 - 1) + b"abc", "claims"),
        (EXR_HEAD + b"x\x00string\x00" + struct.pack("<i", -5) + b"\x00", "claims -5 bytes"),
        (EXR_HEAD + b"a" * 10_000, "is over 255 bytes"),
    ],
    ids=["truncated", "huge-size", "negative-size", "unterminated-name"],
)
def test_a_broken_exr_header_is_a_problem_not_a_crash(data: bytes, problem: str) -> None:
    verdict = _detect(data)
    assert verdict.ai_class == "none"
    assert any(problem in line for line in verdict.problems), verdict.problems


def test_endless_attributes_stop_at_the_cap() -> None:
    tiny = exr_attribute("a", "int", b"\x00\x00\x00\x00")
    data = EXR_HEAD + tiny * (MAX_ELEMENTS * 20) + b"\x00"
    start = time.perf_counter()
    verdict = _detect(data)
    assert time.perf_counter() - start < 5
    assert any(f"over {MAX_ELEMENTS} header attributes" in line for line in verdict.problems)


def test_a_header_over_its_byte_cap_stops_there() -> None:
    big = exr_attribute("icc", "opaque", bytes(MAX_HEADER))  # an attribute of the cap's size
    verdict = _detect(exr(big, exr_string("xmp", AI_XMP)))
    assert verdict.ai_class == "none"
    assert any("byte header cap" in line for line in verdict.problems), verdict.problems


# --- DPX -------------------------------------------------------------------------------


@pytest.mark.parametrize("little_endian", [False, True], ids=["SDPX", "XPDS"])
def test_a_plain_dpx_from_a_grading_tool_is_not_ai(little_endian: bool) -> None:
    data = dpx(
        creator="DaVinci Resolve Studio 19.1",
        project="heist",
        copyright="(c) 2026 Example Pictures",
        little_endian=little_endian,
    )
    verdict = _detect(data, "shot.0001.dpx")
    assert (verdict.media_type, verdict.ai_class, verdict.problems) == ("image/x-dpx", "none", ())


@pytest.mark.parametrize("little_endian", [False, True], ids=["SDPX", "XPDS"])
def test_a_generator_as_the_dpx_creator_is_what_exif_software_gives(little_endian: bool) -> None:
    verdict = _detect(dpx(creator="Runway Gen-4", little_endian=little_endian), "a.dpx")
    assert (verdict.ai_class, verdict.family) == ("ai", "runway")
    assert [(signal.kind, signal.source) for signal in verdict.signals] == [("exif", "DPX creator")]


def test_xmp_in_the_dpx_user_data_is_read() -> None:
    verdict = _detect(dpx(user_id="XMP", user_data=AI_XMP.encode() + bytes(3)), "a.dpx")
    assert verdict.ai_class == "ai"
    assert verdict.signals[0].source.startswith("DPX user data 'XMP'")


def test_parameters_text_in_the_dpx_user_data_is_read() -> None:
    data = dpx(user_id="parameters", user_data=A1111_PARAMETERS.encode())
    verdict = _detect(data, "a.dpx")
    assert (verdict.ai_class, verdict.model) == ("ai", "testModel_v1")


def test_a_comfyui_graph_in_the_dpx_user_data_is_comfyui() -> None:
    comment = json.dumps({"prompt": json.dumps(GRAPH), "workflow": WORKFLOW})
    verdict = _detect(dpx(user_id="ComfyUI", user_data=comment.encode()), "a.dpx")
    assert (verdict.ai_class, verdict.family) == ("ai", "comfyui")


def test_binary_or_plain_user_data_is_not_a_mark() -> None:
    for body in (bytes(range(256)) * 4, b"reel 12, take 3, lens 35mm"):
        verdict = _detect(dpx(user_id="camera", user_data=body), "a.dpx")
        assert (verdict.ai_class, verdict.problems) == ("none", ())


@pytest.mark.parametrize(
    ("declared", "problem"),
    [
        (2**32 - 2, "runs into the image data"),
        (MAX_USER_DATA * 4, "runs into the image data"),
    ],
)
def test_a_dpx_user_data_size_that_lies_is_bounded(declared: int, problem: str) -> None:
    data = dpx(user_id="XMP", user_data=AI_XMP.encode(), declared_user_size=declared)
    verdict = _detect(data, "a.dpx")
    assert verdict.ai_class == "ai"  # what is there is still read, up to the image data
    assert any(problem in line for line in verdict.problems), verdict.problems


def test_a_huge_dpx_user_data_block_is_read_up_to_its_cap() -> None:
    big = b"x" * (MAX_USER_DATA * 2)
    head = dpx(user_id="notes", user_data=big, pixels=0)
    # the image data offset says "after the user data": the cap, not the offset, stops it
    verdict = _detect(head, "a.dpx")
    assert any(f"only the first {MAX_USER_DATA} read" in line for line in verdict.problems)


def test_a_truncated_dpx_is_a_problem_not_a_crash() -> None:
    data = dpx(user_id="XMP", user_data=AI_XMP.encode())
    for cut in (10, 700, 2100):
        verdict = _detect(data[:cut], "a.dpx")
        assert verdict.ai_class == "none"
        assert verdict.problems, cut


# --- MXF -------------------------------------------------------------------------------

FILL_KEY = bytes.fromhex("060e2b34010101020301021001000000")


def test_a_plain_mxf_from_an_editing_tool_is_not_ai() -> None:
    data = mxf(identification("Avid Technology, Inc.", "Media Composer", "24.6", "Windows"))
    verdict = _detect(data, "A001C003.mxf")
    assert (verdict.media_type, verdict.ai_class, verdict.problems) == (
        "application/mxf",
        "none",
        (),
    )


def test_a_generator_as_the_mxf_product_is_what_exif_software_gives() -> None:
    data = mxf(
        identification("The Foundry", "Nuke", "15.1v3", "Linux"),  # the first generation
        identification("Runway AI, Inc.", "Gen-4", "4.0"),  # the tool that last wrote it
    )
    verdict = _detect(data, "clip.mxf")
    assert (verdict.ai_class, verdict.family) == ("ai", "runway")
    (signal,) = verdict.signals
    assert (signal.kind, signal.source, signal.generator) == (
        "exif",
        "MXF Identification 2",
        "Runway AI, Inc. Gen-4 4.0",
    )


@pytest.mark.parametrize("encode", [str.encode, utf16], ids=["utf-8", "utf-16"])
def test_xmp_in_a_header_metadata_property_is_read(encode) -> None:  # type: ignore[no-untyped-def]
    verdict = _detect(mxf(text_set(encode(AI_XMP))), "clip.mxf")
    assert verdict.ai_class == "ai"
    assert verdict.signals[0].kind == "xmp-iptc"


def test_a_comfyui_graph_in_a_header_metadata_property_is_comfyui() -> None:
    comment = json.dumps({"prompt": json.dumps(GRAPH), "workflow": WORKFLOW})
    verdict = _detect(mxf(text_set(comment.encode())), "clip.mxf")
    assert (verdict.ai_class, verdict.family) == ("ai", "comfyui")


def test_mxf_essence_is_never_read() -> None:
    # an XMP packet and an Identification set inside the essence are the picture's bytes
    essence = AI_XMP.encode() + identification("Runway AI, Inc.", "Gen-4", "4.0")
    data = mxf(identification("Avid Technology, Inc.", "Media Composer", "24.6"), essence=essence)
    assert _detect(data, "clip.mxf").ai_class == "none"


def test_identification_sets_in_the_footer_partition_are_read_when_the_header_has_none() -> None:
    runway = identification("Runway AI, Inc.", "Gen-4", "4.0")
    verdict = _detect(mxf(runway, in_footer=True), "clip.mxf")
    assert (verdict.ai_class, verdict.signals[0].source) == ("ai", "MXF footer Identification 1")
    # a header partition that names its tools is the file's word: the footer is not read
    avid = identification("Avid Technology, Inc.", "Media Composer", "24.6")
    header_only = mxf(avid)
    footer = klv(MXF_PRIMER, bytes(8)) + runway
    assert _detect(header_only + footer, "clip.mxf").ai_class == "none"


def _after_header(value: bytes) -> bytes:
    return partition_pack(0x02) + value


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (_after_header(IDENTIFICATION_KEY + b"\x88" + b"\xff" * 8), "claims 18446744073709551615"),
        (_after_header(IDENTIFICATION_KEY + b"\x8f" + b"\xff" * 15), "BER length of 15 bytes"),
        (_after_header(IDENTIFICATION_KEY + b"\x80"), "BER length of 0 bytes"),
        (_after_header(IDENTIFICATION_KEY + b"\x83\x7f\xff\xff" + bytes(10)), "past the end"),
        (_after_header(IDENTIFICATION_KEY[:9]), "cut short"),
        (_after_header(b"\x00" * 40), "no SMPTE key"),
        (
            _after_header(klv(IDENTIFICATION_KEY, b"\x3c\x02\xff\xff" + utf16("Gen-4"))),
            "runs past its set",
        ),
        (mxf(identification("a", "b", "c"))[:100], "file truncated"),
    ],
    ids=[
        "ber-bomb",
        "ber-too-long",
        "ber-indefinite",
        "set-past-end",
        "key-cut",
        "not-klv",
        "property-past-set",
        "truncated",
    ],
)
def test_a_broken_mxf_header_is_a_problem_not_a_crash(data: bytes, problem: str) -> None:
    verdict = _detect(data, "clip.mxf")
    assert verdict.ai_class == "none"
    assert any(problem in line for line in verdict.problems), verdict.problems


def test_endless_mxf_fill_stops_at_the_cap() -> None:
    data = _after_header(klv(FILL_KEY, b"") * (MAX_ELEMENTS * 5)) + klv(PICTURE_KEY, bytes(16))
    start = time.perf_counter()
    verdict = _detect(data, "clip.mxf")
    assert time.perf_counter() - start < 5
    assert any(f"over {MAX_ELEMENTS} header metadata sets" in line for line in verdict.problems)


def test_mxf_header_metadata_over_its_byte_cap_stops_there() -> None:
    big = klv(FILL_KEY, bytes(MXF_MAX_HEADER))
    verdict = _detect(mxf(big, identification("Runway AI, Inc.", "Gen-4", "4.0")), "clip.mxf")
    assert verdict.ai_class == "none"
    assert any("byte header cap" in line for line in verdict.problems), verdict.problems


def test_a_partition_pack_key_is_what_the_sniffer_knows() -> None:
    assert partition_pack(0x02).startswith(PARTITION_PACK)
    assert local_set(IDENTIFICATION_KEY)[:16] == IDENTIFICATION_KEY
