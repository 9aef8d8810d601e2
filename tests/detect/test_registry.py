"""Signal families are one list: the pipeline names none of them, every family module is in
the list, and a family added to the list is run over a real file like the others."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

from PIL import Image
from PIL.PngImagePlugin import PngInfo

import provenance.detect.families as families_package
import provenance.detect.pipeline as pipeline
from provenance.detect import Signal, detect_file
from provenance.detect.families import FAMILIES, SIGNAL_KINDS
from provenance.detect.reading import Family, Found, Reading
from provenance.detect.vocab import find_generator
from tests.fixtures_media import A1111_PARAMETERS
from tests.schemas import load


def _family_modules() -> list[str]:
    return [info.name for info in pkgutil.iter_modules(families_package.__path__)]


def test_the_pipeline_imports_no_family_but_the_list() -> None:
    tree = ast.parse(Path(pipeline.__file__).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    from_families = {name for name in imported if name.startswith("provenance.detect.families")}
    assert from_families == {"provenance.detect.families.FAMILIES"}


def test_every_family_module_is_in_the_list_once() -> None:
    listed = [family.read for family in FAMILIES]
    entry_points = []
    for name in _family_modules():
        module = importlib.import_module(f"{families_package.__name__}.{name}")
        if hasattr(module, "read"):  # a family; the others are helpers (c2pa_claims, sd_json)
            entry_points.append(module.read)
    assert sorted(map(id, listed)) == sorted(map(id, entry_points))
    assert len({family.name for family in FAMILIES}) == len(FAMILIES)


def _read_software_chunk(reading: Reading) -> Found:
    """A small family: a text entry ``Software`` that names a known generator."""
    signals = []
    for entry in reading.texts:
        generator = find_generator(entry.text) if entry.keyword == "Software" else None
        if generator is not None:
            signals.append(
                Signal(
                    kind="software-text",
                    ai_class="ai",
                    generator=entry.text,
                    family=generator.family,
                    confidence=0.7,
                    source=entry.source,
                )
            )
    return signals, []


def _png(path: Path, **texts: str) -> Path:
    info = PngInfo()
    for keyword, text in texts.items():
        info.add_text(keyword, text)
    Image.new("RGB", (8, 8), (40, 90, 160)).save(path, pnginfo=info)
    return path


def test_a_family_added_to_the_list_is_run_with_the_others(tmp_path: Path) -> None:
    image = _png(tmp_path / "render.png", Software="Midjourney v6")
    assert detect_file(image).ai_class == "none"  # no family of the list reads that chunk

    more = (*FAMILIES, Family("software text", _read_software_chunk))
    verdict = detect_file(image, families=more)
    assert verdict.ai_class == "ai"
    assert (verdict.generator, verdict.family) == ("Midjourney v6", "midjourney")
    assert [signal.kind for signal in verdict.signals] == ["software-text"]

    both = _png(tmp_path / "both.png", parameters=A1111_PARAMETERS, Software="Midjourney v6")
    kinds = [signal.kind for signal in detect_file(both, families=more).signals]
    assert kinds == ["sd-text", "software-text"]  # the listed families ran first, in order


def test_a_family_that_fails_on_a_malformed_part_leaves_a_problem_and_the_others_run(
    tmp_path: Path,
) -> None:
    def read_broken(reading: Reading) -> Found:
        raise ValueError(f"cannot read {reading.media_type}")

    image = _png(tmp_path / "render.png", parameters=A1111_PARAMETERS)
    verdict = detect_file(image, families=(Family("broken", read_broken), *FAMILIES))
    assert verdict.ai_class == "ai" and verdict.family == "a1111"
    assert verdict.problems == (
        "broken: skipped malformed data (ValueError: cannot read image/png)",
    )


def test_every_signal_kind_is_in_the_record_schema_and_ranked_once() -> None:
    # a new family's new kind is a line in SIGNAL_KINDS (its rank when marks agree) and in
    # the record schema's enum, which other programs validate against
    record = load("provenance-record.schema.json")
    kind = record["$defs"]["signal"]["properties"]["kind"]
    assert sorted(kind["enum"]) == sorted(SIGNAL_KINDS)
    assert len(set(SIGNAL_KINDS)) == len(SIGNAL_KINDS)
