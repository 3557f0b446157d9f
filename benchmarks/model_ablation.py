"""Benchmark: TrainerConfig variants trained on one run's transformed examples, judged on
validation only.

    python -m benchmarks.model_ablation --metadata outputs/tfx/metadata.sqlite \\
        --variant "" --variant "dropout=0.3" --variant "dropout=0.3,factorization_l2=0.1"

Every model choice is made here, on the validation split: each variant (comma-separated
KEY=VALUE overrides of the default TrainerConfig; "" is the default itself) is trained
through the Trainer's own code (trainer.task.train_model) on the train split of the
latest Transform in that metadata store, early-stopped on its validation split, and
printed with its validation MAE per epoch, the kept epoch, the next-movie head's
validation loss (in-batch sampled softmax: the lower, the better it picks each row's
movie out of the batch's) and the time it took. The eval
split is never read: it belongs to the gate and the final numbers (quality_benchmark.py).
"""
from __future__ import annotations  # annotations name types loaded only when work starts

from benchmarks import common  # first: the process environment

import argparse
import os
import time
from typing import TYPE_CHECKING, Sequence

import numpy as np

from movielens import constants as c
from pipeline import nodes
from trainer.config import TrainerConfig
from transform import features as f

# TensorFlow and TFX load in the functions that use them, so that --help answers at once.
if TYPE_CHECKING:  # for the annotations only
  import tensorflow as tf
  import tensorflow_transform as tft


def transformed_splits(examples_uri: str, splits: Sequence[str],
                       transform_output: tft.TFTransformOutput, batch_size: int,
                       shuffle_seed=None, shuffle_buffer: int = 100_000) -> tf.data.Dataset:
  """(features, label) batches of the Transform's output for `splits` (together)."""
  import tensorflow as tf
  files = [path for split in splits
           for path in tf.io.gfile.glob(os.path.join(examples_uri, f"Split-{split}", "*"))]
  records = tf.data.TFRecordDataset(sorted(files), compression_type="GZIP")
  if shuffle_seed is not None:
    records = records.shuffle(shuffle_buffer, seed=shuffle_seed, reshuffle_each_iteration=True)
  spec = transform_output.transformed_feature_spec()

  def parse(serialized):
    features = tf.io.parse_example(serialized, spec)
    return features, features.pop(f.LABEL)
  return records.batch(batch_size).map(parse, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)


def readout_maes(model, validation: tf.data.Dataset, temperatures) -> dict:
  """Validation MAE of the predicted median at each smoothing temperature: the readout
  does not change training, so it is chosen after it, on validation."""
  import tf_keras as keras
  from trainer import model as bst
  from trainer import task
  readout = model.get_layer("predicted_rating")
  score_and_thresholds = keras.Model(model.inputs, readout.input)
  errors = {t: [] for t in temperatures}
  for features, label in validation:
    score, thresholds = score_and_thresholds(task.model_features(features), training=False)
    for t in temperatures:
      errors[t].append(np.abs(bst.soft_median(score, thresholds, t).numpy() - label.numpy()))
  return {t: float(np.concatenate(e).mean()) for t, e in errors.items()}


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--metadata", required=True, help="a pipeline run's MLMD file")
  parser.add_argument("--variant", action="append", default=[], metavar="K=V,K=V",
                      help="TrainerConfig overrides; repeat for more variants")
  parser.add_argument("--temperatures", default="",
                      help="comma-separated median_temperature values to score each trained "
                      "variant's readout with, on validation")
  common.add_page_flag(parser, "model_ablation")
  args = parser.parse_args()
  import tensorflow_transform as tft
  import tf_keras as keras
  from tfx.types import standard_component_specs as keys
  from results import runs
  from trainer import task
  transform = runs.component_runs(runs.connect(args.metadata))[nodes.TRANSFORM]
  transform_output = tft.TFTransformOutput(transform.output(keys.TRANSFORM_GRAPH_KEY).uri)
  examples_uri = transform.output(keys.TRANSFORMED_EXAMPLES_KEY).uri
  data = task.data_shape(transform_output, [os.path.join(
      examples_uri, f"Split-{c.TRAIN_SPLIT}", "*")])

  results = []
  for variant in args.variant or [""]:
    config = TrainerConfig().with_overrides([o for o in variant.split(",") if o])
    keras.backend.clear_session()
    keras.utils.set_random_seed(config.seed)
    train = transformed_splits(examples_uri, [c.TRAIN_SPLIT], transform_output,
                               config.batch_size, shuffle_seed=config.seed)
    validation = transformed_splits(examples_uri, [c.VALIDATION_SPLIT], transform_output,
                                    config.batch_size)
    start = time.monotonic()
    model, summary = task.train_model(config, data, train, validation)
    seconds = time.monotonic() - start
    if args.temperatures:
      maes = readout_maes(model, validation, [float(t) for t in args.temperatures.split(",")])
      print(f"RESULT {variant or 'default'} readout: " + ", ".join(
          f"temperature {t:g}: {mae:.4f}" for t, mae in maes.items()), flush=True)
    per_epoch = " ".join(f"{v:.4f}" for v in summary["per_epoch"]["val_mae"])
    next_movie = summary["per_epoch"]["val_next_movie_loss"]
    results.append((variant or "default", summary, next_movie[summary["kept_epoch"] - 1],
                    seconds))
    print(f"RESULT {variant or 'default'}: validation MAE {summary['validation_mae']:.4f} "
          f"RMSE {summary['validation_rmse']:.4f}, kept epoch {summary['kept_epoch']} of "
          f"{summary['epochs_run']} ({per_epoch}); validation next-movie loss "
          f"{' '.join(f'{v:.4f}' for v in next_movie)}; {seconds:.0f} s", flush=True)

  common.publish(args.page, "Benchmark: model variants, on validation", [
      "Each variant trained through the Trainer's own code on one run's transformed train "
      "split, early-stopped on its validation split; eval is never read.",
      "",
      "| variant | validation MAE | validation RMSE | validation next-movie loss | "
      "kept epoch | seconds |",
      "| --- | --- | --- | --- | --- | --- |",
      *(f"| {name} | {summary['validation_mae']:.4f} | {summary['validation_rmse']:.4f} | "
        f"{next_movie_loss:.4f} | {summary['kept_epoch']} of {summary['epochs_run']} | "
        f"{seconds:.0f} |" for name, summary, next_movie_loss, seconds in results),
  ])

if __name__ == "__main__":
  main()
