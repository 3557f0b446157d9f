"""Benchmark: the BST's eval MAE beside the baselines a user could pick instead, and the
generator's oracle.

    python -m benchmarks.quality_benchmark              # ml-1m scale (1,000,209 ratings)
    python -m benchmarks.quality_benchmark --scale 0.1  # quicker
    python -m benchmarks.quality_benchmark --no-svdpp   # without SVD++ (minutes at ml-1m)

Generates data, converts it, runs the TFX pipeline on LocalDagRunner, then scores every
eval row through the exported serving signature of the run's Trainer model (blessed or
not) and prints MAE / RMSE and fit time of the BST and of each baseline (benchmarks/
baselines.py: global mean, user + movie bias, scikit-surprise's SVD and SVD++, plain and
rounded, all fitted on the same train rows), and the oracle, all on the same eval rows.
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
import tensorflow as tf
from tfx import v1 as tfx

from benchmarks import baselines
from cli.console import Console
from movielens import constants as c
from movielens import contract
from movielens import generate
from pipeline import definition
from pipeline import nodes
from pipeline.config import local_pipeline_config
from results import runs
from trainer.config import TrainerConfig


def predict(model_dir: str, rows) -> np.ndarray:
  serve = tf.saved_model.load(model_dir).signatures[contract.SERVING_SIGNATURE]
  return contract.score(serve, common.serving_examples(rows))


def report(name: str, prediction: np.ndarray, label: np.ndarray, oracle_mae: float,
           seconds: str = "") -> None:
  mae = np.abs(prediction - label).mean()
  rmse = np.sqrt(((prediction - label) ** 2).mean())
  print(f"{name:<32}{mae:>8.4f}{rmse:>8.4f}{mae / oracle_mae:>11.3f}{seconds:>12}")


def main():
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--scale", type=float, default=1.0)
  parser.add_argument("--work-dir", help="default: a new temp dir")
  parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                      help="override a TrainerConfig field, e.g. --set optimizer=adam")
  parser.add_argument("--no-svdpp", action="store_true",
                      help="leave out SVD++ (about 10 minutes at ml-1m scale)")
  args = parser.parse_args()
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

  print(f"data: {generator_config.num_ratings:,} ratings (scale {args.scale}), "
        f"{len(train):,} train and {len(evaluation):,} eval rows; prepare "
        f"{prepared - start:.0f} s, pipeline {trained - prepared:.0f} s (Trainer "
        f"{trainer.seconds:.0f} s)")
  print(f"BST validation MAE {training['validation_mae']:.4f} (kept epoch "
        f"{training['kept_epoch']} of {training['epochs_run']}: the choice was made there)")
  print(f"{'eval split':<32}{'MAE':>8}{'RMSE':>8}{'MAE/oracle':>11}{'fit time':>12}")
  report("BST (exported model)", bst, label, oracle_mae, f"{trainer.seconds:.0f} s")
  for baseline in fitted:
    report(baseline.name, baseline.prediction, label, oracle_mae,
           f"{baseline.fit_seconds:.0f} s")
  report("oracle median (realized)", evaluation["best_prediction"].to_numpy(), label,
         oracle_mae)
  report("oracle mean (realized)", evaluation["expected_rating"].to_numpy(), label, oracle_mae)
  print(f"{'oracle expected MAE (floor)':<32}{oracle_mae:>8.4f}")
  print("(the oracle mean is the best an MSE-trained model can aim at; the median is the "
        "MAE floor; baselines are fitted on the train rows, as the BST is)")
  print(f"trainer config: {config.trainer}")


if __name__ == "__main__":
  main()
