"""The benchmark suite: the whole pipeline at ml-1m scale, stage by stage, then serving.

    python benchmarks/pipeline_benchmark.py                # 1,000,209 generated ratings
    python benchmarks/pipeline_benchmark.py --scale 0.1    # the same in a few minutes
    python benchmarks/pipeline_benchmark.py --direct_running_mode=in_memory  # Beam args

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
import argparse
import os
import sys
import tempfile
import time

import numpy as np
import pandas as pd
import psutil

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import tensorflow as tf  # noqa: E402
from tfx import v1 as tfx  # noqa: E402
from tfx.utils import path_utils  # noqa: E402

from benchmarks import baselines  # noqa: E402
from benchmarks import export_compatibility  # noqa: E402
from benchmarks.convert_benchmark import PeakMemory  # noqa: E402
from benchmarks.quality_benchmark import serving_examples, splits_with_oracle  # noqa: E402
from components import ranking_evaluator  # noqa: E402
from movielens import constants as c  # noqa: E402
from movielens import convert  # noqa: E402
from movielens import generate  # noqa: E402
from pipeline import pipeline  # noqa: E402
from pipeline import runs  # noqa: E402
from pipeline.config import PipelineConfig  # noqa: E402
from trainer import task  # noqa: E402

DEFAULT_BEAM_ARGS = ["--direct_running_mode=multi_processing", "--direct_num_workers=0"]
BEAM_STAGES = ("CsvExampleGen", "StatisticsGen", "Transform")
TARGETS = {"whole pipeline": 15 * 60, "Beam stages": 4 * 60}  # seconds
TARGET_PREDICTIONS_PER_SECOND = 5000
TARGET_MAE_OVER_ORACLE = 1.10
SERVING_BATCH = 4096
LATENCY_REQUESTS = 300
GB = 1024 ** 3


def row(stage: str, seconds: float, peak: int, note: str = "") -> None:
  memory = f"{peak / GB:6.2f} GB" if peak else "         "
  print(f"  {stage:<30}{seconds:9.1f} s {memory}  {note}")


def serving_speed(model_dir: str, evaluation: pd.DataFrame):
  """Batched predictions per second, and single-request latency percentiles (ms)."""
  serve = tf.saved_model.load(model_dir).signatures[task.SERVING_SIGNATURE]
  examples = list(serving_examples(evaluation))
  call = lambda batch: serve(examples=tf.constant(batch))[task.PREDICTION_KEY].numpy()
  call(examples[:SERVING_BATCH])  # trace once before timing
  start = time.perf_counter()
  for i in range(0, len(examples), SERVING_BATCH):
    call(examples[i:i + SERVING_BATCH])
  per_second = len(examples) / (time.perf_counter() - start)
  latencies = []
  for example in examples[:LATENCY_REQUESTS]:
    start = time.perf_counter()
    call([example])
    latencies.append((time.perf_counter() - start) * 1000)
  return per_second, np.percentile(latencies, 50), np.percentile(latencies, 99), len(examples)


def main():
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--scale", type=float, default=1.0, help="generated data scale")
  parser.add_argument("--work-dir", help="default: a new temp dir")
  args, beam_args = parser.parse_known_args()
  beam_args = beam_args or DEFAULT_BEAM_ARGS
  work = args.work_dir or tempfile.mkdtemp(prefix="pipeline_benchmark_")
  stages = []  # (name, seconds, peak bytes, note)

  with PeakMemory(interval=0.25) as memory:
    start = time.time()
    generator_config = generate.GeneratorConfig.scaled(args.scale)
    raw = generate.generate_movielens(os.path.join(work, "raw"), generator_config)
    generated = time.time()
    stages.append(("generate (not in the pipeline)", generated - start,
                   memory.peak_between(start, generated), ""))
    conversion = convert.ConversionConfig(raw, os.path.join(work, "csv"))
    summary = convert.run_conversion(conversion, beam_args)
    converted = time.time()
    stages.append(("conversion (Beam)", converted - generated,
                   memory.peak_between(generated, converted), ""))
    config = PipelineConfig(
        csv_dir=conversion.output_dir, pipeline_root=os.path.join(work, "tfx"),
        metadata_path=os.path.join(work, "tfx", "metadata.sqlite"),
        serving_model_dir=os.path.join(work, "serving"), beam_pipeline_args=beam_args,
        enable_cache=False)
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
  trainer_seconds = components["Trainer"].seconds

  train, evaluation = splits_with_oracle(raw, conversion.output_dir)
  label = evaluation[c.RATING].to_numpy(dtype=float)
  oracle_mae = evaluation["best_expected_abs_error"].mean()
  bias_mae = np.abs(baselines.biases(train, evaluation) - label).mean()
  model_dir = path_utils.serving_model_path(components["Trainer"].output("model").uri)
  per_second, p50, p99, scored = serving_speed(model_dir, evaluation)
  ranking = ranking_evaluator.read_result(components["RankingEvaluator"].output("ranking").uri)
  pushed = outcome.pushed_to or model_dir  # the Trainer's model when none was blessed
  compatibility = export_compatibility.check(pushed)

  total = finished - generated  # conversion + pipeline: what a user waits for
  beam = sum(components[name].seconds for name in BEAM_STAGES) + (converted - generated)
  print(f"\nmachine: {os.cpu_count()} cores, {psutil.virtual_memory().total / GB:.0f} GiB; "
        f"data: {generator_config.num_ratings:,} ratings (scale {args.scale:g}), "
        f"{' / '.join(f'{rows[s]:,} {s}' for s in c.SPLITS)} rows; beam: {' '.join(beam_args)}")
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
        f"batches of {SERVING_BATCH} over {scored:,} requests (target >= "
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
  k = ranking["k"]
  print(f"ranking ({ranking['users']:,} users, true next movie among {ranking['negatives']} "
        f"unrated): model HR@{k} {ranking['model'][f'hr@{k}']:.4f} NDCG@{k} "
        f"{ranking['model'][f'ndcg@{k}']:.4f}; popularity HR@{k} "
        f"{ranking['popularity'][f'hr@{k}']:.4f} NDCG@{k} "
        f"{ranking['popularity'][f'ndcg@{k}']:.4f}")
  print(f"export: {export_compatibility.describe(compatibility, pushed)}")


if __name__ == "__main__":
  main()
