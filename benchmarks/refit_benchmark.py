"""Benchmark: should the pushed model be refit on train + validation?

    python local_runner.py --synthetic --scale 1 --seed 1 --output-dir /tmp/r1
    python -m benchmarks.refit_benchmark --metadata /tmp/r1/tfx/metadata.sqlite \\
        --csv-dir /tmp/r1/csv/synthetic-scale1-seed1

Refitting is a model choice, so it is measured on a run whose eval split no reported number
comes from (another draw of the generator: --seed 1); that eval split is this benchmark's
judge. From the run's Transform output and its Trainer's kept epoch N, the default model is
trained twice through the same code and input pipeline, N epochs each: on train alone, as
the pipeline trains it, and on train + validation, the refit (which has no split left to
stop on, hence N). Both are exported as the Trainer exports and score the run's eval rows
through the serving signature, beside the run's own Trainer model.
"""
from __future__ import annotations  # annotations name types loaded only when work starts

from benchmarks import common  # first: the process environment

import argparse
import os
import tempfile
import time
from typing import TYPE_CHECKING, Sequence

import numpy as np

from benchmarks.model_ablation import transformed_splits
from benchmarks.quality_benchmark import predict
from cli.console import Console
from movielens import constants as c
from pipeline import nodes
from trainer.config import TrainerConfig

# TensorFlow and TFX load in the functions that use them, so that --help answers at once.
if TYPE_CHECKING:  # for the annotations only
  import tensorflow_transform as tft

# Shuffles across all of a fit's rows: the validation split's file would otherwise come
# last in every epoch.
SHUFFLE_BUFFER = 1_200_000


def fit_and_export(splits: Sequence[str], epochs: int, examples_uri: str,
                   transform_output: tft.TFTransformOutput, model_dir: str) -> float:
  """Trains the default model on `splits` for `epochs` with the Trainer's model code
  (build_bst, model_features) but no early stopping, which trainer.task.train_model
  requires a validation split for, and model_ablation's input; exports it as the Trainer
  does, to `model_dir`. Returns the seconds it took."""
  import tf_keras as keras
  from trainer import model as bst
  from trainer import task
  config = TrainerConfig()
  keras.backend.clear_session()
  keras.utils.set_random_seed(config.seed)
  start = time.monotonic()
  files = [os.path.join(examples_uri, f"Split-{split}", "*") for split in splits]
  data = task.data_shape(transform_output, files)
  batches = transformed_splits(examples_uri, splits, transform_output, config.batch_size,
                               shuffle_seed=config.seed, shuffle_buffer=SHUFFLE_BUFFER)
  model = bst.build_bst(config, data)
  model.fit(batches.map(lambda x, y: (task.model_features(x), y)), epochs=epochs, verbose=2)
  task.export(model, transform_output, model_dir)
  return time.monotonic() - start


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--metadata", required=True, help="a finished pipeline run's MLMD file")
  parser.add_argument("--csv-dir", required=True, help="that run's CSV (its eval rows)")
  parser.add_argument("--work-dir", help="default: a new temp dir")
  common.add_page_flag(parser, "refit_benchmark")
  args = parser.parse_args()
  import tensorflow_transform as tft
  from tfx.types import standard_component_specs as keys
  from results import runs
  work = args.work_dir or tempfile.mkdtemp(prefix="refit_benchmark_")
  lines = []
  # Beam's, TFX's and TensorFlow's own log (and Keras's epochs) go to a file; results here.
  with Console().quiet(os.path.join(work, "benchmark.log"), verbose_flag=None):
    components = runs.component_runs(runs.connect(args.metadata))
    outcome = runs.outcome(components)
    transform = components[nodes.TRANSFORM]
    transform_output = tft.TFTransformOutput(transform.output(keys.TRANSFORM_GRAPH_KEY).uri)
    examples_uri = transform.output(keys.TRANSFORMED_EXAMPLES_KEY).uri
    epochs = int(outcome.training["kept_epoch"])
    evaluation = common.read_rows(args.csv_dir, c.EVAL_SPLIT)
    label = evaluation[c.RATING].to_numpy(dtype=float)

    def eval_mae(model_dir: str) -> float:
      return float(np.abs(predict(model_dir, evaluation) - label).mean())

    lines += ["| model | eval MAE | fit time |", "| --- | --- | --- |",
              f"| the run's Trainer model (train, early-stopped on validation, kept epoch "
              f"{epochs}) | {eval_mae(outcome.model_dir):.4f} | |"]
    for name, splits in (("train", [c.TRAIN_SPLIT]),
                         ("train + validation", [c.TRAIN_SPLIT, c.VALIDATION_SPLIT])):
      model_dir = os.path.join(work, name.replace(" + ", "_and_"))
      seconds = fit_and_export(splits, epochs, examples_uri, transform_output, model_dir)
      lines.append(f"| {name}, {epochs} epochs | {eval_mae(model_dir):.4f} | "
                   f"{seconds:.0f} s |")
  common.publish(args.page, "Benchmark: refit on train + validation, or not", lines)


if __name__ == "__main__":
  main()
