"""The benchmark suite: the whole pipeline at ml-1m scale, stage by stage, then serving.

    python -m benchmarks.pipeline_benchmark                # 1,000,209 generated ratings
    python -m benchmarks.pipeline_benchmark --scale 0.1    # the same in a few minutes
    python -m benchmarks.pipeline_benchmark --direct_running_mode=multi_threading  # Beam args

Generates data, converts it (Beam), runs the TFX pipeline on LocalDagRunner with every
cache off, and prints (and writes to docs/benchmarks/pipeline_benchmark.md, --page) two
tables: wall time and peak memory (the process tree: this
process and Beam's workers) per stage, read from ML Metadata's execution times against a
memory timeline; training throughput; serving throughput through the pushed SavedModel
(batched) and single-request latency; recommend's latency for one user after the model
loads (history index built once); serving.predict's start (--help, an invalid request
refused); eval MAE beside the oracle and the bias baseline;
HR@10 / NDCG@10 beside popularity; the pushed model's size and whether the newest
TensorFlow loads it (export_compatibility.py). Targets (2-core machine) are printed
beside them.
Flags it does not know are Beam pipeline options (default: pipeline.config.LOCAL_BEAM_ARGS).
"""
from benchmarks import common  # first: the process environment

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

from benchmarks import baselines
from benchmarks import export_compatibility
from cli import beam_flags
from cli import entry_point
from cli.console import Console
from components import ranking_metrics
from movielens import constants as c
from movielens import contract
from movielens import generate
from movielens import parse
from pipeline import nodes
from pipeline.config import local_pipeline_config
from serving import history
from serving import model as serving_model
from serving import recommend

# TensorFlow and TFX load in the functions that use them, so that --help answers at once.

BEAM_STAGES = (nodes.EXAMPLE_GEN, nodes.STATISTICS_GEN, nodes.TRANSFORM)
TARGETS = {"whole pipeline": 15 * 60, "Beam stages": 4 * 60}  # seconds
TARGET_PREDICTIONS_PER_SECOND = 5000
TARGET_RECOMMEND_MS = 300  # one user's recommendations after the model is loaded (p50)
RECOMMEND_USERS = 20
TARGET_COMMAND_START = 2.0  # seconds: `serving.predict --help`, and refusing a bad request
START_REPEATS = 3
TARGET_MAE_OVER_ORACLE = 1.10
LATENCY_REQUESTS = 300
GB = common.GB


def stage_row(stage: str, seconds: float, peak: int, note: str = "") -> str:
  memory = f"{peak / GB:.2f} GB" if peak else ""
  return f"| {stage} | {seconds:.1f} s | {memory} | {note} |"


def serving_speed(model_dir: str, evaluation: pd.DataFrame):
  """Batched predictions per second, and single-request latency percentiles (ms)."""
  import tensorflow as tf
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


def recommend_latency(model_dir: str, raw_dir: str, work: str):
  """(seconds to build the history index, p50 and p99 ms of one user's top 10 after the
  model is loaded): what serving.recommend --user-id does per call, users.dat, the index
  read back and all unrated movies scored."""
  rating_model = serving_model.RatingModel(model_dir)
  movies = parse.load_movies(os.path.join(raw_dir, c.MOVIES_FILE))
  index_dir = os.path.join(work, "history-index")
  start = time.perf_counter()
  history.load(raw_dir, index_dir)
  built = time.perf_counter() - start
  latencies = []
  for user_id in range(1, RECOMMEND_USERS + 1):
    start = time.perf_counter()
    user = recommend.user_from_data_dir(raw_dir, user_id, rating_model.window, index_dir)
    recommend.recommend(rating_model, user, movies, top=10)
    latencies.append((time.perf_counter() - start) * 1000)
  return built, np.percentile(latencies, 50), np.percentile(latencies, 99)


def command_seconds(*args: str) -> float:
  """The fastest of START_REPEATS runs of `python -m serving.predict ARGS` (exit ignored)."""
  times = []
  for _ in range(START_REPEATS):
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "serving.predict", *args], capture_output=True,
                   cwd=common.REPO)
    times.append(time.perf_counter() - start)
  return min(times)


def serving_start(serving_dir: str, work: str):
  """Seconds until `serving.predict --help` answers, and until it refuses an invalid
  request (a rating of 6 in the history): both before TensorFlow or the model loads."""
  bad = os.path.join(work, "bad_request.jsonl")
  with open(bad, "w") as out:
    request = export_compatibility.example_request()
    request[c.HISTORY_RATINGS] = [6.0] * len(request[c.HISTORY_RATINGS])
    out.write(json.dumps(request) + "\n")
  return command_seconds("--help"), command_seconds(bad, "--serving-dir", serving_dir)


def run_stages(args, beam_args, work: str):
  """Generation, conversion and the whole pipeline without cache, under a memory
  sampler: (stage rows, the pipeline config, the conversion summary, the raw and CSV
  folders, the conversion + pipeline seconds and peak, the Beam stages' seconds)."""
  from tfx import v1 as tfx
  from pipeline import definition
  from results import runs
  stages = []
  with common.PeakMemory(interval=0.25) as memory:
    start = time.time()
    raw = common.generated_data(work, args.scale, reuse=False)
    generated = time.time()
    stages.append(stage_row("generate (not in the pipeline)", generated - start,
                            memory.peak_between(start, generated)))
    csv_dir, summary = common.converted_csv(raw, work, beam_args, reuse=False)
    converted = time.time()
    stages.append(stage_row("conversion (Beam)", converted - generated,
                            memory.peak_between(generated, converted)))
    config = local_pipeline_config(work, csv_dir, beam_args=beam_args, enable_cache=False)
    # TFX's own log goes to a file, not here.
    with Console().quiet(os.path.join(work, "pipeline.log"), verbose_flag=None):
      tfx.orchestration.LocalDagRunner().run(definition.create_pipeline(config))
    finished = time.time()
  components = runs.component_runs(runs.connect(config.metadata_path))
  for name, run in components.items():
    stages.append(stage_row(name, run.seconds,
                            memory.peak_between(run.end_time - run.seconds, run.end_time)))
  total = finished - generated  # conversion + pipeline: what a user waits for
  beam = sum(components[name].seconds for name in BEAM_STAGES) + (converted - generated)
  stages.append(stage_row(
      "**total, conversion + pipeline**", total, memory.peak_between(generated, finished),
      f"<= {TARGETS['whole pipeline'] / 60:.0f} min: "
      f"{common.verdict(total <= TARGETS['whole pipeline'])}"))
  stages.append(stage_row(
      "Beam stages (conversion, ExampleGen, StatisticsGen, Transform)", beam, 0,
      f"<= {TARGETS['Beam stages'] / 60:.0f} min: "
      f"{common.verdict(beam <= TARGETS['Beam stages'])}"))
  return stages, config, summary, raw, csv_dir, components


def serving_lines(config, outcome, raw: str, evaluation: pd.DataFrame, work: str):
  """Serving's throughput and latency, recommend's latency, the commands' start, and
  whether the newest TensorFlow loads the pushed model: one markdown table row each."""
  per_second, p50, p99, scored = serving_speed(outcome.model_dir, evaluation)
  pushed = outcome.pushed_to or outcome.model_dir  # the Trainer's when none was blessed
  compatibility = export_compatibility.check(pushed)
  help_seconds, refusal_seconds = serving_start(config.serving_model_dir, work)
  index_seconds, recommend_p50, recommend_p99 = recommend_latency(outcome.model_dir, raw, work)
  started = max(help_seconds, refusal_seconds) <= TARGET_COMMAND_START
  return [
      f"| serving, batched ({contract.SCORING_BATCH} per call, `serving_default`) | "
      f"{per_second:,.0f} predictions/s over {scored:,} | >= "
      f"{TARGET_PREDICTIONS_PER_SECOND:,}: "
      f"{common.verdict(per_second >= TARGET_PREDICTIONS_PER_SECOND)} |",
      f"| serving, one request per call | p50 {p50:.1f} ms, p99 {p99:.1f} ms | |",
      f"| recommend, one user's top 10 after the model loads ({RECOMMEND_USERS} users) | "
      f"p50 {recommend_p50:.0f} ms, p99 {recommend_p99:.0f} ms; history index built once "
      f"in {index_seconds:.1f} s | p50 <= {TARGET_RECOMMEND_MS} ms: "
      f"{common.verdict(recommend_p50 <= TARGET_RECOMMEND_MS)} |",
      f"| serving.predict start: --help; an invalid request refused | {help_seconds:.2f} s; "
      f"{refusal_seconds:.2f} s | <= {TARGET_COMMAND_START:g} s: {common.verdict(started)} |",
      f"| export | {export_compatibility.describe(compatibility, pushed)} | |",
  ]


def main(argv):
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--scale", type=float, default=1.0, help="generated data scale")
  parser.add_argument("--work-dir", help="default: a new temp dir")
  common.add_page_flag(parser, "pipeline_benchmark")
  args, beam_args = beam_flags.parse_args_and_beam_args(parser, argv)
  work = args.work_dir or tempfile.mkdtemp(prefix="pipeline_benchmark_")
  from results import runs
  stages, config, summary, raw, csv_dir, components = run_stages(args, beam_args, work)
  outcome = runs.outcome(components)
  rows, epochs = summary["rows"], outcome.training["epochs_run"]
  trainer_seconds = components[nodes.TRAINER].seconds
  train, evaluation = common.splits_with_oracle(raw, csv_dir)
  label = evaluation[c.RATING].to_numpy(dtype=float)
  oracle_mae = evaluation["best_expected_abs_error"].mean()
  bias_mae = np.abs(baselines.biases(train, evaluation) - label).mean()
  ratio = outcome.mae / oracle_mae
  ranking = outcome.ranking
  k = ranking["k"]
  common.publish(args.page, "Benchmark: the whole pipeline, then serving", [
      f"Data: {generate.GeneratorConfig.scaled(args.scale).num_ratings:,} generated ratings "
      f"(scale {args.scale:g}): {' / '.join(f'{rows[s]:,} {s}' for s in c.SPLITS)} rows. "
      f"Beam: {' '.join(config.beam_pipeline_args)}. Every cache off. Peak memory sums "
      "the RSS of this process and Beam's workers (shared pages count more than once).",
      "", "| stage | wall time | peak memory | target |", "| --- | --- | --- | --- |",
      *stages,
      "", "| measure | value | target |", "| --- | --- | --- |",
      f"| training throughput | {epochs * rows['train'] / trainer_seconds:,.0f} examples/s "
      f"({epochs} epochs in {trainer_seconds:.0f} s, setup and export included) | |",
      *serving_lines(config, outcome, raw, evaluation, work),
      f"| validation MAE (the kept epoch, {outcome.training['kept_epoch']}: chosen there) | "
      f"{outcome.training['validation_mae']:.4f} | |",
      f"| eval MAE (TFMA: what the gate judged; "
      f"{'blessed' if outcome.blessed else 'NOT blessed'}) | {outcome.mae:.4f} | |",
      f"| oracle MAE (the floor) / user + movie bias | {oracle_mae:.4f} / {bias_mae:.4f} | |",
      f"| MAE / oracle | {ratio:.3f} | <= {TARGET_MAE_OVER_ORACLE:.2f}: "
      f"{common.verdict(ratio <= TARGET_MAE_OVER_ORACLE)} |",
      *(f"| next movie by {scorer}: HR@{k} / NDCG@{k} / mean rank | "
        f"{ranking[scorer][f'hr@{k}']:.4f} / {ranking[scorer][f'ndcg@{k}']:.4f} / "
        f"{ranking[scorer]['mean_rank']:.1f} | |" for scorer in ranking_metrics.SCORERS),
  ])

if __name__ == "__main__":
  entry_point.run(main)  # a bad flag: one line
