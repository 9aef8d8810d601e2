"""The pure retention decision: rules, deadlines, the lifecycle, and its properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance.config import settings_from_mapping
from provenance.errors import ConfigError
from provenance.lifecycle.states import (
    ACTIONS,
    MARKED,
    MOVABLE,
    STATUSES,
    SWEPT,
    Status,
    allowed,
)
from provenance.retention.policy import (
    DEFAULT_RULE,
    AssetFacts,
    Rule,
    deadline_for,
    decide,
    due_bounds,
    forecast,
    match_rule,
    path_matches,
    rules_from_settings,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
PURGE = Rule(name="purge30", action="purge")


def facts(status: str = "temporary", **fields: object) -> AssetFacts:
    values: dict[str, object] = {
        "path": "concepts/castle.png",
        "ai_class": "ai",
        "status": status,
        "first_seen": T0,
    }
    values.update(fields)
    return AssetFacts(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("days", "status", "action"),
    [
        (0, "temporary", "none"),
        (22, "temporary", "none"),
        (23, "expiring", "warn"),
        (30, "flagged", "flag"),
        (365, "flagged", "flag"),
    ],
)
def test_default_policy_warns_then_flags_and_never_quarantines(
    days: int, status: str, action: str
) -> None:
    decision = decide(facts(), (DEFAULT_RULE,), {}, T0 + days * DAY)
    assert (decision.action, decision.new_status) == (action, status)
    assert decision.deadline == T0 + 30 * DAY
    assert decide(facts("flagged"), (DEFAULT_RULE,), {}, T0 + 900 * DAY).action == "none"


def test_purge_policy_walks_the_whole_lifecycle() -> None:
    flagged = facts("flagged", flagged_at=T0 + 30 * DAY)
    assert decide(flagged, (PURGE,), {}, T0 + 36 * DAY).action == "none"
    decision = decide(flagged, (PURGE,), {}, T0 + 37 * DAY)
    assert (decision.action, decision.new_status, decision.rule) == (
        "quarantine",
        "quarantined",
        "purge30",
    )
    quarantined = facts("quarantined", quarantined_at=T0 + 37 * DAY)
    assert decide(quarantined, (PURGE,), {}, T0 + 50 * DAY).action == "none"
    assert decide(quarantined, (PURGE,), {}, T0 + 51 * DAY).action == "purge"


def test_a_late_flag_gets_its_full_grace() -> None:
    late = facts("flagged", flagged_at=T0 + 100 * DAY)
    assert decide(late, (PURGE,), {}, T0 + 106 * DAY).action == "none"
    assert decide(late, (PURGE,), {}, T0 + 107 * DAY).action == "quarantine"


def test_one_sweep_never_goes_past_flagged() -> None:
    decision = decide(facts(), (PURGE,), {}, T0 + 1000 * DAY)
    assert (decision.action, decision.new_status) == ("flag", "flagged")


@pytest.mark.parametrize("status", ["cleared", "held", "not-ai", "purged"])
def test_protected_and_finished_assets_are_left_alone(status: str) -> None:
    decision = decide(facts(status), (PURGE,), {}, T0 + 1000 * DAY)
    assert (decision.action, decision.new_status) == ("none", status)


def test_missing_file_is_never_acted_on() -> None:
    decision = decide(facts(present=False), (PURGE,), {}, T0 + 1000 * DAY)
    assert decision.action == "none"
    assert "missing" in decision.reason


def test_first_matching_rule_wins_by_path_class_and_tool() -> None:
    rules = (
        Rule(name="mj", tools=("midjourney",)),
        Rule(name="concepts", paths=("concepts/**",), classes=("ai",)),
        Rule(name="rest"),
    )
    assert match_rule(facts(generator="Midjourney"), rules).name == "mj"  # type: ignore[union-attr]
    assert match_rule(facts(family="MIDJOURNEY"), rules).name == "mj"  # type: ignore[union-attr]
    assert match_rule(facts(), rules).name == "concepts"  # type: ignore[union-attr]
    assert match_rule(facts(ai_class="partial"), rules).name == "rest"  # type: ignore[union-attr]
    assert match_rule(facts(path="plates/a.png"), rules[:2]) is None


@pytest.mark.parametrize(
    ("path", "pattern", "expected"),
    [
        ("a/b/c.png", "**", True),
        ("c.png", "**/*.png", True),
        ("a/b/c.png", "**/*.png", True),
        ("a/b/c.png", "a/*.png", False),
        ("a/c.png", "a/*.png", True),
        ("a/b/c.jpg", "a/**", True),
        ("b/a/c.png", "a/**", False),
        ("a/c.png", "a/?.png", True),
        ("a.b/c", "a*b/c", True),
    ],
)
def test_path_globs(path: str, pattern: str, expected: bool) -> None:
    assert path_matches(path, pattern) is expected


def test_no_matching_rule_keeps_the_asset() -> None:
    decision = decide(facts(), (Rule(name="x", paths=("elsewhere/**",)),), {}, T0 + 999 * DAY)
    assert (decision.action, decision.rule, decision.deadline) == ("none", None, None)


def test_count_from_created_uses_the_earlier_time() -> None:
    rule = Rule(name="c", count_from="created")
    assert deadline_for(facts(created_at=T0 - 10 * DAY), rule, {}) == T0 + 20 * DAY
    assert deadline_for(facts(created_at=T0 + 10 * DAY), rule, {}) == T0 + 30 * DAY
    assert deadline_for(facts(created_at=T0 - 10 * DAY), DEFAULT_RULE, {}) == T0 + 30 * DAY


def test_milestone_deadline_and_missing_milestone() -> None:
    rule = Rule(name="lock", milestone="picture_lock", expire_after=90 * DAY)
    milestones = {"picture_lock": date(2027, 3, 1)}
    assert deadline_for(facts(), rule, milestones) == datetime(2027, 5, 30, tzinfo=UTC)
    kept = decide(facts(), (rule,), {}, T0 + 9999 * DAY)
    assert kept.action == "none"
    assert "picture_lock is not set" in kept.reason


def test_rules_from_settings_reads_policies_and_defaults() -> None:
    assert rules_from_settings(settings_from_mapping({})) == (DEFAULT_RULE,)
    settings = settings_from_mapping(
        {
            "milestones": {"show_a": {"picture_lock": date(2027, 3, 1)}},
            "retention": {
                "policies": [
                    {
                        "name": "lock",
                        "expire_after": "picture_lock + 90d",
                        "tools": ["ComfyUI"],
                        "action": "purge",
                        "grace": "2w",
                    },
                ]
            },
        }
    )
    (rule,) = rules_from_settings(settings)
    assert (rule.milestone, rule.expire_after, rule.tools, rule.grace) == (
        "picture_lock",
        90 * DAY,
        ("comfyui",),
        14 * DAY,
    )


def test_unknown_milestone_is_a_config_error_with_its_key() -> None:
    data = {
        "roots": [{"path": "/prod/show_b", "production": "show_b"}],
        "milestones": {"show_a": {"picture_lock": date(2027, 3, 1)}},
        "retention": {
            "policies": [
                {"name": "x", "expire_after": "picture_lock + 1d"},
                {"name": "y", "expire_after": "wrap"},
            ]
        },
    }
    with pytest.raises(ConfigError) as info:
        settings_from_mapping(data, "c.toml")
    lines = str(info.value).splitlines()
    assert lines[0].startswith(
        "c.toml: retention.policies.0.expire_after: milestone 'picture_lock'"
        " is not set for production 'show_b'"
    )
    assert (
        lines[1]
        == "c.toml: retention.policies.1.expire_after: milestone 'wrap' is not set in [milestones]"
    )


def test_bad_cron_and_duration_are_config_errors() -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_mapping(
            {
                "schedule": {"sweep": "every hour"},
                "retention": {"policies": [{"name": "x", "grace": "1y"}]},
            },
            "c.toml",
        )
    text = str(info.value)
    assert "c.toml: schedule.sweep: not a cron expression" in text
    assert "c.toml: retention.policies.0.grace: not a duration" in text


def test_forecast_shows_every_step_until_a_date() -> None:
    steps = forecast(facts(), (PURGE,), {}, T0, T0 + 60 * DAY)
    assert [(s.action, s.due) for s in steps] == [
        ("flag", T0 + 30 * DAY),
        ("quarantine", T0 + 37 * DAY),
        ("purge", T0 + 51 * DAY),
    ]


# --- properties ---------------------------------------------------------------------------

# hypothesis takes naive bounds and attaches the zone itself
moments = st.datetimes(
    min_value=datetime(2025, 1, 1),  # noqa: DTZ001
    max_value=datetime(2028, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
durations = st.integers(min_value=0, max_value=400).map(lambda d: d * DAY)
rules = st.builds(
    Rule,
    name=st.sampled_from(["a", "b", "c"]),
    paths=st.sampled_from([("**",), ("concepts/**",), ("**/*.png",), ("plates/*",)]),
    classes=st.sampled_from([("ai", "partial"), ("ai",), ("partial",)]),
    tools=st.sampled_from([(), ("comfyui",), ("midjourney", "firefly")]),
    expire_after=durations,
    milestone=st.sampled_from([None, "picture_lock", "wrap"]),
    count_from=st.sampled_from(["first_seen", "created"]),
    warn_before=durations,
    grace=durations,
    quarantine_for=durations,
    action=st.sampled_from(["flag", "purge"]),
)
asset_facts = st.builds(
    AssetFacts,
    path=st.sampled_from(["concepts/a.png", "plates/b.exr", "x/y/z.png", "c.jpg"]),
    ai_class=st.sampled_from(["ai", "partial", "none"]),
    status=st.sampled_from(STATUSES),
    first_seen=moments,
    created_at=st.none() | moments,
    generator=st.sampled_from([None, "ComfyUI", "Midjourney"]),
    family=st.sampled_from([None, "comfyui", "firefly"]),
    present=st.booleans(),
    flagged_at=st.none() | moments,
    quarantined_at=st.none() | moments,
)
milestone_sets = st.sampled_from([{}, {"picture_lock": date(2026, 6, 1)}])


@given(asset_facts, st.lists(rules, max_size=4), milestone_sets, moments)
@settings(max_examples=300)
def test_every_asset_gets_exactly_one_decision_same_every_time(
    asset: AssetFacts, policy: list[Rule], milestones: dict[str, date], now: datetime
) -> None:
    first = decide(asset, policy, milestones, now)
    assert first == decide(asset, policy, milestones, now)
    assert first.action == "none" or ACTIONS[first.action] == first.new_status
    assert (first.action == "none") == (first.new_status == asset.status)


@given(asset_facts, st.lists(rules, max_size=4), milestone_sets, moments)
@settings(max_examples=300)
def test_held_and_cleared_are_never_quarantined_or_purged(
    asset: AssetFacts, policy: list[Rule], milestones: dict[str, date], now: datetime
) -> None:
    for status in ("held", "cleared"):
        decision = decide(
            AssetFacts(**{**asset.__dict__, "status": status}), policy, milestones, now
        )
        assert decision.action == "none"
        assert decision.new_status == status


@given(asset_facts, st.lists(rules, max_size=4), milestone_sets, moments, durations)
@settings(max_examples=300)
def test_a_later_now_never_unexpires(
    asset: AssetFacts,
    policy: list[Rule],
    milestones: dict[str, date],
    now: datetime,
    later_by: timedelta,
) -> None:
    rank = {s: i for i, s in enumerate(SWEPT)}
    earlier = decide(asset, policy, milestones, now)
    later = decide(asset, policy, milestones, now + later_by)
    if earlier.new_status in rank:
        assert rank[later.new_status] >= rank[earlier.new_status]
    else:
        assert later.new_status == earlier.new_status


@given(asset_facts, st.lists(rules, max_size=4), milestone_sets, moments)
@settings(max_examples=200)
def test_nothing_is_quarantined_unless_flagged_nor_purged_unless_quarantined(
    asset: AssetFacts, policy: list[Rule], milestones: dict[str, date], now: datetime
) -> None:
    # every step a sweep takes is a move the lifecycle allows (to quarantined: from the
    # flagged steps; to purged: from quarantined), and only a file at its path is moved
    decision = decide(asset, policy, milestones, now)
    if decision.action != "none":
        assert allowed(asset.status, decision.new_status)
    if decision.action == "purge":
        assert asset.status == "quarantined"
    if decision.new_status in (*MARKED, Status.QUARANTINED) and decision.action != "none":
        assert asset.present


@given(asset_facts, st.lists(rules, min_size=1, max_size=4), milestone_sets, moments)
@settings(max_examples=300)
def test_a_sweep_s_bounds_leave_out_no_asset_that_is_due(
    asset: AssetFacts, policy: list[Rule], milestones: dict[str, date], until: datetime
) -> None:
    # a sweep reads the assets of each movable status whose deadline is within its bound
    # (or not set): every one a decision moves is among them
    due_by, _ = due_bounds(policy, until)
    assert set(due_by) == set(MOVABLE)
    decision = decide(asset, policy, milestones, until)
    if decision.action != "none" and asset.status in MOVABLE and decision.deadline is not None:
        assert decision.deadline <= due_by[asset.status]
