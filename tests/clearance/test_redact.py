"""Prompt privacy: the redaction modes (pure) and what a scan stores under each (both backends)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from provenance.catalog import Catalog
from provenance.clearance.redact import redact_parameters, redact_prompt, redact_text
from tests.clearance.helpers import asset_at, run, write_config
from tests.media import A1111_PARAMETERS, write_a1111_png

PROMPT = "portrait of Jane Doe, call +44 20 7946 0958 or mail jane.doe@agency.example, 1024x768"
DIGEST = hashlib.sha256(PROMPT.encode()).hexdigest()


def test_redacted_replaces_emails_phones_and_names_with_typed_tokens() -> None:
    stored, digest = redact_prompt(PROMPT, "redacted", ["jane doe"])
    assert stored == "portrait of [NAME], call [PHONE] or mail [EMAIL], 1024x768"
    assert digest == DIGEST


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("full", (PROMPT, DIGEST)), ("hash", (None, DIGEST)), ("none", (None, None))],
)
def test_other_modes(mode: str, expected: tuple[str | None, str | None]) -> None:
    assert redact_prompt(PROMPT, mode) == expected


def test_no_prompt_and_unknown_modes() -> None:
    assert redact_prompt(None, "redacted") == (None, None)
    with pytest.raises(ValueError, match="unknown prompt storage"):
        redact_prompt("x", "shred")


@pytest.mark.parametrize(
    "text", ["(555) 123-4567", "555-123-4567", "+1 555 123 4567", "020 7946 0958"]
)
def test_phone_numbers_are_found(text: str) -> None:
    assert redact_text(f"call {text} now") == "call [PHONE] now"


@pytest.mark.parametrize("text", ["seed 1234567890", "size 1024x768", "steps 20, cfg 7"])
def test_ordinary_numbers_are_kept(text: str) -> None:
    assert redact_text(text) == text


def test_prompt_like_parameters_are_treated_as_the_prompt() -> None:
    params = {"negative_prompt": "no jane@x.example", "seed": 5}
    assert redact_parameters(params, "redacted") == {"negative_prompt": "no [EMAIL]", "seed": 5}
    assert redact_parameters(params, "hash") == {"seed": 5}


@pytest.mark.parametrize(
    ("mode", "asset_prompt", "signal_prompt"),
    [
        ("redacted", "portrait of [NAME], call [PHONE] or mail [EMAIL], 1024x768", "same"),
        ("full", PROMPT, "same"),
        ("hash", None, None),
        ("none", None, None),
    ],
)
def test_a_scan_stores_prompts_as_configured(
    tmp_path: Path,
    catalog: Catalog,
    mode: str,
    asset_prompt: str | None,
    signal_prompt: str | None,
) -> None:
    root = tmp_path / "show_b"
    parameters = f"{PROMPT}\nNegative prompt: jane@x.example\n{A1111_PARAMETERS.splitlines()[-1]}"
    path = write_a1111_png(root / "a.png", parameters)
    config = write_config(tmp_path, root, catalog, prompt_storage=mode, redact_names=["Jane Doe"])
    assert run(config, "scan", str(root)).exit_code == 0
    asset = asset_at(catalog, path)
    assert asset.prompt == asset_prompt
    assert asset.prompt_sha256 == (None if mode == "none" else DIGEST)
    with catalog.read() as tx:
        (signal,) = [s for s in tx.signals_of(asset.id or 0) if s.kind == "sd-text"]
    assert signal.prompt == (asset_prompt if signal_prompt == "same" else signal_prompt)
    negative = signal.parameters.get("negative_prompt")
    assert negative == {"redacted": "[EMAIL]", "full": "jane@x.example"}.get(mode)


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    "bait",
    # as long as a stored prompt may be (detect.clean.MAX_TEXT): quadratic work on it took
    # minutes; linear work takes milliseconds
    ["x" * 65_536, "x" * 32_000 + "@" + "y" * 32_000, "a@" * 32_768, "a@b." * 16_384],
    ids=["letters", "one-at", "many-ats", "dots"],
)
def test_redacting_a_hostile_prompt_takes_linear_time(bait: str) -> None:
    # a prompt is the file's: the e-mail pattern took minutes on a long run of letters
    import time

    started = time.perf_counter()
    redact_text(bait)
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to john.doe+x@example.co.uk today", "write to [EMAIL] today"),
        ("a@b.c@d.e", "[EMAIL]@d.e"),
        ("a@b..c and x@y", "a@b..c and x@y"),
        ("end a@b.c.", "end [EMAIL]."),
    ],
)
def test_emails_are_found_as_the_pattern_found_them(text: str, expected: str) -> None:
    assert redact_text(text) == expected
