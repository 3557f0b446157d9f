"""training_summary.json: which epoch's weights the Trainer kept, and its validation metrics.

Written beside the TensorBoard logs (the Trainer's model_run) by trainer.task.run_fn; read
by the runner's summary, the report and the benchmarks (results.runs), which need no
TensorFlow Transform or TFX to read it.
"""
import json
import os
from typing import Dict

import tensorflow as tf

TRAINING_SUMMARY_FILE = "training_summary.json"


def from_history(history, early_stopping) -> Dict[str, object]:
  """The kept epoch (1-based) and its validation metrics, beside every epoch's, from
  Keras's History and the EarlyStopping callback that restored the best weights."""
  kept = early_stopping.best_epoch
  per_epoch = {name: [float(v) for v in values] for name, values in history.history.items()}
  return {"epochs_run": len(history.epoch), "kept_epoch": kept + 1,
          "validation_mae": per_epoch["val_mae"][kept],
          "validation_rmse": per_epoch["val_rmse"][kept], "per_epoch": per_epoch}


def write(summary: Dict[str, object], model_run_dir: str) -> None:
  with tf.io.gfile.GFile(os.path.join(model_run_dir, TRAINING_SUMMARY_FILE), "w") as out:
    json.dump(summary, out, indent=2)


def read(model_run_dir: str) -> Dict[str, object]:
  with tf.io.gfile.GFile(os.path.join(model_run_dir, TRAINING_SUMMARY_FILE)) as summary:
    return json.load(summary)
