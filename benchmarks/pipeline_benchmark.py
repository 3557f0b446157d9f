"""The benchmark suite: the whole pipeline at ml-1m scale, stage by stage, then serving.

    python -m benchmarks.pipeline_benchmark                # 1,000,209 generated ratings
    python -m benchmarks.pipeline_benchmark --scale 0.1    # the same in a few minutes
    python -m benchmarks.pipeline_benchmark --direct_running_mode=in_memory  # Beam args

Generates data, converts it (Beam), runs the TFX pipeline on LocalDagRunner with every
cache off, and prints one table: wall time and peak memory (the process tree: this
process and Beam's workers) per stage, read from ML Metadata's execution times against a
memory timeline; training throughput; serving throughput through the pushed SavedModel
(batched) and single-request latency; eval MAE beside the oracle and the bias baseline;
HR@10 / NDCG@10 beside popularity; the pushed model's size and whether the newest
TensorFlow loads it (export_compatibility.py). Targets (2-core machine) are printed
beside them.
Flags it does not know are Beam pipeline options (default: multi-processing, all cores).
"""
from benchmarks import common  # first: the process environment

import argparse
import os
import sys
import tempfile
import time

import numpy as np
import pandas as pd
import psutil
import tensorflow as tf
from tfx import v1 as tfx

from benchmarks import baselines
from benchmarks import export_compatibility
from components import ranking_evaluator
from movielens import constants as c
from movielens import contract
from movielens import generate
from pipeline import flags
from pipeline import nodes
from pipeline import pipeline
from pipeline import runs
from pipeline.config import local_pipeline_config

BEAM_STAGES = (nodes.EXAMPLE_GEN, nodes.STATISTICS_GEN, nodes.TRANSFORM)
TARGETS = {"whole pipeline": 15 * 60, "Beam stages": 4 * 60}  # seconds
TARGET_PREDICTIONS_PER_SECOND = 5000
TARGET_MAE_OVER_ORACLE = 1.10
LATENCY_REQUESTS = 300
GB = common.GB


def row(stage: str, seconds: float, peak: int, note: str = "") -> None:
  memory = f"{peak / GB:6.2f} GB" if peak else "         "
  print(f"  {stage:<30}{seconds:9.1f} s {memory}  {note}")


def serving_speed(model_dir: str, evaluation: pd.DataFrame):
  """Batched predictions per second, and single-request latency percentiles (ms)."""
  serve = tf.saved_model.load(model_dir).signatures[contract.SERVING_SIGNATURE]
  examples = common.serving_examples(evaluation)
  contract.score(serve, examples[:contract.SCORING_BATCH])  # trace once before timing
  start = time.perf_counter()
  contract.score(serve, examples)
  per_second = len(examples) / (time.perf_counter() - start)
  latencies = []
  for example in examples[:LATENCY_REQUESTS]:
    start = time.perf_counter()
    contract.score(serve, [example])
    latencies.append((time.perf_counter() - start) * 1000)
  return per_second, np.percentile(latencies, 50), np.percentile(latencies, 99), len(examples)


def main():
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--scale", type=float, default=1.0, help="generated data scale")
  parser.add_argument("--work-dir", help="default: a new temp dir")
  args, beam_args = flags.parse_args_and_beam_args(parser, sys.argv[1:])
  work = args.work_dir or tempfile.mkdtemp(prefix="pipeline_benchmark_")
  stages = []  # (name, seconds, peak bytes, note)

  with common.PeakMemory(interval=0.25) as memory:
    start = time.time()
    generator_config = generate.GeneratorConfig.scaled(args.scale)
    raw = common.generated_data(work, args.scale, reuse=False)
    generated = time.time()
    stages.append(("generate (not in the pipeline)", generated - start,
                   memory.peak_between(start, generated), ""))
    csv_dir, summary = common.converted_csv(raw, work, beam_args, reuse=False)
    converted = time.time()
    stages.append(("conversion (Beam)", converted - generated,
                   memory.peak_between(generated, converted), ""))
    config = local_pipeline_config(work, csv_dir, beam_args=beam_args, enable_cache=False)
    tfx.orchestration.LocalDagRunner().run(pipeline.create_pipeline(config))
    finished = time.time()

  store = runs.connect(config.metadata_path)
  components = runs.component_runs(store)
  for name, run in components.items():
    stages.append((name, run.seconds,
                   memory.peak_between(run.end_time - run.seconds, run.end_time), ""))
  outcome = runs.outcome(components)
  rows = summary["rows"]
  epochs = outcome.training["epochs_run"]
  trainer_seconds = components[nodes.TRAINER].seconds

  train, evaluation = common.splits_with_oracle(raw, csv_dir)
  label = evaluation[c.RATING].to_numpy(dtype=float)
  oracle_mae = evaluation["best_expected_abs_error"].mean()
  bias_mae = np.abs(baselines.biases(train, evaluation) - label).mean()
  per_second, p50, p99, scored = serving_speed(outcome.model_dir, evaluation)
  pushed = outcome.pushed_to or outcome.model_dir  # the Trainer's when none was blessed
  compatibility = export_compatibility.check(pushed)

  total = finished - generated  # conversion + pipeline: what a user waits for
  beam = sum(components[name].seconds for name in BEAM_STAGES) + (converted - generated)
  print(f"\nmachine: {os.cpu_count()} cores, {psutil.virtual_memory().total / GB:.0f} GiB; "
        f"data: {generator_config.num_ratings:,} ratings (scale {args.scale:g}), "
        f"{' / '.join(f'{rows[s]:,} {s}' for s in c.SPLITS)} rows; beam: "
        f"{' '.join(config.beam_pipeline_args)}")
  print(f"  {'stage':<30}{'wall time':>11} {'peak mem':>9}")
  for stage in stages:
    row(*stage)
  row("total (conversion + pipeline)", total, memory.peak_between(generated, finished),
      f"target <= {TARGETS['whole pipeline'] / 60:.0f} min: "
      f"{'met' if total <= TARGETS['whole pipeline'] else 'MISSED'}")
  row("Beam stages (conv+EG+SG+TF)", beam, 0,
      f"target <= {TARGETS['Beam stages'] / 60:.0f} min: "
      f"{'met' if beam <= TARGETS['Beam stages'] else 'MISSED'}")
  print(f"training: {epochs} epochs of {rows['train']:,} rows in {trainer_seconds:.0f} s: "
        f"{epochs * rows['train'] / trainer_seconds:,.0f} examples/s (Trainer wall time, "
        "setup and export included)")
  print(f"serving (pushed SavedModel, serving_default): {per_second:,.0f} predictions/s in "
        f"batches of {contract.SCORING_BATCH} over {scored:,} requests (target >= "
        f"{TARGET_PREDICTIONS_PER_SECOND:,}: "
        f"{'met' if per_second >= TARGET_PREDICTIONS_PER_SECOND else 'MISSED'}); "
        f"single request p50 {p50:.1f} ms, p99 {p99:.1f} ms")
  ratio = outcome.mae / oracle_mae
  print(f"validation MAE {outcome.training['validation_mae']:.4f} (kept epoch "
        f"{outcome.training['kept_epoch']}: chosen there)")
  print(f"eval MAE {outcome.mae:.4f} (TFMA; {'blessed' if outcome.blessed else 'NOT blessed'})"
        f"; oracle {oracle_mae:.4f}; bias baseline {bias_mae:.4f}; MAE / oracle {ratio:.3f} "
        f"(target <= {TARGET_MAE_OVER_ORACLE:.2f}: "
        f"{'met' if ratio <= TARGET_MAE_OVER_ORACLE else 'MISSED'})")
  print(ranking_evaluator.describe(outcome.ranking))
  print(f"export: {export_compatibility.describe(compatibility, pushed)}")


if __name__ == "__main__":
  main()
