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
# TensorBoard's view of the model choice, beside Keras's train/ and validation/ logs: MAE
# per epoch on both splits and the kept epoch, numbered from 1 as the runner's heartbeat
# and summary number them (Keras's own epoch_* curves count from 0), and a custom-scalars
# layout that puts them on one chart.
CHOICE_DIR = "model_choice"
CHOICE_TAGS = {"mae": "MAE/train", "val_mae": "MAE/validation"}
KEPT_TAG = "MAE/kept epoch"


def from_history(history, early_stopping) -> Dict[str, object]:
  """The kept epoch (1-based) and its validation metrics, beside every epoch's, from
  Keras's History and the EarlyStopping callback that restored the best weights."""
  kept = early_stopping.best_epoch
  per_epoch = {name: [float(v) for v in values] for name, values in history.history.items()}
  return {"epochs_run": len(history.epoch), "kept_epoch": kept + 1,
          "validation_mae": per_epoch["val_mae"][kept],
          "validation_rmse": per_epoch["val_rmse"][kept], "per_epoch": per_epoch}


# What a kept last epoch means, as the runner's summary and the replay table say it.
LAST_EPOCH_MEANING = "the epoch limit ended training, not validation"


def kept_the_last_epoch(summary: Dict[str, object]) -> bool:
  """Whether the kept epoch is the last one run: the epoch limit ended training while
  validation still improved, so more epochs might have helped."""
  return summary["kept_epoch"] == summary["epochs_run"]


def write(summary: Dict[str, object], model_run_dir: str) -> None:
  with tf.io.gfile.GFile(os.path.join(model_run_dir, TRAINING_SUMMARY_FILE), "w") as out:
    json.dump(summary, out, indent=2)


def read(model_run_dir: str) -> Dict[str, object]:
  with tf.io.gfile.GFile(os.path.join(model_run_dir, TRAINING_SUMMARY_FILE)) as summary:
    return json.load(summary)


def write_choice_for_tensorboard(summary: Dict[str, object], model_run_dir: str) -> None:
  """CHOICE_DIR's scalars and custom-scalars layout: train and validation MAE by epoch,
  and the kept epoch as one point on the validation curve."""
  from tensorboard.plugins.custom_scalar import layout_pb2  # pylint: disable=g-import-not-at-top
  from tensorboard.plugins.custom_scalar import summary as custom_scalar  # pylint: disable=g-import-not-at-top
  layout = layout_pb2.Layout(category=[layout_pb2.Category(
      title="model choice", chart=[layout_pb2.Chart(
          title="MAE by epoch: train, validation and the kept epoch",
          multiline=layout_pb2.MultilineChartContent(tag=[r"^MAE/"]))])])
  writer = tf.summary.create_file_writer(os.path.join(model_run_dir, CHOICE_DIR))
  with writer.as_default():
    tf.summary.experimental.write_raw_pb(custom_scalar.pb(layout).SerializeToString(), step=0)
    for name, tag in CHOICE_TAGS.items():
      for epoch, value in enumerate(summary["per_epoch"][name], start=1):
        tf.summary.scalar(tag, value, step=epoch)
    tf.summary.scalar(KEPT_TAG, summary["validation_mae"], step=summary["kept_epoch"])
  writer.close()
