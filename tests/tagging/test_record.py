"""TagRecord: the values a tag carries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import provenance
from provenance.tagging import DIGITAL_SOURCE_TYPES, digital_source_type_for

from .helpers import make_record


def test_record_defaults_to_this_tool_version_and_no_approval() -> None:
    record = make_record()
    assert record.tool_version == provenance.__version__
    assert record.approval_ref is None


def test_record_with_unknown_ai_class_is_refused() -> None:
    with pytest.raises(ValueError, match="ai_class"):
        make_record(ai_class="none")


@pytest.mark.parametrize("field", ["first_seen", "deadline"])
def test_record_with_naive_datetime_is_refused(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        make_record(**{field: datetime(2026, 5, 1, 9, 30)})  # noqa: DTZ001 - the case under test


def test_record_turns_a_signal_list_into_a_tuple() -> None:
    record = make_record(signals=["c2pa", "sd-text"])
    assert record.signals == ("c2pa", "sd-text")
    assert hash(record)


def test_digital_source_type_for_each_class() -> None:
    assert digital_source_type_for("ai").endswith("/trainedAlgorithmicMedia")
    assert digital_source_type_for("partial").endswith("/compositeWithTrainedAlgorithmicMedia")
    assert set(DIGITAL_SOURCE_TYPES) == {"ai", "partial"}


def test_deadline_may_be_absent() -> None:
    assert make_record(deadline=None).deadline is None
    assert make_record().first_seen.tzinfo is UTC
