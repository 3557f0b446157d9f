"""Benchmark: the BST's eval MAE beside the baselines a user could pick instead, and the
generator's oracle.

    python benchmarks/quality_benchmark.py              # ml-1m scale (1,000,209 ratings)
    python benchmarks/quality_benchmark.py --scale 0.1  # quicker
    python benchmarks/quality_benchmark.py --no-svdpp   # without SVD++ (minutes at ml-1m)

Generates data, converts it, runs the TFX pipeline on LocalDagRunner, then scores every
eval row through the exported serving signature of the run's Trainer model (blessed or
not) and prints MAE / RMSE and fit time of the BST and of each baseline (benchmarks/
baselines.py: global mean, user + movie bias, scikit-surprise's SVD and SVD++, plain and
rounded, all fitted on the same train rows), and the oracle, all on the same eval rows.
The model was chosen on validation (its MAE there is printed too); eval is only reported.
Model choices themselves are compared with model_ablation.py, on validation.
"""
import argparse
import glob
import os
import sys
import tempfile
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import tensorflow as tf  # noqa: E402
from tfx import v1 as tfx  # noqa: E402
from tfx.utils import path_utils  # noqa: E402

from movielens import constants as c  # noqa: E402
from movielens import convert  # noqa: E402
from movielens import generate  # noqa: E402
from pipeline import pipeline  # noqa: E402
from pipeline.config import PipelineConfig  # noqa: E402
from benchmarks import baselines  # noqa: E402
from pipeline import runs  # noqa: E402
from trainer import task  # noqa: E402
from trainer.config import TrainerConfig  # noqa: E402
from transform import preprocessing  # noqa: E402

BEAM_ARGS = ["--direct_running_mode=multi_processing", "--direct_num_workers=0"]


def read_rows(csv_dir: str, split: str) -> pd.DataFrame:
  files = sorted(glob.glob(os.path.join(csv_dir, split, "*.csv")))
  return pd.concat([pd.read_csv(p, dtype={c.HISTORY_MOVIE_IDS: str, c.HISTORY_RATINGS: str,
                                          c.HISTORY_TIMESTAMPS: str, c.SEX: str},
                                keep_default_na=False) for p in files], ignore_index=True)


def splits_with_oracle(raw_dir: str, csv_dir: str):
  """The train rows, and the eval rows joined with the generator's oracle columns."""
  train, evaluation = read_rows(csv_dir, c.TRAIN_SPLIT), read_rows(csv_dir, c.EVAL_SPLIT)
  oracle = pd.read_csv(os.path.join(raw_dir, c.ORACLE_FILE)).rename(
      columns={"movie_id": c.TARGET_MOVIE_ID})
  return train, evaluation.merge(oracle, on=[c.USER_ID, c.TARGET_MOVIE_ID], how="left",
                                 validate="one_to_one")


def serving_examples(rows: pd.DataFrame):
  """The serving contract's tf.Examples for CSV rows (histories split into lists)."""
  for row in rows.itertuples(index=False):
    r = row._asdict()
    values = {name: int(r[name]) for name in (
        c.USER_ID, c.AGE_GROUP, c.OCCUPATION, c.TARGET_MOVIE_ID, c.TARGET_TIMESTAMP)}
    values[c.SEX] = r[c.SEX]
    values[c.HISTORY_MOVIE_IDS] = [int(v) for v in r[c.HISTORY_MOVIE_IDS].split()]
    values[c.HISTORY_TIMESTAMPS] = [int(v) for v in r[c.HISTORY_TIMESTAMPS].split()]
    values[c.HISTORY_RATINGS] = [float(v) for v in r[c.HISTORY_RATINGS].split()]
    yield preprocessing.serving_example(values)


def predict(model_dir: str, rows: pd.DataFrame, batch_size: int = 4096) -> np.ndarray:
  serve = tf.saved_model.load(model_dir).signatures[task.SERVING_SIGNATURE]
  examples = list(serving_examples(rows))
  return np.concatenate([
      serve(examples=tf.constant(examples[i:i + batch_size]))[task.PREDICTION_KEY].numpy()
      for i in range(0, len(examples), batch_size)])


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

  start = time.monotonic()
  # Data and CSV are reused when current, so a rerun in the same --work-dir hits the TFX
  # cache up to the Trainer: comparing trainer settings costs only training.
  raw = os.path.join(work, "raw")
  generator_config = generate.GeneratorConfig.scaled(args.scale)
  if generate.read_config(raw) != generator_config:
    generate.generate_movielens(raw, generator_config)
  csv_dir = os.path.join(work, "csv")
  conversion = convert.ConversionConfig(raw, csv_dir)
  if not convert.is_current(conversion):
    convert.run_conversion(conversion, BEAM_ARGS)
  prepared = time.monotonic()
  config = PipelineConfig(
      csv_dir=csv_dir, pipeline_root=os.path.join(work, "tfx"),
      metadata_path=os.path.join(work, "tfx", "metadata.sqlite"),
      serving_model_dir=os.path.join(work, "serving"),
      trainer=TrainerConfig().with_overrides(args.set),
      beam_pipeline_args=BEAM_ARGS)
  tfx.orchestration.LocalDagRunner().run(pipeline.create_pipeline(config))
  trained = time.monotonic()

  components = runs.component_runs(runs.connect(config.metadata_path))
  trainer = components["Trainer"]
  model_dir = path_utils.serving_model_path(trainer.output("model").uri)
  training = task.read_training_summary(trainer.output("model_run").uri)
  train, evaluation = splits_with_oracle(raw, csv_dir)
  label = evaluation[c.RATING].to_numpy(dtype=float)
  oracle_mae = evaluation["best_expected_abs_error"].mean()
  bst = predict(model_dir, evaluation)

  print(f"data: {generator_config.num_ratings:,} ratings (scale {args.scale}), "
        f"{len(train):,} train and {len(evaluation):,} eval rows; prepare "
        f"{prepared - start:.0f} s, pipeline {trained - prepared:.0f} s (Trainer "
        f"{trainer.seconds:.0f} s)")
  print(f"BST validation MAE {training['validation_mae']:.4f} (kept epoch "
        f"{training['kept_epoch']} of {training['epochs_run']}: the choice was made there)")
  print(f"{'eval split':<32}{'MAE':>8}{'RMSE':>8}{'MAE/oracle':>11}{'fit time':>12}")
  report("BST (exported model)", bst, label, oracle_mae, f"{trainer.seconds:.0f} s")
  for baseline in baselines.all_baselines(train, evaluation, svdpp=not args.no_svdpp):
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
