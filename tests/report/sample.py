"""A small catalog with one asset for every report section, hostile names included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from provenance.audit import Actor
from provenance.audit.keys import key_path
from provenance.catalog import Asset, Catalog, JournalEntry, SignalRow, Unreadable
from provenance.config import RootSettings, Settings

#: The report's as-of time: Monday 30 November 2026, 07:00 UTC.
AS_OF = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
GENERATED_AT = datetime(2026, 11, 30, 7, 0, 5, tzinfo=UTC)
ACTOR = Actor("coordinator", "edit-01")
SECRET_PROMPT = "SECRET PROMPT: a portrait of a named actor"
SCRIPT_NAME = "/prod/show_a/concepts/<script>alert(1)</script>.png"
FORMULA_NAME = '/prod/show_b/=HYPERLINK("x").png'
DAY = timedelta(days=1)
#: Why the sample's unreadable mark could not be read.
UNREAD_PROBLEM = "PNG tEXt 'parameters': unreadable JSON (Expecting value: line 1 column 11)"
#: The sample's audit key: the same each time, so that the report's audit head (hash, key
#: id and HMAC of the newest event) is the same in every run.
AUDIT_KEY = f"key ksample1 2026-10-01T00:00:00+00:00 {'5a' * 32}\n"


def items_of(section: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the items of a JSON report section, across its groups, in order."""
    return [item for group in section["groups"] for item in group["items"]]


def sample_settings(state_dir: Path) -> Settings:
    return Settings(
        state_dir=state_dir,
        roots=[
            RootSettings(path=Path("/prod/show_a"), name="show_a", owner="Dana Post"),
            RootSettings(path=Path("/prod/show_b"), name="Show B", owner="Lee <lee@example.com>"),
        ],
    )


def _asset(number: int, path: str, **fields: Any) -> Asset:
    values: dict[str, Any] = {
        "uid": f"00000000-0000-0000-0000-{number:012d}",
        "path": path,
        "root": "/prod/show_b" if path.startswith("/prod/show_b") else "/prod/show_a",
        "size": 1000 + number,
        "mtime_ns": 1,
        "inode": number,
        "device": 1,
        "content_hash": f"blake3:{number:064x}",
        "ai_class": "ai",
        "generator": "ComfyUI",
        "status": "temporary",
        "policy": "concepts-30d",
        "first_seen": AS_OF - 40 * DAY,
        "last_seen": AS_OF,
        "prompt": SECRET_PROMPT,
        **fields,
    }
    return Asset(**values)


def populate(catalog: Catalog) -> None:
    """Fill ``catalog`` with assets and events in every report section (and some outside)."""
    keys = key_path(catalog.state_dir)
    if not keys.exists():
        keys.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        keys.write_text("unauthenticated-events 0\n" + AUDIT_KEY)
        keys.chmod(0o600)
    with catalog.write() as tx:
        assets = {
            "soon": _asset(1, "/prod/show_a/concepts/castle 01.png", deadline=AS_OF + 2 * DAY),
            "script": _asset(
                2,
                SCRIPT_NAME,
                status="expiring",
                generator="<b>Evil</b> & co",
                deadline=AS_OF + 5 * DAY + timedelta(hours=3),
            ),
            "formula": _asset(
                3,
                FORMULA_NAME,
                generator="=cmd|' /C calc'!A0",
                policy="-rule",
                deadline=AS_OF + 6 * DAY,
            ),
            "flagged": _asset(
                4, "/prod/show_a/old.png", status="flagged", deadline=AS_OF - 3 * DAY
            ),
            "late": _asset(5, "/prod/show_b/late.png", deadline=AS_OF - DAY),
            "quarantined": _asset(
                6, "/prod/show_a/q.png", status="quarantined", deadline=AS_OF - 9 * DAY
            ),
            "purged": _asset(
                7,
                "/prod/show_a/gone.png",
                status="purged",
                present=False,
                deadline=AS_OF - 30 * DAY,
            ),
            "cleared": _asset(8, "/prod/show_b/ok.png", status="cleared", deadline=None),
            "voided": _asset(9, "/prod/show_a/changed.png", deadline=AS_OF + 25 * DAY),
            "mystery": _asset(
                10, "/prod/show_a/mystery.png", generator=None, deadline=AS_OF + 20 * DAY
            ),
            "plain": _asset(
                11,
                "/prod/show_a/plain.jpg",
                ai_class="none",
                status="not-ai",
                generator=None,
                policy=None,
            ),
            "far": _asset(12, "/prod/show_a/far.png", deadline=AS_OF + 30 * DAY),
            "held": _asset(13, "/prod/show_a/held.png", status="held", deadline=AS_OF + DAY),
            # a generator's mark is there but could not be read: a person looks
            "unread": _asset(
                14,
                "/prod/show_b/unread.png",
                ai_class="suspect",
                generator=None,
                deadline=AS_OF + 18 * DAY,
            ),
        }
        for asset in assets.values():
            tx.add(asset)
        tx.flush()
        # a C2PA manifest whose signature is valid but from a signer nobody trusts
        tx.add(
            SignalRow(
                asset_id=assets["far"].id,
                kind="c2pa",
                ai_class="ai",
                generator="Generator X",
                source="C2PA manifest",
                detail={
                    "validation_state": "Valid",
                    "signer": "Unknown Corp",
                    "trust": "untrusted",
                },
                found_at=AS_OF - DAY,
            )
        )
        tx.add(
            SignalRow(
                asset_id=assets["unread"].id,
                kind="sd-text",
                ai_class="suspect",
                confidence=0.5,
                source="PNG tEXt 'parameters'",
                detail={"unreadable": UNREAD_PROBLEM},
                found_at=AS_OF - DAY,
            )
        )
        for weeks_ago, key in enumerate(("soon", "script", "formula", "mystery", "far"), start=1):
            tx.record(
                ACTOR,
                "indexed",
                AS_OF - weeks_ago * 7 * DAY + DAY,
                asset=assets[key],
                after={"status": "temporary", "ai_class": "ai", "content_hash": "x"},
            )
        tx.record(
            ACTOR,
            "indexed",
            AS_OF - 2 * DAY,
            asset=assets["plain"],
            after={"status": "not-ai", "ai_class": "none", "content_hash": "y"},
        )
        tx.record(
            ACTOR,
            "quarantined",
            AS_OF - 4 * DAY,
            asset=assets["quarantined"],
            reason="flagged 7 days ago",
            after={
                "status": "quarantined",
                "quarantine_path": "/prod/show_a/.provenance-quarantine/q.png",
            },
        )
        tx.record(
            ACTOR,
            "purged",
            AS_OF - 2 * DAY,
            asset=assets["purged"],
            reason="quarantined 14 days ago",
            after={
                "status": "purged",
                "path": "/prod/show_a/gone.png",
                "content_hash": "blake3:" + "7" * 64,
                "size": 1234,
                "rule": "concepts-30d",
                "prompt": SECRET_PROMPT,
            },
        )
        tx.record(ACTOR, "purged", AS_OF - 20 * DAY, asset=assets["purged"], reason="older purge")
        tx.record(
            ACTOR,
            "cleared",
            AS_OF - DAY,
            asset=assets["cleared"],
            reason="final deliverable",
            after={"status": "cleared", "approval": "LEGAL-42"},
        )
        tx.record(
            ACTOR,
            "clearance-voided",
            AS_OF - 3 * DAY,
            asset=assets["voided"],
            reason="content changed after clearance",
            before={"status": "cleared"},
            after={"status": "temporary"},
        )
        # a quarantine interrupted while its root went offline: it waits in the journal
        tx.add(
            JournalEntry(
                asset_id=assets["late"].id,
                operation="quarantine",
                source="/prod/show_b/late.png",
                target="/prod/show_b/.provenance-quarantine/late.png",
                size=1005,
                rule="concepts-30d",
                reason="flagged 7 days ago",
                created_at=AS_OF - 2 * DAY,
            )
        )
        # files the reader refused: one tried again by the next scan, one left until it changes
        for path, reason, attempts in (
            ("/prod/show_a/bomb.png", "needs more than its memory budget (512 MiB)", 4),
            ("/prod/show_b/<stuck>.exr", "took longer than its 30 s budget; not read", 1),
        ):
            tx.add(
                Unreadable(
                    path=path,
                    root="/prod/show_b" if path.startswith("/prod/show_b") else "/prod/show_a",
                    size=4096,
                    mtime_ns=1,
                    reason=reason,
                    attempts=attempts,
                    first_failed=AS_OF - 3 * DAY,
                    last_failed=AS_OF - DAY,
                )
            )
