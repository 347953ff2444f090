"""`make bench`: every stage against its baseline, side by side in one run, on real local servers.

`python -m bench [--stages producer,transform,...] [--runs N]` writes bench/results.json, bench/RESULTS.md
and bench/results.png. Servers start as the tests start them (downloaded into .cache/ on first use) and
stop at the end. Progress goes to stderr. Not a test: nothing here fails on a slow result.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench.report import Record, merged, write
from bench.servers import Servers

STAGES = ("producer", "transform", "cassandra", "parquet", "end_to_end", "graph")
RESULTS = Path(__file__).resolve().parent


def stage_list(text: str) -> list[str]:
    chosen = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in STAGES]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown stage(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(STAGES)}"
        )
    return chosen


def reporter(stage: str, started: float) -> Callable[[str], None]:
    def report(line: str) -> None:
        print(f"[{time.monotonic() - started:6.0f}s] {stage}: {line}", file=sys.stderr, flush=True)

    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--stages", type=stage_list, default=list(STAGES), help=f"comma-separated, from: {', '.join(STAGES)}"
    )
    parser.add_argument("--runs", type=int, default=5, help="measured rounds per stage, after a warm-up (default 5)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    started_at, started = datetime.now(UTC), time.monotonic()
    servers = Servers(reporter("servers", started))
    records: list[Record] = []
    try:
        for number, stage in enumerate(args.stages, start=1):
            report = reporter(stage, started)
            report(f"stage {number}/{len(args.stages)}")
            module = importlib.import_module(f"bench.stages.{stage}")
            records.extend(module.run(servers, args.runs, report))
    finally:
        servers.close()
    write(merged(RESULTS, records, args.stages), RESULTS, args.stages, started_at, time.monotonic() - started)
    for item in records:
        ratio = "" if item.ratio is None else f"  {item.ratio:.2f}x vs {item.baseline}"
        goal = "" if item.goal is None else f"  [{item.goal}: {'met' if item.goal_met else 'NOT met'}]"
        print(f"{item.stage:<11} {item.metric:<48} {item.ours:>12,.1f} {item.unit}{ratio}{goal}")
    print(f"wrote {RESULTS / 'results.json'}, RESULTS.md and results.png", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
