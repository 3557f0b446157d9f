"""Benchmark: BST eval MAE next to the generator's oracle and a user+movie bias baseline.

    python benchmarks/quality_benchmark.py              # ml-1m scale (1,000,209 ratings)
    python benchmarks/quality_benchmark.py --scale 0.1  # quicker

Generates data, converts it, runs the TFX pipeline on LocalDagRunner, then scores every
eval row through the exported serving signature of the run's Trainer model (blessed or
not) and prints MAE / RMSE of the BST, the bias baseline (fitted on the train rows) and
the oracle, all on the same rows. For the whole suite, see pipeline_benchmark.py.
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

from movielens import constants as c  # noqa: E402
from movielens import convert  # noqa: E402
from movielens import generate  # noqa: E402
from pipeline import pipeline  # noqa: E402
from pipeline.config import PipelineConfig  # noqa: E402
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


def bias_baseline(train: pd.DataFrame, evaluation: pd.DataFrame, iterations: int = 10,
                  user_reg: float = 5.0, movie_reg: float = 10.0) -> np.ndarray:
  """mu + b_user + b_movie, regularized and fitted by alternating least squares."""
  mu = train[c.RATING].mean()
  users, movies = train[c.USER_ID], train[c.TARGET_MOVIE_ID]
  b_movie = pd.Series(0.0, index=movies.unique())
  for _ in range(iterations):
    residual = train[c.RATING] - mu - movies.map(b_movie)
    b_user = residual.groupby(users).sum() / (users.value_counts() + user_reg)
    residual = train[c.RATING] - mu - users.map(b_user)
    b_movie = residual.groupby(movies).sum() / (movies.value_counts() + movie_reg)
  prediction = (mu + evaluation[c.USER_ID].map(b_user).fillna(0)
                + evaluation[c.TARGET_MOVIE_ID].map(b_movie).fillna(0))
  return prediction.clip(c.MIN_RATING, c.MAX_RATING).to_numpy()


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


def report(name: str, prediction: np.ndarray, label: np.ndarray, oracle_mae: float) -> None:
  mae = np.abs(prediction - label).mean()
  rmse = np.sqrt(((prediction - label) ** 2).mean())
  print(f"{name:<28}{mae:>8.4f}{rmse:>8.4f}{mae / oracle_mae:>10.3f}")


def trainer_config(overrides) -> TrainerConfig:
  """TrainerConfig with KEY=VALUE overrides, each parsed as its field's type."""
  values = TrainerConfig().to_custom_config()
  for override in overrides:
    key, value = override.split("=", 1)
    current = values[key]
    values[key] = ([int(v) for v in value.split(",")] if isinstance(current, list)
                   else type(current)(value))
  return TrainerConfig.from_custom_config(values)


def main():
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--scale", type=float, default=1.0)
  parser.add_argument("--work-dir", help="default: a new temp dir")
  parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                      help="override a TrainerConfig field, e.g. --set optimizer=adam")
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
      trainer=trainer_config(args.set),
      beam_pipeline_args=BEAM_ARGS)
  tfx.orchestration.LocalDagRunner().run(pipeline.create_pipeline(config))
  trained = time.monotonic()

  # TFX names each run's output folder by its execution id: the largest is this run's.
  model_dir = max(glob.glob(os.path.join(work, "tfx", "Trainer", "model", "*", "Format-Serving")),
                  key=lambda path: int(path.split(os.sep)[-2]))
  train, evaluation = splits_with_oracle(raw, csv_dir)
  label = evaluation[c.RATING].to_numpy(dtype=float)
  oracle_mae = evaluation["best_expected_abs_error"].mean()
  bst = predict(model_dir, evaluation)

  print(f"data: {len(train) + len(evaluation):,} ratings (scale {args.scale}), "
        f"{len(evaluation):,} eval rows; prepare {prepared - start:.0f} s, "
        f"pipeline through Trainer {trained - prepared:.0f} s")
  print(f"{'eval split':<28}{'MAE':>8}{'RMSE':>8}{'MAE/oracle':>10}")
  report("BST (exported model)", bst, label, oracle_mae)
  report("user+movie bias baseline", bias_baseline(train, evaluation), label, oracle_mae)
  report("oracle median (realized)", evaluation["best_prediction"].to_numpy(), label,
         oracle_mae)
  report("oracle mean (realized)", evaluation["expected_rating"].to_numpy(), label, oracle_mae)
  print(f"{'oracle expected MAE (floor)':<28}{oracle_mae:>8.4f}")
  print("(the oracle mean is the best an MSE-trained model can aim at; the median is the "
        "MAE floor)")
  print(f"trainer config: {config.trainer}")


if __name__ == "__main__":
  main()
