"""Benchmark: the BST's eval MAE beside the baselines a user could pick instead, and the
generator's oracle.

    python -m benchmarks.quality_benchmark              # ml-1m scale (1,000,209 ratings)
    python -m benchmarks.quality_benchmark --scale 0.1  # quicker
    python -m benchmarks.quality_benchmark --no-svdpp   # without SVD++ (minutes at ml-1m)

Generates data, converts it, runs the TFX pipeline on LocalDagRunner, then scores every
eval row through the exported serving signature of the run's Trainer model (blessed or
not) and prints MAE / RMSE and fit time of the BST and of each baseline (benchmarks/
baselines.py: global mean, user + movie bias, scikit-surprise's SVD and SVD++, plain and
rounded, all fitted on the same train rows), and the oracle, all on the same eval rows;
the table also goes to docs/benchmarks/quality_benchmark.md (--page).
The model was chosen on validation (its MAE there is printed too); eval is only reported.
Beam's, TFX's and TensorFlow's own log goes to <work dir>/benchmark.log.
Model choices themselves are compared with model_ablation.py, on validation.
"""
from benchmarks import common  # first: the process environment

import argparse
import os
import tempfile
import time

import numpy as np

from benchmarks import baselines
from cli.console import Console
from movielens import constants as c
from movielens import contract
from movielens import generate
from pipeline import nodes
from pipeline import runner_flags
from pipeline.config import local_pipeline_config
from trainer.config import TrainerConfig

# TensorFlow and TFX load in the functions that use them, so that --help answers at once.


def predict(model_dir: str, rows) -> np.ndarray:
  import tensorflow as tf
  serve = tf.saved_model.load(model_dir).signatures[contract.SERVING_SIGNATURE]
  return contract.score(serve, common.serving_examples(rows))


def table_row(name: str, prediction: np.ndarray, label: np.ndarray, oracle_mae: float,
              seconds: str = "") -> str:
  mae = np.abs(prediction - label).mean()
  rmse = np.sqrt(((prediction - label) ** 2).mean())
  return f"| {name} | {mae:.4f} | {rmse:.4f} | {mae / oracle_mae:.3f} | {seconds} |"


def main():
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--scale", type=float, default=1.0)
  parser.add_argument("--work-dir", help="default: a new temp dir")
  runner_flags.add_set_flag(parser)
  common.add_page_flag(parser, "quality_benchmark")
  parser.add_argument("--no-svdpp", action="store_true",
                      help="leave out SVD++ (about 10 minutes at ml-1m scale)")
  args = parser.parse_args()
  from tfx import v1 as tfx
  from pipeline import definition
  from results import runs
  work = args.work_dir or tempfile.mkdtemp(prefix="quality_benchmark_")

  # Beam's, TFX's and TensorFlow's own log goes to a file; the results come here.
  with Console().quiet(os.path.join(work, "benchmark.log"), verbose_flag=None):
    start = time.monotonic()
    # Data and CSV are reused when current, so a rerun in the same --work-dir hits the TFX
    # cache up to the Trainer: comparing trainer settings costs only training.
    generator_config = generate.GeneratorConfig.scaled(args.scale)
    raw = common.generated_data(work, args.scale)
    csv_dir, _ = common.converted_csv(raw, work)
    prepared = time.monotonic()
    config = local_pipeline_config(work, csv_dir,
                                   trainer=TrainerConfig().with_overrides(args.set))
    tfx.orchestration.LocalDagRunner().run(definition.create_pipeline(config))
    trained = time.monotonic()

    components = runs.component_runs(runs.connect(config.metadata_path))
    outcome = runs.outcome(components)
    trainer, training = components[nodes.TRAINER], outcome.training
    train, evaluation = common.splits_with_oracle(raw, csv_dir)
    label = evaluation[c.RATING].to_numpy(dtype=float)
    oracle_mae = evaluation["best_expected_abs_error"].mean()
    bst = predict(outcome.model_dir, evaluation)
  fitted = baselines.all_baselines(train, evaluation, svdpp=not args.no_svdpp)

  rows = [table_row("BST (exported model)", bst, label, oracle_mae,
                    f"{trainer.seconds:.0f} s (Trainer)")]
  rows += [table_row(baseline.name, baseline.prediction, label, oracle_mae,
                     f"{baseline.fit_seconds:.0f} s") for baseline in fitted]
  rows += [table_row("oracle median, realized", evaluation["best_prediction"].to_numpy(),
                     label, oracle_mae),
           table_row("oracle mean, realized", evaluation["expected_rating"].to_numpy(),
                     label, oracle_mae),
           f"| oracle expected MAE (the floor) | {oracle_mae:.4f} | | 1.000 | |"]
  common.publish(args.page, "Benchmark: the BST beside the baselines, on eval", [
      f"Data: {generator_config.num_ratings:,} generated ratings (scale {args.scale:g}), "
      f"{len(train):,} train and {len(evaluation):,} eval rows; preparing took "
      f"{prepared - start:.0f} s, the pipeline {trained - prepared:.0f} s.",
      f"The BST was chosen on validation: MAE {training['validation_mae']:.4f}, kept epoch "
      f"{training['kept_epoch']} of {training['epochs_run']}. Eval is only reported.",
      "",
      "| eval split | MAE | RMSE | MAE / oracle | fit time |",
      "| --- | --- | --- | --- | --- |",
      *rows,
      "",
      "The oracle mean is the best an MSE-trained model can aim at; the oracle median "
      "is MAE's floor. The baselines are fitted on the train rows, as the BST is, with "
      "scikit-surprise's defaults.",
      f"Trainer config: `{config.trainer}`.",
  ])

if __name__ == "__main__":
  main()
