"""The Trainer's exported SavedModel, from a real pipeline run (ExampleGen .. Trainer)."""
import glob
import os

import numpy as np
import pytest
import tensorflow as tf
from tfx import v1 as tfx

from movielens import constants as c
from movielens import convert
from movielens import generate
from pipeline import pipeline
from pipeline.config import PipelineConfig
from trainer import task
from trainer.config import TrainerConfig
from transform import preprocessing

NUM_EXAMPLES = 200


@pytest.fixture(scope="module")
def run(tmp_path_factory):
  """Generated data -> CSV -> the TFX pipeline through the Trainer, on LocalDagRunner."""
  root = str(tmp_path_factory.mktemp("pipeline"))
  raw = generate.generate_movielens(os.path.join(root, "raw"),
                                    generate.GeneratorConfig.scaled(0.01, seed=11))
  csv_dir = os.path.join(root, "csv")
  convert.run_conversion(convert.ConversionConfig(raw, csv_dir))
  config = PipelineConfig(csv_dir=csv_dir, pipeline_root=os.path.join(root, "tfx"),
                          metadata_path=os.path.join(root, "tfx", "metadata.sqlite"),
                          trainer=TrainerConfig(epochs=2), train_steps=40)
  tfx.orchestration.LocalDagRunner().run(pipeline.create_pipeline(config))
  model_dir, = glob.glob(os.path.join(root, "tfx", "Trainer", "model", "*", "Format-Serving"))
  eval_files = glob.glob(os.path.join(root, "tfx", "CsvExampleGen", "examples", "*",
                                      "Split-eval", "*"))
  raw_examples = [r.numpy() for r in tf.data.TFRecordDataset(
      eval_files, compression_type="GZIP").take(NUM_EXAMPLES)]
  return {"root": root, "model": tf.saved_model.load(model_dir), "raw": raw_examples}


def _ints(text: bytes):
  return [int(t) for t in text.split()]


def serving_example(raw_example: bytes, **overrides) -> bytes:
  """The public serving contract's tf.Example for a raw (CSV-derived) example."""
  features = tf.train.Example.FromString(raw_example).features.feature
  scalar = lambda name: features[name].int64_list.value[0]
  text = lambda name: features[name].bytes_list.value[0] if features[name].bytes_list.value \
      else b""
  values = {
      c.USER_ID: [scalar(c.USER_ID)], c.SEX: [text(c.SEX)], c.AGE_GROUP: [scalar(c.AGE_GROUP)],
      c.OCCUPATION: [scalar(c.OCCUPATION)], c.TARGET_MOVIE_ID: [scalar(c.TARGET_MOVIE_ID)],
      c.TARGET_TIMESTAMP: [scalar(c.TARGET_TIMESTAMP)],
      c.HISTORY_MOVIE_IDS: _ints(text(c.HISTORY_MOVIE_IDS)),
      c.HISTORY_RATINGS: [float(r) for r in _ints(text(c.HISTORY_RATINGS))],
      c.HISTORY_TIMESTAMPS: _ints(text(c.HISTORY_TIMESTAMPS)),
  }
  values.update(overrides)
  return preprocessing.serving_example(values)


def serve(model, examples):
  return model.signatures["serving_default"](examples=tf.constant(examples))[
      task.PREDICTION_KEY].numpy()


def test_exports_both_signatures(run):
  assert set(run["model"].signatures) == {task.SERVING_SIGNATURE, task.TRANSFORM_SIGNATURE}


def test_serving_signature_scores_raw_examples(run):
  predictions = serve(run["model"], [serving_example(r) for r in run["raw"]])
  assert predictions.shape == (NUM_EXAMPLES,)
  assert np.isfinite(predictions).all()
  assert (predictions >= 1).all() and (predictions <= 5).all()
  assert predictions.std() > 0  # not one constant answer


def test_serving_and_transform_paths_agree(run):
  model = run["model"]
  transformed = model.signatures[task.TRANSFORM_SIGNATURE](examples=tf.constant(run["raw"]))
  assert c.RATING in transformed  # TFMA reads the label from here
  via_transform = model(task.model_features(transformed)).numpy()
  via_serving = serve(model, [serving_example(r) for r in run["raw"]])
  np.testing.assert_allclose(via_serving, via_transform, rtol=1e-6, atol=1e-6)


def test_unseen_user_and_movie_serve(run):
  unseen = serving_example(run["raw"][0], **{c.USER_ID: [10 ** 9],
                                             c.TARGET_MOVIE_ID: [10 ** 9],
                                             c.HISTORY_MOVIE_IDS: [10 ** 9 + 1]})
  empty = serving_example(run["raw"][0], **{c.HISTORY_MOVIE_IDS: [], c.HISTORY_RATINGS: [],
                                            c.HISTORY_TIMESTAMPS: []})
  assert serving_example(run["raw"][0]) != empty
  predictions = serve(run["model"], [unseen, empty])
  assert np.isfinite(predictions).all() and ((1 <= predictions) & (predictions <= 5)).all()


def test_history_longer_than_the_window_serves(run):
  long_history = serving_example(run["raw"][0], **{
      c.HISTORY_MOVIE_IDS: list(range(1, 41)), c.HISTORY_RATINGS: [3.0] * 40,
      c.HISTORY_TIMESTAMPS: list(range(959_000_000, 959_000_040))})
  assert np.isfinite(serve(run["model"], [long_history])).all()


def test_tensorboard_logs_are_written(run):
  logs = glob.glob(os.path.join(run["root"], "tfx", "Trainer", "model_run", "*", "**",
                                "events.out.tfevents.*"), recursive=True)
  assert logs
