"""Retention test helpers and fixtures: a real root folder, real files, assets recorded for them.

Assets are added to the catalog directly (as ingest would record them), so these tests
need neither detection nor tagging.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from provenance.audit import Actor
from provenance.catalog import Asset, Catalog
from provenance.config import RootSettings, Settings, settings_from_mapping
from provenance.files.hashing import hash_file
from provenance.ingest.tags import tag_record
from provenance.tagging import write_sidecar

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
ACTOR = Actor("tester", "host1")

PURGE_POLICY = {"name": "purge30", "action": "purge"}
REPO = Path(__file__).resolve().parents[2]

MakeAsset = Callable[..., Asset]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "show_a"
    folder.mkdir()
    return folder


def retention_settings(tmp_path: Path, root: Path, **retention: Any) -> Settings:
    """Settings with one root and a [retention] section (``policies`` default: purge after 30d)."""
    retention.setdefault("policies", [PURGE_POLICY])
    return settings_from_mapping(
        {
            "state_dir": str(tmp_path / "state"),
            "roots": [{"path": str(root)}],
            "retention": retention,
        }
    )


@pytest.fixture
def settings_purge(tmp_path: Path, root: Path) -> Settings:
    return retention_settings(tmp_path, root)


def write_file(path: Path, content: bytes | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if content is not None else f"bytes of {path.name}".encode())
    return path


def asset_maker(catalog: Catalog, root: Path) -> MakeAsset:
    """A function that writes a real file under ``root`` and records it in ``catalog`` as an
    AI asset, returning the asset (the ``make_asset`` fixture; benchmarks call it directly)."""

    def make(
        relative: str,
        *,
        status: str = "temporary",
        first_seen: datetime = T0,
        ai_class: str = "ai",
        content: bytes | None = None,
        sidecar: bool = False,
        **fields: Any,
    ) -> Asset:
        path = write_file(root / relative, content)
        stat = path.stat()
        asset = Asset(
            uid=str(uuid.uuid4()),
            path=str(path),
            root=str(root),
            size=stat.st_size,
            mtime_ns=stat.st_mtime_ns,
            inode=stat.st_ino,
            device=stat.st_dev,
            content_hash=hash_file(path),
            ai_class=ai_class,
            generator="ComfyUI",
            family="comfyui",
            status=status if ai_class != "none" else "not-ai",
            first_seen=first_seen,
            last_seen=first_seen,
            **fields,
        )
        with catalog.write() as tx:
            tx.add(asset)
            tx.flush()
            tx.record(ACTOR, "indexed", first_seen, asset=asset, reason="test fixture")
        if sidecar:  # our tag, as a scan writes it
            write_sidecar(path, tag_record(asset), root=root)
        return asset

    return make


@pytest.fixture
def make_asset(catalog: Catalog, root: Path) -> MakeAsset:
    """Write a real file under the root and record it as an AI asset; return the asset."""
    return asset_maker(catalog, root)


def status_of(catalog: Catalog, asset_id: int | None) -> str:
    with catalog.read() as tx:
        asset = tx.asset_by_id(asset_id)  # type: ignore[arg-type]
        assert asset is not None
        return asset.status


def reload(catalog: Catalog, asset_id: int | None) -> Asset:
    with catalog.read() as tx:
        asset = tx.asset_by_id(asset_id)  # type: ignore[arg-type]
        assert asset is not None
        return asset


def root_settings(root: Path) -> RootSettings:
    return RootSettings(path=root)


def write_config(
    tmp_path: Path,
    root: Path,
    catalog: Catalog,
    *,
    marker: str = "",
    state: str = "state",
    name: str = "provenance.toml",
    **retention: Any,
) -> Path:
    """A config file naming the root and the catalog under test, for CLI and subprocess runs."""
    import json

    retention.setdefault("policies", [PURGE_POLICY])
    lines = [
        f"state_dir = {json.dumps(str(tmp_path / state))}",
        "[catalog]",
        f"url = {json.dumps(catalog.url)}",
        "[[roots]]",
        f"path = {json.dumps(str(root))}",
        f"marker = {json.dumps(marker)}",
        "[retention]",
    ]
    policies = retention.pop("policies")
    lines += [f"{key} = {json.dumps(value)}" for key, value in retention.items()]
    for policy in policies:
        lines.append("[[retention.policies]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in policy.items()]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def start_cli(config: Path, *args: str, crash_at: str | None = None) -> subprocess.Popen[str]:
    """The real command line (``python -m provenance ARGS``) on ``config``, in a child process.

    With ``crash_at`` the child kills itself at that point (``PROVENANCE_TEST_CRASH_AT``, see
    ``provenance.retention.files.crash_point``).
    """
    env = {**os.environ, "PROVENANCE_CONFIG": str(config)}
    env.pop("PROVENANCE_TEST_CRASH_AT", None)
    if crash_at is not None:
        env["PROVENANCE_TEST_CRASH_AT"] = crash_at
    return subprocess.Popen(
        [sys.executable, "-m", "provenance", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
