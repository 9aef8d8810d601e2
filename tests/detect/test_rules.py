"""Path rules and manual tags become signals."""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance.detect import PathRule, detect_file, manual_signal
from provenance.detect.families.path_rules import matches
from tests.fixtures_media import plain_png


@pytest.mark.parametrize(
    ("glob", "path", "expected"),
    [
        ("/mnt/show/ai/**", "/mnt/show/ai/a/b/c.png", True),
        ("/mnt/show/ai/**", "/mnt/show/other/c.png", False),
        ("/mnt/show/ai/*.png", "/mnt/show/ai/c.png", True),
        ("/mnt/show/ai/*.png", "/mnt/show/ai/sub/c.png", False),
        ("**/midjourney/**", "/srv/x/midjourney/y/z.jpg", True),
        ("renders/mj_*", "/srv/show/renders/mj_001.png", True),
        ("renders/mj_*", "/srv/show/renders/other.png", False),
        ("/a/?.png", "/a/b.png", True),
        ("/a/[!x].png", "/a/b.png", True),
        ("/a/[!x].png", "/a/x.png", False),
    ],
)
def test_path_rule_globs(glob: str, path: str, expected: bool) -> None:
    assert matches(PathRule(glob, "Midjourney"), Path(path)) is expected


def test_path_rule_marks_a_file_without_metadata(tmp_path: Path) -> None:
    folder = tmp_path / "midjourney"
    folder.mkdir()
    image = folder / "x.png"
    image.write_bytes(plain_png())
    rules = [PathRule("**/midjourney/**", "Midjourney", model="v6", ai_class="partial")]
    verdict = detect_file(image, path_rules=rules)
    assert verdict.ai_class == "partial"
    assert (verdict.generator, verdict.family, verdict.model) == ("Midjourney", "midjourney", "v6")
    assert verdict.signals[0].kind == "path-rule"


def test_manual_signal() -> None:
    signal = manual_signal("Runway Gen-3", model="gen3", prompt="a boat")
    assert signal.kind == "manual"
    assert signal.ai_class == "ai"
    assert (signal.generator, signal.model, signal.prompt) == ("Runway Gen-3", "gen3", "a boat")
