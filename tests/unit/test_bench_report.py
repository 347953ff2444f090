"""The benchmark's records: ratios that read "times better", goals, and partial runs keeping earlier stages."""

import json
from datetime import UTC, datetime

import pytest

from bench.report import Goal, merged, record, write


def test_a_rate_ratio_is_the_median_of_the_rounds_ratios():
    result = record("s", "m", "rows/s", [90.0, 200.0, 120.0], baseline="b", baseline_values=[30.0, 100.0, 80.0])
    assert (result.ours, result.min, result.max, result.runs) == (120.0, 90.0, 200.0, 3)
    assert result.baseline_value == 80.0
    assert result.ratio == pytest.approx(2.0)  # rounds: 3.0, 2.0, 1.5


def test_a_time_ratio_reads_times_better_too():
    result = record("s", "m", "ms", [50.0], baseline="b", baseline_values=[200.0], higher_is_better=False)
    assert result.ratio == pytest.approx(4.0)


def test_unpaired_values_compare_medians():
    result = record("s", "m", "rows/s", [10.0, 30.0], baseline="b", baseline_values=[4.0, 5.0, 6.0])
    assert result.ratio == pytest.approx(20.0 / 5.0)


def test_goals_on_the_ratio_or_on_ours_say_whether_they_were_met():
    ratio_goal = record("s", "m", "rows/s", [130.0], baseline="b", baseline_values=[100.0], goal=Goal(1.2, "ratio"))
    absolute = record("s", "m", "events/s", [59_000.0], goal=Goal(60_000, "ours"))
    assert (ratio_goal.goal, ratio_goal.goal_met) == ("ratio >= 1.2x", True)
    assert (absolute.goal, absolute.goal_met) == (">= 60,000 events/s", False)
    assert record("s", "m", "s", [1.0]).ratio is None


def test_a_partial_run_replaces_its_stages_and_keeps_the_others(tmp_path):
    old = [record("transform", "old", "rows/s", [1.0]), record("graph", "kept", "s", [2.0])]
    write(old, tmp_path, ["transform", "graph"], datetime(2026, 1, 1, tzinfo=UTC), 60.0)
    fresh = [record("transform", "new", "rows/s", [3.0])]
    combined = merged(tmp_path, fresh, ["transform"])
    assert [(item.stage, item.metric) for item in combined] == [("graph", "kept"), ("transform", "new")]
    write(combined, tmp_path, ["transform"], datetime(2026, 1, 1, tzinfo=UTC), 60.0)
    assert [item["metric"] for item in json.loads((tmp_path / "results.json").read_text())] == ["kept", "new"]
    assert "| transform | new (rows/s) | 3 |" in (tmp_path / "RESULTS.md").read_text()
    assert (tmp_path / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
