"""combine(): the class is the strongest claim; naming follows the strongest kind."""

from __future__ import annotations

import pickle

from provenance.detect import Signal, Verdict, combine, manual_signal


def test_no_signals_is_none() -> None:
    verdict = combine([], "image/png", ["a problem"])
    assert verdict.ai_class == "none"
    assert verdict.confidence == 0.0
    assert verdict.problems == ("a problem",)


def test_ai_beats_partial_beats_none() -> None:
    partial = Signal(kind="c2pa", ai_class="partial", generator="Adobe Firefly")
    ai = Signal(kind="exif", ai_class="ai", generator="Midjourney", family="midjourney")
    none = Signal(kind="c2pa", ai_class="none")
    assert combine([none, partial], "image/jpeg").ai_class == "partial"
    verdict = combine([partial, ai, none], "image/jpeg")
    assert verdict.ai_class == "ai"
    assert verdict.generator == "Midjourney"
    assert len(verdict.signals) == 3


def test_stronger_kind_names_the_generator_and_gaps_are_filled() -> None:
    exif = Signal(kind="exif", ai_class="ai", generator="NovelAI", family="novelai", model="m")
    c2pa = Signal(kind="c2pa", ai_class="ai", generator="gpt-image", family="openai")
    verdict = combine([exif, c2pa], "image/png")
    assert (verdict.generator, verdict.family, verdict.model) == ("gpt-image", "openai", "m")


def test_manual_tag_overrides_naming() -> None:
    sd = Signal(kind="sd-text", ai_class="ai", generator="ComfyUI", family="comfyui", model="x")
    verdict = combine([sd, manual_signal("Internal tool", model="y")], "image/png")
    assert (verdict.generator, verdict.model) == ("Internal tool", "y")
    assert verdict.family == "comfyui"


def test_confidence_grows_with_agreeing_signals() -> None:
    one = Signal(kind="exif", ai_class="ai", confidence=0.8)
    two = Signal(kind="xmp-iptc", ai_class="ai", confidence=0.8)
    assert combine([one], "image/png").confidence == 0.8
    assert combine([one, two], "image/png").confidence == 0.96


def test_files_without_marks_share_one_verdict_per_media_type() -> None:
    # a worker's chunk of results pickles the shared verdict once, not once per plain file
    first, second = combine([], "image/png"), combine([], "image/png")
    assert first is second and first == Verdict(ai_class="none", media_type="image/png")
    assert combine([], "image/jpeg").media_type == "image/jpeg"
    troubled = combine([], "image/png", ["PNG: truncated"])
    assert troubled is not first and troubled.problems == ("PNG: truncated",)
    loaded = pickle.loads(pickle.dumps([first, second]))
    assert loaded[0] is loaded[1] and loaded[0] == first


def test_more_specific_generator_names_the_file_whatever_the_order() -> None:
    comfy = Signal(kind="sd-text", ai_class="ai", generator="ComfyUI", family="comfyui", model="a")
    swarm = Signal(kind="sd-text", ai_class="ai", generator="SwarmUI", family="swarmui")
    for signals in ([comfy, swarm], [swarm, comfy]):
        verdict = combine(signals, "image/png")
        assert (verdict.generator, verdict.family, verdict.model) == ("SwarmUI", "swarmui", "a")


def test_refined_family_yields_even_to_a_weaker_kind() -> None:
    xmp = Signal(kind="xmp-iptc", ai_class="ai", generator="ComfyUI", family="comfyui")
    exif = Signal(kind="exif", ai_class="ai", generator="SwarmUI 0.9", family="swarmui")
    assert combine([xmp, exif], "image/png").family == "swarmui"


def test_refines_table_names_known_families_only() -> None:
    from provenance.detect.combine import REFINES

    for specific, bases in REFINES.items():
        assert specific not in bases
        for base in bases:
            assert specific not in REFINES.get(base, ()), "a cycle makes the order meaningless"
