"""Benchmark: production retraining, replayed, against one cold full run.

    python -m benchmarks.replay_benchmark [--scale 1] [--spans 5]

On one generated data set, in one session, each as a user runs it (local_runner.py):
  1. a cold full run: the default one-span pipeline over all the ratings;
  2. span mode, one run per span (`--spans N --span k`, k = 0 .. N-1), each timed;
  3. the same replay command again (`--replay`): every span done, nothing new pushed;
  4. the last span once more from random weights (`--cold-start`), to compare the warm
     start's validation curve with a cold one's on the same span.
With --portable-spans, span mode's portable design (what Kubeflow V2 compiles): each run
ingests its window again; the page then says what that costs per run.
Targets (issue 25): each run after the first at most 0.6x the cold full run's wall time;
the warm start reaching the cold start's best validation MAE in at most half its epochs;
the rerun pushing nothing.
"""
from benchmarks import common  # first: the process environment

import argparse
import os
import subprocess
import sys
import tempfile
import time
from typing import List, Optional, Sequence, Tuple

from cli.layout import LocalLayout
from pipeline import nodes

# TensorFlow and TFX load in the functions that use them, so that --help answers at once.

# What a span run spends on its training spans: re-ingesting them (the portable design
# only) and analyzing them (all of them in the portable design, the newest alone with the
# resolved design's analyzer cache).
WINDOW_NODES = (nodes.TRAINING_EXAMPLE_GEN, nodes.PREVIOUS_STATISTICS_GEN, nodes.TRANSFORM)
TARGET_RUN_RATIO = 0.6
TARGET_EPOCH_RATIO = 0.5


def timed_run(*args: str) -> float:
  """Wall seconds of one local_runner.py command (it must succeed)."""
  start = time.perf_counter()
  result = subprocess.run([sys.executable, os.path.join(common.REPO, "local_runner.py"),
                           *args], cwd=common.REPO, capture_output=True, text=True)
  if result.returncode:
    raise RuntimeError(f"local_runner.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
  return time.perf_counter() - start


def epochs_to_reach(curve: Sequence[float], target: float) -> Optional[int]:
  """The first epoch (1-based) whose validation MAE is at or below target."""
  return next((epoch + 1 for epoch, mae in enumerate(curve) if mae <= target), None)


def training_of(output_dir: str, span: int) -> Tuple[dict, float]:
  """The training summary and the Trainer's wall seconds of the last run of `span`."""
  from results import runs
  from results import timeline
  store = runs.connect(LocalLayout(output_dir).metadata_path)
  span_run = timeline.span_runs(store)[span]
  return (span_run.outcome.training,
          runs.component_runs(store, span_run.run_id)[nodes.TRAINER].seconds)


def window_cost(output_dir: str, run_id: str) -> float:
  """Seconds a span run spent gathering its training spans and their Transform analysis
  (WINDOW_NODES that ran)."""
  from results import runs
  components = runs.component_runs(runs.connect(LocalLayout(output_dir).metadata_path),
                                   run_id)
  return sum(components[node].seconds for node in WINDOW_NODES if node in components)


def main(argv: List[str]) -> None:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--scale", type=float, default=1.0, help="generated data scale")
  parser.add_argument("--spans", type=int, default=5)
  parser.add_argument("--portable-spans", action="store_true",
                      help="span mode's portable design (local_runner.py --portable-spans)")
  parser.add_argument("--work-dir", help="default: a new temp dir")
  common.add_page_flag(parser, "replay_benchmark")
  args = parser.parse_args(argv)
  from results import runs
  from results import timeline
  work = args.work_dir or tempfile.mkdtemp(prefix="replay_benchmark_")
  raw = common.generated_data(work, args.scale)

  cold_dir, span_dir = os.path.join(work, "cold"), os.path.join(work, "spans")
  cold_seconds = timed_run("--data-dir", raw, "--output-dir", cold_dir)
  span_flags = ("--data-dir", raw, "--spans", str(args.spans), "--output-dir", span_dir,
                *(["--portable-spans"] if args.portable_spans else []))
  seconds = [timed_run(*span_flags, "--span", str(k)) for k in range(args.spans)]
  serving = LocalLayout(span_dir).serving_dir
  versions = sorted(os.listdir(serving)) if os.path.isdir(serving) else []
  replay_seconds = timed_run(*span_flags, "--replay")
  rerun_versions = sorted(os.listdir(serving)) if os.path.isdir(serving) else []
  by_span = timeline.span_runs(runs.connect(LocalLayout(span_dir).metadata_path))
  table = timeline.table(by_span)
  window_seconds = [window_cost(span_dir, by_span[k].run_id) for k in range(1, args.spans)]

  last = args.spans - 1
  warm, warm_trainer = training_of(span_dir, last)
  timed_run(*span_flags, "--span", str(last), "--cold-start")
  cold, cold_trainer = training_of(span_dir, last)
  cold_curve, warm_curve = cold["per_epoch"]["val_mae"], warm["per_epoch"]["val_mae"]
  cold_best_epoch = cold_curve.index(min(cold_curve)) + 1
  warm_reach = epochs_to_reach(warm_curve, min(cold_curve))
  worst_ratio = max(seconds[1:]) / cold_seconds
  epoch_ratio = warm_reach / cold_best_epoch if warm_reach else float("inf")
  design = "portable (--portable-spans)" if args.portable_spans else "resolved (default)"
  common.publish(args.page, "Benchmark: production retraining, replayed", [
      f"Data: scale {args.scale:g} generated ratings, {args.spans} spans by count; span "
      f"mode's {design} design. Each command timed as a user runs it (process start, "
      "conversion and pipeline).",
      "", "| run | wall time | / cold full run |", "| --- | --- | --- |",
      f"| cold full run (one span, all ratings) | {cold_seconds:.0f} s | 1.00 |",
      *(f"| span {k} | {s:.0f} s | {s / cold_seconds:.2f} |" for k, s in enumerate(seconds)),
      f"| the replay command again | {replay_seconds:.0f} s | "
      f"{replay_seconds / cold_seconds:.2f} |",
      "", "```", table, "```", "",
      "| measure | value | target |", "| --- | --- | --- |",
      f"| slowest run after the first / cold full run | {worst_ratio:.2f} | <= "
      f"{TARGET_RUN_RATIO}: {common.verdict(worst_ratio <= TARGET_RUN_RATIO)} |",
      f"| span {last}, validation MAE per epoch: warm start (Trainer {warm_trainer:.0f} s) | "
      f"{' '.join(f'{m:.4f}' for m in warm_curve)} | |",
      f"| span {last}, validation MAE per epoch: cold start (Trainer {cold_trainer:.0f} s) | "
      f"{' '.join(f'{m:.4f}' for m in cold_curve)} | |",
      f"| epochs for the warm start to reach the cold start's best ({min(cold_curve):.4f}, "
      f"its epoch {cold_best_epoch}) | {warm_reach or 'never'} ({epoch_ratio:.2f} of "
      f"{cold_best_epoch}) | <= {TARGET_EPOCH_RATIO}: "
      f"{common.verdict(epoch_ratio <= TARGET_EPOCH_RATIO)} |",
      "| what gathers the training spans, spans 1 to "
      f"{last}: {', '.join(WINDOW_NODES)} (s) | "
      f"{' '.join(f'{w:.0f}' for w in window_seconds)} | |",
      f"| serving versions after the replay / after the same command again | "
      f"{len(versions)} / {len(rerun_versions)} | equal: "
      f"{common.verdict(versions == rerun_versions)} |",
  ])


if __name__ == "__main__":
  main(sys.argv[1:])
