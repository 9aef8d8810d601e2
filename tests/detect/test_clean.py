"""A verdict's values are made safe for every catalog backend before they leave a worker."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from provenance.detect import Signal, Verdict
from provenance.detect.clean import CUT, MAX_NAME, MAX_TEXT, clean_text, clean_verdict


def test_nul_and_lone_surrogates_become_replacement_characters() -> None:
    assert clean_text("a\x00b\udcffc") == "a\ufffdb\ufffdc"


def test_an_oversized_value_is_cut_with_a_marker() -> None:
    cut = clean_text("x" * (MAX_TEXT + 10))
    assert len(cut) == MAX_TEXT and cut.endswith(CUT)


def test_every_text_of_a_verdict_is_cleaned() -> None:
    signal = Signal(
        kind="sd-text",
        ai_class="ai",
        model="m\x00" * MAX_NAME,
        prompt="p\x00",
        parameters={"seed\x00": ["\udc80", {"deep": "\x00"}], "steps": 20},
        source="PNG tEXt 'parameters'",
    )
    verdict = clean_verdict(
        Verdict(ai_class="ai", media_type="image/png", prompt="p\x00", signals=(signal,))
    )
    (cleaned,) = verdict.signals
    assert verdict.prompt == "p\ufffd" and cleaned.prompt == "p\ufffd"
    assert cleaned.model is not None and len(cleaned.model) == MAX_NAME
    assert cleaned.parameters == {"seed\ufffd": ["\ufffd", {"deep": "\ufffd"}], "steps": 20}


@given(st.text())
def test_cleaned_text_always_encodes_and_holds_no_nul(text: str) -> None:
    cleaned = clean_text(text)
    cleaned.encode("utf-8")
    assert "\x00" not in cleaned and len(cleaned) <= MAX_TEXT
