"""`provenance scan` over a VFX tree: OpenEXR frame sequences, DPX scans and MXF media, some
with AI marks, some plain, some hostile, as a user runs it."""

from __future__ import annotations

import json
import logging
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner

from provenance.cli import cli
from tests.cli.test_cli import SCHEMA
from tests.schemas import validate
from tests.vfx_media import (
    MXF_IDENTIFICATION,
    dpx,
    exr,
    exr_attribute,
    exr_string,
    identification,
    mxf,
    partition_pack,
)

GRAPH = {
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a lighthouse in fog"}},
    "3": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20, "positive": ["6", 0]}},
}


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def vfx_tree(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    root = tmp_path / "production"
    nuke = exr_string("software", "Nuke 15.1v3")
    plates = {
        f"plate.{frame:04d}.exr": _write(root / "plates" / f"plate.{frame:04d}.exr", exr(nuke))
        for frame in range(1, 4)
    }
    files = {
        **plates,
        "scan.dpx": _write(root / "plates" / "scan.0001.dpx", dpx(creator="Resolve 19.1")),
        "A001.mxf": _write(
            root / "editorial" / "A001C003.mxf",
            mxf(identification("Avid Technology, Inc.", "Media Composer", "24.6")),
        ),
        "comfy.exr": _write(
            root / "gen" / "comfy.0001.exr", exr(exr_string("prompt", json.dumps(GRAPH)))
        ),
        "runway.dpx": _write(root / "gen" / "runway.0001.dpx", dpx(creator="Runway Gen-4")),
        "sora.mxf": _write(
            root / "gen" / "sora.mxf", mxf(identification("OpenAI", "Sora", "2.0", "Linux"))
        ),
        "endless.exr": _write(
            root / "broken" / "endless.exr",
            b"v/1\x01\x02\x00\x00\x00" + exr_attribute("a", "int", bytes(4)) * 50_000,
        ),
        "liar.dpx": _write(
            root / "broken" / "liar.dpx",
            dpx(user_id="notes", user_data=b"take 3", declared_user_size=2**31),
        ),
        "bomb.mxf": _write(
            root / "broken" / "bomb.mxf",
            partition_pack(0x02) + MXF_IDENTIFICATION + b"\x88" + struct.pack(">Q", 2**63),
        ),
    }
    return root, files


def test_a_scan_of_a_vfx_tree_finds_the_generated_files_and_names_the_broken_ones(
    runner: CliRunner,
    vfx_tree: tuple[Path, dict[str, Path]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    root, files = vfx_tree
    caplog.set_level(logging.WARNING, logger="provenance")
    result = runner.invoke(cli, ["scan", "--json", str(root)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["indexed"], summary["ai"]) == (len(files), 3)
    listed = runner.invoke(cli, ["list", "--ai", "--json"])
    records = json.loads(listed.stdout)
    for record in records:
        validate(record, SCHEMA)
    found = {Path(record["path"]).name: record["generator"] for record in records}
    assert found == {
        "comfy.0001.exr": "ComfyUI",
        "runway.0001.dpx": "Runway Gen-4",
        "sora.mxf": "OpenAI Sora 2.0",
    }
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for name in ("endless.exr", "liar.dpx", "bomb.mxf"):
        assert str(files[name]) in logged, name
    for name in ("plate.0001.exr", "scan.dpx", "A001.mxf"):
        assert str(files[name]) not in logged, name
