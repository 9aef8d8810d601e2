"""Clearance test helpers: a production folder with real AI files, a config that names the
catalog under test and the real OS user as approver, and a CLI runner for it."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from provenance.catalog import Asset, Catalog
from provenance.cli import cli

#: A registered, approved tool with clean data terms under an enterprise agreement: only the
#: approval (and, as a final, a label) is asked for.
CLEAN_TOOL = {
    "name": "Studio SD",
    "match": ["a1111"],
    "vendor": "in-house",
    "enterprise_agreement": True,
    "no_training_on_inputs": "yes",
    "vendor_retains_inputs": "no",
    "approved": True,
    "terms_ref": "TERMS-2026-01",
}


def _value(value: Any) -> str:
    return json.dumps(str(value) if isinstance(value, Path) else value)


def write_config(
    tmp_path: Path,
    root: Path,
    catalog: Catalog,
    *,
    tools: list[dict[str, Any]] | None = None,
    **clearance: Any,
) -> Path:
    """Write a config naming the root and catalog; ``clearance`` goes to [clearance].

    The approvers default to the real OS user running the tests.
    """
    clearance.setdefault("approvers", [getpass.getuser()])
    lines = [
        f"state_dir = {_value(tmp_path / 'state')}",
        "[catalog]",
        f"url = {_value(catalog.url)}",
        "[[roots]]",
        f"path = {_value(root)}",
        "[clearance]",
        *(f"{key} = {_value(value)}" for key, value in clearance.items()),
    ]
    for tool in [CLEAN_TOOL] if tools is None else tools:
        lines.append("[[clearance.tools]]")
        lines += [f"{key} = {_value(value)}" for key, value in tool.items()]
    path = tmp_path / "provenance.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run(config: Path, *args: str) -> Result:
    """Run the command line with ``config``; stdout and stderr apart."""
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def asset_at(catalog: Catalog, path: Path) -> Asset:
    with catalog.read() as tx:
        asset = tx.asset_by_path(str(path))
    assert asset is not None, f"{path} is not in the catalog"
    return asset


def actions_of(catalog: Catalog, path: Path) -> list[str]:
    asset = asset_at(catalog, path)
    with catalog.read() as tx:
        return [event.action for event in tx.events_of(asset.id or 0)]
