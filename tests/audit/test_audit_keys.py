"""The audit key: made 0600 on the first event, rotated, and a lost key that is never replaced
silently; a catalog from before the keyed audit keeps verifying."""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from provenance.audit import keys
from provenance.audit.keys import create_keys, key_path, read_keys
from provenance.catalog import Catalog
from provenance.cli import cli
from provenance.errors import AuditError
from tests.retention.helpers import ACTOR, T0, MakeAsset, write_config


def verify(runner: CliRunner, config: Path) -> tuple[int, str, str]:
    result = runner.invoke(cli, ["--config", str(config), "audit", "verify"])
    return result.exit_code, result.stdout, result.stderr


def test_the_key_file_is_made_private_on_the_first_event(
    catalog: Catalog, make_asset: MakeAsset, tmp_path: Path
) -> None:
    old = os.umask(0)
    try:
        make_asset("a.png")
    finally:
        os.umask(old)
    path = key_path(tmp_path / "state")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    ring = read_keys(path)
    assert ring is not None and len(ring.keys) == 1 and ring.unauthenticated == 0
    anchors = (tmp_path / "state" / "audit-anchors").read_text().splitlines()
    assert len(anchors) == 1 and " events=1 " in anchors[0]


def test_a_key_file_that_cannot_be_written_is_not_left_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a full disk: the file is made (an inode needs no room) but its key cannot be written;
    # left empty, it would refuse every later event ("holds no key") after room came back
    path = key_path(tmp_path)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(keys.os, "fsync", full)
    with pytest.raises(AuditError, match=r"cannot write the audit key file .*No space left"):
        create_keys(path, 0, T0)
    assert not path.exists()
    monkeypatch.undo()
    ring = create_keys(path, 0, T0)
    assert read_keys(path) == ring and len(ring.keys) == 1


def test_rotation_keeps_old_events_verifiable(
    catalog: Catalog, make_asset: MakeAsset, root: Path, runner: CliRunner, tmp_path: Path
) -> None:
    make_asset("a.png")
    config = write_config(tmp_path, root, catalog)
    result = runner.invoke(cli, ["--config", str(config), "audit", "rotate-key"])
    assert result.exit_code == 0, result.stderr
    ring = read_keys(key_path(tmp_path / "state"))
    assert ring is not None and len(ring.keys) == 2
    old, new = (key.key_id for key in ring.keys)
    catalog.forget_keys()
    make_asset("b.png")
    code, out, _err = verify(runner, config)
    assert code == 0
    assert f"1 signed with key {old}; 2 signed with key {new};" in out


def test_a_lost_key_stops_writes_and_verify_until_replaced(
    catalog: Catalog, make_asset: MakeAsset, root: Path, runner: CliRunner, tmp_path: Path
) -> None:
    make_asset("a.png")
    config = write_config(tmp_path, root, catalog)
    key_path(tmp_path / "state").unlink()
    code, out, err = verify(runner, config)
    assert (code, out) == (1, "")
    assert err.startswith("error: audit chain broken: the audit key file is missing: event 1")
    catalog.forget_keys()
    with pytest.raises(AuditError, match="audit key file is missing, but the catalog's events"):
        make_asset("b.png")
    result = runner.invoke(cli, ["--config", str(config), "audit", "new-key", "--lost"])
    assert result.exit_code == 0, result.stderr
    assert "the 1 earlier events are checked by their chain and the anchors only" in result.stdout
    catalog.forget_keys()
    make_asset("b.png")
    code, out, err = verify(runner, config)
    assert code == 0, err
    assert "2 signed with key k" in out
    assert "1 before the key file, checked by chain and anchors only" in out


def test_new_key_refuses_while_the_key_file_exists(
    catalog: Catalog, make_asset: MakeAsset, root: Path, runner: CliRunner, tmp_path: Path
) -> None:
    make_asset("a.png")
    config = write_config(tmp_path, root, catalog)
    result = runner.invoke(cli, ["--config", str(config), "audit", "new-key", "--lost"])
    assert result.exit_code == 1
    assert "use `provenance audit rotate-key`" in result.stderr


def test_a_catalog_from_before_the_keyed_audit_is_upgraded_and_verifies(
    tmp_path: Path, runner: CliRunner, root: Path
) -> None:
    """Events written by the keyless release keep verifying by their chain; the first new
    event makes the key file, which counts them as written before it."""
    path = tmp_path / "catalog.sqlite"
    catalog = Catalog.open(f"sqlite:///{path}")
    with catalog.write() as tx:
        tx.record(ACTOR, "indexed", T0, path="/prod/a.png")
        tx.record(ACTOR, "indexed", T0, path="/prod/b.png")
    catalog.close()
    key_path(tmp_path / "state").unlink()
    (tmp_path / "state" / "audit-anchors").unlink()
    with sqlite3.connect(path) as conn:  # as the release before: no keyed columns
        for column in ("seq", "state", "key_id", "mac"):
            conn.execute(f"ALTER TABLE events DROP COLUMN {column}")
        conn.execute("UPDATE provenance_meta SET value = '7' WHERE key = 'schema_version'")
    catalog = Catalog.open(f"sqlite:///{path}")
    config = write_config(tmp_path, root, catalog)
    code, out, _err = verify(runner, config)
    assert code == 0
    assert "2 with no key file yet, checked by chain and anchors only" in out
    with catalog.write() as tx:
        tx.record(ACTOR, "indexed", T0, path="/prod/c.png")
    ring = read_keys(key_path(tmp_path / "state"))
    assert ring is not None and ring.unauthenticated == 2
    code, out, _err = verify(runner, config)
    assert code == 0
    assert "1 signed with key" in out and "2 before the key file" in out
    catalog.close()
