"""Benchmark records and the three files a run writes: results.json, RESULTS.md and results.png.

Every record compares ours with one baseline measured in the same run, round by round, so drift on a
shared machine hits both alike. `ratio` is always "times better than the baseline": ours / baseline for
rates, baseline / ours for times and latencies, so above 1 means ours wins. With one baseline value per
round it is the median of the rounds' ratios (each round measured both back to back); otherwise the ratio
of the medians.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt


@dataclass(frozen=True)
class Goal:
    """What a result must reach: a ratio against its baseline, or an absolute value of ours."""

    minimum: float
    on: str  # "ratio" or "ours"

    def describe(self, unit: str) -> str:
        return f"ratio >= {self.minimum:g}x" if self.on == "ratio" else f">= {self.minimum:,.0f} {unit}"


@dataclass(frozen=True)
class Record:
    stage: str
    metric: str
    unit: str
    ours: float
    baseline: str | None
    baseline_value: float | None
    ratio: float | None
    min: float
    median: float
    max: float
    runs: int
    higher_is_better: bool
    goal: str | None
    goal_met: bool | None
    measured_at: str


def record(
    stage: str,
    metric: str,
    unit: str,
    ours: Sequence[float],
    *,
    baseline: str | None = None,
    baseline_values: Sequence[float] = (),
    higher_is_better: bool = True,
    goal: Goal | None = None,
) -> Record:
    """Summarise `ours` (one value per run) against the median of `baseline_values`."""
    median = statistics.median(ours)
    baseline_value = statistics.median(baseline_values) if baseline_values else None
    ratio = None
    if baseline_value:
        pairs = (
            zip(ours, baseline_values, strict=True) if len(ours) == len(baseline_values) else [(median, baseline_value)]
        )
        ratio = statistics.median(mine / theirs if higher_is_better else theirs / mine for mine, theirs in pairs)
    met = None
    if goal is not None:
        reached = ratio if goal.on == "ratio" else median
        met = reached is not None and reached >= goal.minimum
    return Record(
        stage=stage,
        metric=metric,
        unit=unit,
        ours=median,
        baseline=baseline,
        baseline_value=baseline_value,
        ratio=ratio,
        min=min(ours),
        median=median,
        max=max(ours),
        runs=len(ours),
        higher_is_better=higher_is_better,
        goal=goal.describe(unit) if goal else None,
        goal_met=met,
        measured_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def markdown(records: Sequence[Record], stages: Sequence[str], started: datetime, seconds: float) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC on {platform.machine()} with {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; stages: {', '.join(stages)}; {seconds / 60:.1f} minutes.",
        "Written by `make bench` (README: Benchmarks).",
        "",
        "Ratios are times better than the baseline measured in the same run (above 1: ours wins). "
        "Absolute values drift 10-30% between runs on a shared machine; compare ratios.",
        "",
        "| stage | metric | ours (median) | min-max | runs | baseline | baseline value | ratio | goal | measured |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for item in records:
        goal = "" if item.goal is None else f"{item.goal}: {'met' if item.goal_met else 'NOT met'}"
        lines.append(
            f"| {item.stage} | {item.metric} ({item.unit}) | {_number(item.ours)} | "
            f"{_number(item.min)}-{_number(item.max)} | {item.runs} | {item.baseline or ''} | "
            f"{_number(item.baseline_value)} | {'' if item.ratio is None else f'{item.ratio:.2f}x'} | {goal} | "
            f"{item.measured_at[:16]} |"
        )
    return "\n".join(lines) + "\n"


def chart(records: Sequence[Record], path: Path) -> None:
    """One horizontal bar per compared record: its ratio, with the parity line at 1."""
    compared = [item for item in records if item.ratio is not None]
    figure, axes = plt.subplots(figsize=(10, 0.45 * max(len(compared), 2) + 1.2))
    labels = [f"{item.stage}: {item.metric}\nvs {item.baseline}" for item in compared]
    colours = ["tab:green" if item.ratio >= 1 else "tab:red" for item in compared]  # type: ignore[operator]
    axes.barh(range(len(compared)), [item.ratio for item in compared], color=colours)
    axes.set_yticks(range(len(compared)), labels, fontsize=7)
    axes.invert_yaxis()
    axes.axvline(1.0, color="black", linewidth=0.8)
    axes.set_xscale("log")
    axes.set_xlabel("times better than the baseline (log scale)")
    axes.set_title("streamstack benchmarks: ours against the baseline of the same run")
    figure.tight_layout()
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)


def merged(directory: Path, fresh: Sequence[Record], stages: Sequence[str]) -> list[Record]:
    """The earlier results of the stages not run this time, then this run's: `STAGES=transform` refreshes one."""
    path = directory / "results.json"
    earlier = [Record(**item) for item in json.loads(path.read_text())] if path.exists() else []
    return [item for item in earlier if item.stage not in stages] + list(fresh)


def write(records: Sequence[Record], directory: Path, stages: Sequence[str], started: datetime, seconds: float) -> None:
    """results.json (every record), RESULTS.md (a table) and results.png (the ratios) in `directory`."""
    (directory / "results.json").write_text(json.dumps([dataclasses.asdict(item) for item in records], indent=2) + "\n")
    (directory / "RESULTS.md").write_text(markdown(records, stages, started, seconds))
    chart(records, directory / "results.png")
