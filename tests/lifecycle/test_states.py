"""The lifecycle's one home: every allowed move works and writes its event, every other
move is refused having changed nothing, and the groups agree with the moves."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from provenance.catalog import Asset, Catalog
from provenance.catalog.attest import state_mismatches
from provenance.cli import cli
from provenance.errors import ProvenanceError, TransitionError
from provenance.lifecycle.states import (
    AI_STATUSES,
    COLOURS,
    HOLDABLE,
    MARKED,
    MEANINGS,
    MOVABLE,
    PROTECTED,
    STATUSES,
    SWEPT,
    TERMINAL,
    TRANSITIONS,
    UNCLEARED,
    Status,
    allowed,
    initial,
    move,
    rebuilt,
)
from tests.clearance.helpers import write_config
from tests.retention.helpers import ACTOR, T0, MakeAsset, reload
from tests.schemas import SCHEMA_DIR, STATUS_ID, STATUS_SCHEMA, UPDATE_ENV, load, validate

S = Status
ALLOWED = [(a, b) for a in Status for b in sorted(TRANSITIONS[a])]
#: A sample of moves the lifecycle refuses: out of the final state, past a step, around a
#: protection, backwards through the sweep.
REFUSED = [
    (S.PURGED, S.TEMPORARY),
    (S.PURGED, S.CLEARED),
    (S.PURGED, S.QUARANTINED),
    (S.NOT_AI, S.FLAGGED),
    (S.NOT_AI, S.CLEARED),
    (S.TEMPORARY, S.QUARANTINED),
    (S.TEMPORARY, S.PURGED),
    (S.EXPIRING, S.TEMPORARY),
    (S.FLAGGED, S.TEMPORARY),
    (S.FLAGGED, S.NOT_AI),
    (S.FLAGGED, S.PURGED),
    (S.QUARANTINED, S.CLEARED),
    (S.QUARANTINED, S.TEMPORARY),
    (S.CLEARED, S.QUARANTINED),
    (S.CLEARED, S.PURGED),
    (S.CLEARED, S.HELD),
    (S.HELD, S.FLAGGED),
    (S.HELD, S.PURGED),
]


@pytest.mark.parametrize(("start", "to"), ALLOWED, ids=lambda s: str(s))
def test_allowed_moves(start: Status, to: Status) -> None:
    assert allowed(start, to)
    assert allowed(start.value, to)  # the catalog's plain strings


@pytest.mark.parametrize(("start", "to"), REFUSED, ids=lambda s: str(s))
def test_refused_moves(start: Status, to: Status) -> None:
    assert (start, to) not in ALLOWED
    assert not allowed(start, to)


@pytest.mark.parametrize("status", list(Status), ids=str)
def test_staying_put_is_always_allowed(status: Status) -> None:
    assert allowed(status, status)


#: The strings catalogs hold: a status may be added between them, none renamed or dropped.
STORED = ["not-ai", "temporary", "expiring", "flagged", "quarantined", "purged", "cleared", "held"]


def test_the_values_are_the_strings_the_catalog_stores() -> None:
    assert [s.value for s in STATUSES if s.value in STORED] == STORED
    assert Status("held") == "held" and f"{Status.HELD}" == "held"


def test_the_groups_agree_with_the_moves() -> None:
    assert set(TRANSITIONS) == set(Status)
    assert Status.NOT_AI not in AI_STATUSES and set(AI_STATUSES) | {S.NOT_AI} == set(Status)
    for status in TERMINAL:
        assert not TRANSITIONS[status]
    # a sweep only ever moves forward through SWEPT, one step or two (temporary to flagged)
    for earlier, later in pairwise(SWEPT):
        assert later in TRANSITIONS[earlier]
    for status in MOVABLE:
        assert S.CLEARED in TRANSITIONS[status] and S.HELD in TRANSITIONS[status]
    for status in HOLDABLE:
        assert S.HELD in TRANSITIONS[status]
    assert not set(PROTECTED) & set(HOLDABLE)
    assert S.CLEARED not in UNCLEARED and S.PURGED not in UNCLEARED


def test_initial_and_rebuilt_statuses() -> None:
    assert (initial("none"), initial("ai"), initial("suspect")) == (
        S.NOT_AI,
        S.TEMPORARY,
        S.TEMPORARY,
    )
    assert rebuilt("flagged", "ai") == S.FLAGGED
    assert rebuilt("expiring", "partial") == S.EXPIRING
    # a tag gives back no protection, no quarantine, no purge, nothing unknown
    for word in ("cleared", "held", "quarantined", "purged", "not-ai", "", "bogus"):
        assert rebuilt(word, "ai") == S.TEMPORARY
    assert rebuilt("flagged", "none") == S.NOT_AI


def test_every_allowed_move_changes_the_status_and_writes_its_event(
    catalog: Catalog, make_asset: MakeAsset
) -> None:
    assets = {
        (start, to): make_asset(f"{start}-{to}.png", status=start, content=f"{start}{to}".encode())
        for start, to in ALLOWED
    }
    now = T0 + timedelta(days=1)
    with catalog.write() as tx:
        for (start, to), made in assets.items():
            asset = tx.asset_by_id(made.id)  # type: ignore[arg-type]
            assert asset is not None
            was = move(tx, asset, to, ACTOR, now, reason="test", after={"why": "table"})
            assert was is start
    with catalog.read() as tx:
        for (start, to), made in assets.items():
            assert made.id is not None
            assert reload(catalog, made.id).status == to.value
            event = tx.events_of(made.id)[-1]
            assert (event.action, event.reason) == (to.value, "test")
            assert (event.before, event.after) == (
                {"status": start.value},
                {"status": to.value, "why": "table"},
            )
        # each event's state digest is the asset's state: audit verify finds nothing
        ids = {f"asset {a.id} " for a in assets.values()}
        assert not [m for m in state_mismatches(tx) if any(m.what.startswith(i) for i in ids)]


def test_a_refused_move_raises_and_changes_nothing(catalog: Catalog, make_asset: MakeAsset) -> None:
    made = {pair: make_asset(f"{pair[0]}-{pair[1]}.png", status=pair[0]) for pair in REFUSED}
    for (start, to), asset in made.items():
        with catalog.write() as tx:
            loaded = tx.asset_by_id(asset.id)  # type: ignore[arg-type]
            assert loaded is not None
            with pytest.raises(TransitionError, match=f"cannot go from {start} to {to}"):
                move(tx, loaded, to, ACTOR, T0, reason="test")
            assert loaded.status == start.value
            assert tx.pending_actions == []
        assert reload(catalog, asset.id).status == start.value
    assert issubclass(TransitionError, ProvenanceError)


def test_a_status_the_lifecycle_lacks_is_refused(catalog: Catalog, make_asset: MakeAsset) -> None:
    made = make_asset("odd.png")
    with catalog.write() as tx:
        asset = tx.asset_by_id(made.id)  # type: ignore[arg-type]
        assert asset is not None
        asset.status = "bogus"
        with pytest.raises(TransitionError, match="'bogus' is not a status"):
            move(tx, asset, S.CLEARED, ACTOR, T0)


def test_the_cli_shows_a_refused_move_as_one_error_line(
    catalog: Catalog, make_asset: MakeAsset, root: Path, tmp_path: Path, runner: CliRunner
) -> None:
    # a row edited behind the trail's back to a status the lifecycle lacks: clearing it
    # would move it, and is refused with one line, no traceback
    made = make_asset("edited.png")
    with catalog.write() as tx:
        tx.session.execute(update(Asset).where(Asset.id == made.id).values(status="bogus"))
    config = write_config(tmp_path, root, catalog)
    args = ["clear", made.path, "--approval", "A", "--escalation", "E-1"]
    result = runner.invoke(cli, ["--config", str(config), *args])
    assert result.exit_code != 0
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert "'bogus' is not a status" in result.stderr
    assert "Traceback" not in result.output


def status_schema() -> dict[str, Any]:
    """``schema/status.schema.json`` as the lifecycle makes it."""
    ai = [s.value for s in AI_STATUSES]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": STATUS_ID,
        "title": "provenance asset statuses",
        "description": (
            "An asset's place in the lifecycle, as provenance records and the report's "
            "counts name it. Generated from the lifecycle (provenance.lifecycle.states); "
            "provenance-record.schema.json and report.schema.json refer here."
        ),
        "$defs": {
            "status": {
                "description": "Every status; not-ai: tracked, no lifecycle.",
                "enum": [s.value for s in STATUSES],
            },
            "aiStatus": {"description": "The statuses of an AI asset.", "enum": ai},
            "statusCounts": {
                "description": "How many AI assets are in each status.",
                "type": "object",
                "required": ai,
                "additionalProperties": False,
                "properties": {name: {"type": "integer", "minimum": 0} for name in ai},
            },
        },
    }


def test_the_status_schema_is_the_lifecycles() -> None:
    # a status added to the lifecycle is a change of the contracts other programs read: the
    # one file that lists the statuses is generated (PROVENANCE_UPDATE_GOLDEN=1 rewrites it)
    text = json.dumps(status_schema(), indent=2, ensure_ascii=False) + "\n"
    path = SCHEMA_DIR / STATUS_SCHEMA
    if os.environ.get(UPDATE_ENV):
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text, (
        f"schema/{STATUS_SCHEMA} is not what the lifecycle says ({UPDATE_ENV}=1 rewrites it)"
    )


def _status_lists(value: Any) -> Iterator[list[str]]:
    """Every list in a schema of three statuses or more and nothing else (a section list that
    shares some words with the statuses is not one)."""
    names = {s.value for s in Status}
    if isinstance(value, list):
        if len(value) >= 3 and all(isinstance(v, str) and v in names for v in value):
            yield value
        for item in value:
            yield from _status_lists(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "properties" and isinstance(item, dict):
                yield from _status_lists(list(item))
            yield from _status_lists(item)


def test_the_other_schemas_take_their_statuses_from_the_status_schema() -> None:
    record = load("provenance-record.schema.json")
    report = load("report.schema.json")
    assert record["properties"]["status"] == {"$ref": f"{STATUS_ID}#/$defs/status"}
    assert report["$defs"]["statusCounts"] == {"$ref": f"{STATUS_ID}#/$defs/statusCounts"}
    for path in sorted(SCHEMA_DIR.glob("*.schema.json")):
        if path.name != STATUS_SCHEMA:
            assert not list(_status_lists(load(path.name))), path.name
    validate({"temporary": 1, **{s.value: 0 for s in AI_STATUSES[1:]}}, STATUS_SCHEMA)


def test_a_journaled_file_step_is_recorded_whatever_came_in_between(
    catalog: Catalog, make_asset: MakeAsset
) -> None:
    # cleared while its file was being moved to quarantine: the file is in quarantine now,
    # and the record says so (the step was re-checked before the act)
    made = make_asset("raced.png", status="cleared")
    with catalog.write() as tx:
        asset = tx.asset_by_id(made.id)  # type: ignore[arg-type]
        assert asset is not None
        with pytest.raises(TransitionError):
            move(tx, asset, S.QUARANTINED, ACTOR, T0)
        assert move(tx, asset, S.QUARANTINED, ACTOR, T0, journaled=True) is S.CLEARED
    assert reload(catalog, made.id).status == "quarantined"


def test_each_ai_status_has_its_colour_and_each_named_move_its_meaning() -> None:
    # what the report and a notice show of a status comes from here: a new status gets its
    # colour, and its meaning when its move's event is named for it
    assert set(COLOURS) == set(AI_STATUSES)
    assert len(set(COLOURS.values())) == len(COLOURS)
    assert set(MEANINGS) == set(AI_STATUSES) - {S.TEMPORARY}


def test_webhooks_hear_of_the_named_moves_and_by_default_of_what_needs_a_person() -> None:
    from provenance.config.notify import NOTIFIABLE, WebhookSettings
    from provenance.notify.payloads import TITLES

    assert set(MEANINGS) <= set(NOTIFIABLE) and set(NOTIFIABLE) <= set(TITLES)
    assert all(TITLES[status] == meaning for status, meaning in MEANINGS.items())
    default = WebhookSettings(name="a", url="https://hooks.example.com/x").events
    assert default == [*MARKED, S.QUARANTINED, "clearance-voided"]
