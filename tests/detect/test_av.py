"""Video and audio generative metadata: MP4/MOV items, Matroska tags, ID3 and FLAC
comments, and SwarmUI's parameter file beside a video; written as raw boxes here."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from provenance.detect import detect_file
from tests.fixtures_media import SigningIdentity, c2pa_signed

GRAPH = {
    "1": {"class_type": "UNETLoader", "inputs": {"unet_name": "wan2.1_t2v_14B_fp16.safetensors"}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a paper boat on a river"}},
    "3": {"class_type": "KSampler", "inputs": {"seed": 7, "steps": 30, "positive": ["6", 0]}},
}
WORKFLOW = {"nodes": [{"id": 1, "type": "UNETLoader"}], "links": []}
#: What ComfyUI's video nodes write into a comment: the graph as a JSON string beside the UI
#: workflow.
COMFY_COMMENT = json.dumps({"prompt": json.dumps(GRAPH), "workflow": WORKFLOW})


def box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def data_box(text: str) -> bytes:
    return box(b"data", struct.pack(">II", 1, 0) + text.encode())


def mp4(moov_children: bytes, *, brand: bytes = b"isom", moov_last: bool = False) -> bytes:
    ftyp = box(b"ftyp", brand + b"\x00\x00\x02\x00" + brand)
    mdat = box(b"mdat", bytes(4096))
    moov = box(b"moov", box(b"mvhd", bytes(100)) + moov_children)
    return ftyp + (mdat + moov if moov_last else moov + mdat)


def ilst_udta(atom: bytes, text: str) -> bytes:
    hdlr = box(b"hdlr", bytes(8) + b"mdirappl" + bytes(9))
    meta = box(b"meta", b"\x00\x00\x00\x00" + hdlr + box(b"ilst", box(atom, data_box(text))))
    return box(b"udta", meta)


def mdta_meta(items: dict[str, str]) -> bytes:
    """A QuickTime ``meta`` with ``mdta`` keys (what ffmpeg's use_metadata_tags writes)."""
    hdlr = box(b"hdlr", bytes(8) + b"mdta" + bytes(13))
    keys = box(
        b"keys",
        struct.pack(">II", 0, len(items)) + b"".join(box(b"mdta", name.encode()) for name in items),
    )
    ilst = box(
        b"ilst",
        b"".join(
            box(struct.pack(">I", index), data_box(text))
            for index, text in enumerate(items.values(), start=1)
        ),
    )
    return box(b"meta", hdlr + keys + ilst)


@pytest.mark.parametrize("moov_last", [False, True], ids=["faststart", "moov-at-end"])
@pytest.mark.parametrize("atom", [b"\xa9cmt", b"desc", b"\xa9des"])
def test_mp4_comment_item_with_a_comfyui_workflow_is_comfyui(atom: bytes, moov_last: bool) -> None:
    data = mp4(ilst_udta(atom, COMFY_COMMENT), moov_last=moov_last)
    verdict = detect_file(Path("clip.mp4"), data, sidecar=False)
    assert verdict.media_type == "video/mp4"
    assert (verdict.ai_class, verdict.family) == ("ai", "comfyui")
    assert verdict.model == "wan2.1_t2v_14B_fp16.safetensors"
    assert verdict.prompt == "a paper boat on a river"


def test_mov_mdta_prompt_and_workflow_keys_are_comfyui() -> None:
    items = {"prompt": json.dumps(GRAPH), "workflow": json.dumps(WORKFLOW)}
    data = mp4(mdta_meta(items), brand=b"qt  ")
    verdict = detect_file(Path("clip.mov"), data, sidecar=False)
    assert verdict.media_type == "video/quicktime"
    assert (verdict.ai_class, verdict.family) == ("ai", "comfyui")
    assert verdict.signals[0].source == "BMFF ilst 'prompt'"


def test_quicktime_udta_text_comment_is_read() -> None:
    text = json.dumps(GRAPH).encode()
    udta = box(b"udta", box(b"\xa9cmt", struct.pack(">HH", len(text), 0) + text))
    verdict = detect_file(Path("clip.mov"), mp4(udta, brand=b"qt  "), sidecar=False)
    assert (verdict.ai_class, verdict.family) == ("ai", "comfyui")


def test_a1111_text_in_an_mp4_comment_is_read() -> None:
    text = "a fox\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 1, Model: ltxv-2b"
    verdict = detect_file(Path("clip.mp4"), mp4(ilst_udta(b"\xa9cmt", text)), sidecar=False)
    assert verdict.ai_class == "ai"
    assert verdict.model == "ltxv-2b"


def test_plain_mp4_with_an_encoder_comment_is_not_ai() -> None:
    data = mp4(ilst_udta(b"\xa9cmt", "shot on set, take 3") + ilst_udta(b"\xa9too", "Lavf61.7"))
    verdict = detect_file(Path("clip.mp4"), data, sidecar=False)
    assert (verdict.ai_class, verdict.problems) == ("none", ())


def test_mp4_box_claiming_more_than_its_parent_is_a_problem() -> None:
    broken = struct.pack(">I", 10_000) + b"udta" + bytes(16)
    verdict = detect_file(Path("clip.mp4"), mp4(broken), sidecar=False)
    assert verdict.ai_class == "none"
    assert any("runs past its parent" in problem for problem in verdict.problems)


def test_mp4_with_a_million_tiny_boxes_stops() -> None:
    verdict = detect_file(Path("clip.mp4"), mp4(box(b"udta", bytes(8) * 200_000)), sidecar=False)
    assert verdict.ai_class == "none"


# --- Matroska / WebM --------------------------------------------------------------------------


def ebml(element_id: int, body: bytes) -> bytes:
    size = len(body) | (1 << 56)  # an 8-byte size
    return (
        element_id.to_bytes((element_id.bit_length() + 7) // 8, "big")
        + size.to_bytes(8, "big")
        + body
    )


def matroska(tags: dict[str, str], *, doc_type: bytes = b"webm") -> bytes:
    header = ebml(0x1A45DFA3, ebml(0x4282, doc_type))
    simple = b"".join(
        ebml(0x67C8, ebml(0x45A3, name.encode()) + ebml(0x4487, value.encode()))
        for name, value in tags.items()
    )
    cluster = ebml(0x1F43B675, bytes(2048))
    segment = ebml(
        0x18538067, ebml(0x1549A966, bytes(16)) + cluster + ebml(0x1254C367, ebml(0x7373, simple))
    )
    return header + segment


@pytest.mark.parametrize(
    "tags",
    [
        {"COMMENT": COMFY_COMMENT},
        {"PROMPT": json.dumps(GRAPH), "WORKFLOW": json.dumps(WORKFLOW)},
        {"DESCRIPTION": json.dumps(GRAPH)},
    ],
    ids=["comment", "prompt-workflow", "description"],
)
def test_webm_tags_with_a_comfyui_graph_are_comfyui(tags: dict[str, str]) -> None:
    verdict = detect_file(Path("clip.webm"), matroska(tags), sidecar=False)
    assert verdict.media_type == "video/webm"
    assert (verdict.ai_class, verdict.family) == ("ai", "comfyui")


def test_matroska_without_generator_tags_is_not_ai() -> None:
    data = matroska({"ENCODER": "Lavf61.7", "TITLE": "dailies"}, doc_type=b"matroska")
    verdict = detect_file(Path("clip.mkv"), data, sidecar=False)
    assert verdict.media_type == "video/x-matroska"
    assert (verdict.ai_class, verdict.problems) == ("none", ())


# --- MP3 and FLAC ---------------------------------------------------------------------------


def id3_frame(frame_id: bytes, body: bytes) -> bytes:
    size = len(body)
    syncsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
    return frame_id + syncsafe + b"\x00\x00" + body


def mp3(*frames: bytes) -> bytes:
    body = b"".join(frames)
    size = len(body)
    syncsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
    return b"ID3\x04\x00\x00" + syncsafe + body + (b"\xff\xfb\x90\x64" + bytes(413)) * 2


def test_mp3_txxx_parameters_are_read() -> None:
    swarm = json.dumps({"sui_image_params": {"prompt": "lo-fi beat", "model": "stable-audio"}})
    data = mp3(id3_frame(b"TXXX", b"\x03parameters\x00" + swarm.encode()))
    verdict = detect_file(Path("track.mp3"), data, sidecar=False)
    assert verdict.media_type == "audio/mpeg"
    assert (verdict.ai_class, verdict.family, verdict.model) == ("ai", "swarmui", "stable-audio")


def test_mp3_utf16_comment_with_a_workflow_is_comfyui() -> None:
    # UTF-16 with a BOM: a language, an empty description, then the text
    comment = b"\x01eng" + "".encode("utf-16") + b"\x00\x00" + COMFY_COMMENT.encode("utf-16")
    verdict = detect_file(Path("track.mp3"), mp3(id3_frame(b"COMM", comment)), sidecar=False)
    assert (verdict.ai_class, verdict.family) == ("ai", "comfyui")


def test_mp3_geob_c2pa_frame_marks_a_manifest() -> None:
    from provenance.detect.formats.walk import walk

    geob = b"\x00application/c2pa\x00\x00manifest.c2pa\x00c2pa\x00" + bytes(64)
    parts = walk(mp3(id3_frame(b"GEOB", geob)), "audio/mpeg")
    assert parts.c2pa_marker == "ID3 GEOB c2pa"


def flac(comments: list[str], *, last: bool = True) -> bytes:
    vendor = b"reference libFLAC 1.4.3"
    body = struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", len(comments))
    for comment in comments:
        raw = comment.encode()
        body += struct.pack("<I", len(raw)) + raw
    streaminfo = bytes([0x00]) + (34).to_bytes(3, "big") + bytes(34)
    block = bytes([0x84 if last else 0x04]) + len(body).to_bytes(3, "big") + body
    return b"fLaC" + streaminfo + block + b"\xff\xf8" + bytes(64)


def test_flac_vorbis_comment_with_a_graph_is_comfyui() -> None:
    verdict = detect_file(
        Path("track.flac"), flac([f"COMMENT={json.dumps(GRAPH)}", "TITLE=x"]), sidecar=False
    )
    assert verdict.media_type == "audio/flac"
    assert (verdict.ai_class, verdict.family) == ("ai", "comfyui")


@pytest.mark.timeout(60)
def test_signed_flac_keeps_its_vorbis_comments(test_signer: SigningIdentity) -> None:
    # the C2PA library puts a FLAC's manifest in an ID3v2 tag (GEOB) before the stream:
    # the file is still FLAC, and the workflow in its comments is still read
    data = c2pa_signed(flac([f"COMMENT={COMFY_COMMENT}"]), "audio/flac", test_signer)
    assert data.startswith(b"ID3")
    verdict = detect_file(Path("track.flac"), data, sidecar=False)
    assert verdict.media_type == "audio/flac"
    assert {signal.kind for signal in verdict.signals} == {"c2pa", "sd-text"}
    assert "comfyui" in {signal.family for signal in verdict.signals}
    assert verdict.problems == ()


def test_flac_after_an_id3_tag_is_walked_past_it() -> None:
    comment = b"\x03eng\x00" + b"beat made with ComfyUI"
    tagged = mp3(id3_frame(b"COMM", comment)).split(b"\xff\xfb", 1)[0]
    data = tagged + flac([f"COMMENT={json.dumps(GRAPH)}"])
    verdict = detect_file(Path("track.flac"), data, sidecar=False)
    assert (verdict.media_type, verdict.ai_class, verdict.family) == ("audio/flac", "ai", "comfyui")
    bogus = b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f" + flac(["TITLE=x"])  # a tag past the end
    assert detect_file(Path("x.flac"), bogus, sidecar=False).media_type == "audio/mpeg"


def test_flac_without_generator_comments_is_not_ai() -> None:
    verdict = detect_file(Path("track.flac"), flac(["ARTIST=band", "TITLE=song"]), sidecar=False)
    assert (verdict.ai_class, verdict.problems) == ("none", ())


def test_flac_with_a_block_past_the_end_is_a_problem() -> None:
    data = flac(["COMMENT=x"])[:60]
    verdict = detect_file(Path("track.flac"), data, sidecar=False)
    assert verdict.ai_class == "none"
    assert any("runs past the end" in problem for problem in verdict.problems)


# --- SwarmUI's parameters beside a video ----------------------------------------------------


def test_swarmui_json_beside_a_video_is_swarmui(tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    video.write_bytes(mp4(b""))
    params = {"sui_image_params": {"prompt": "a lighthouse", "model": "hunyuan-video"}}
    (tmp_path / "clip.swarm.json").write_text(json.dumps(params))
    verdict = detect_file(video)
    assert (verdict.ai_class, verdict.family, verdict.model) == ("ai", "swarmui", "hunyuan-video")
    assert verdict.signals[0].kind == "sidecar"


def test_other_json_beside_a_video_is_not_evidence(tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    video.write_bytes(mp4(b""))
    (tmp_path / "clip.swarm.json").write_text(json.dumps({"prompt": "x", "notes": "y"}))
    assert detect_file(video).ai_class == "none"


# --- Tool, encoder and software tags name the generator, as EXIF Software does ----------


def matroska_info(writing_app: str) -> bytes:
    header = ebml(0x1A45DFA3, ebml(0x4282, b"webm"))
    info = ebml(0x1549A966, ebml(0x2AD7B1, b"\x0f\x42\x40") + ebml(0x5741, writing_app.encode()))
    return header + ebml(0x18538067, info + ebml(0x1F43B675, bytes(2048)))


@pytest.mark.parametrize(
    ("path", "data", "family"),
    [
        ("clip.mp4", mp4(ilst_udta(b"\xa9too", "Runway Gen-4 Turbo")), "runway"),
        ("clip.mp4", mp4(ilst_udta(b"\xa9too", "Sora")), "openai"),
        ("clip.mkv", matroska({"ENCODER": "Runway Gen-3 Alpha"}, doc_type=b"matroska"), "runway"),
        ("clip.webm", matroska_info("Sora 2"), "openai"),
        ("song.mp3", mp3(id3_frame(b"TSSE", b"\x03Suno v4.5")), "suno"),
        ("song.mp3", mp3(id3_frame(b"TENC", b"\x03Udio")), "udio"),
        ("voice.flac", flac(["ENCODER=ElevenLabs", "TITLE=take 2"]), "elevenlabs"),
        ("voice.flac", flac(["ENCODER=Eleven Labs Text to Speech"]), "elevenlabs"),
    ],
    ids=["mp4-too-runway", "mp4-too-sora", "mkv-encoder", "webm-writing-app", "id3-tsse-suno",
         "id3-tenc-udio", "flac-encoder-elevenlabs", "flac-encoder-eleven-labs"],
)  # fmt: skip
def test_a_generator_in_a_tool_tag_is_a_mark(path: str, data: bytes, family: str) -> None:
    verdict = detect_file(Path(path), data, sidecar=False)
    assert (verdict.ai_class, verdict.family) == ("ai", family)
    assert verdict.signals[0].kind == "exif"


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("clip.mp4", mp4(ilst_udta(b"\xa9too", "HandBrake 1.8.2 2024082900"))),
        ("clip.mp4", mp4(ilst_udta(b"\xa9enc", "x264 core 164 r3108"))),
        ("clip.mkv", matroska({"ENCODER": "Lavf61.7.100"}, doc_type=b"matroska")),
        ("clip.webm", matroska_info("Lavf61.7.100")),
        ("song.mp3", mp3(id3_frame(b"TSSE", b"\x03LAME 3.100"))),
        ("song.mp3", mp3(id3_frame(b"TENC", b"\x03Audio Studio"))),
        ("voice.flac", flac(["ENCODER=reference libFLAC 1.4.3"])),
    ],
    ids=["handbrake", "x264", "lavf", "writing-app-lavf", "lame", "audio-studio", "libflac"],
)
def test_a_plain_encoder_in_a_tool_tag_is_no_mark(path: str, data: bytes) -> None:
    verdict = detect_file(Path(path), data, sidecar=False)
    assert (verdict.ai_class, verdict.problems) == ("none", ())
