"""The Trainer's exported SavedModel, from a real pipeline run (tests/conftest.py)."""
import glob
import os

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tfx.types import standard_component_specs as keys
from tfx.utils import path_utils

from movielens import constants as c
from movielens import contract
from pipeline import nodes
from tests.conftest import eval_examples, serving_values
from trainer import task
from trainer.config import TrainerConfig

NUM_EXAMPLES = 200


@pytest.fixture(scope="module")
def run(pipeline_runs):
  """The Trainer's model from the shared pipeline run (tests/conftest.py), and raw examples."""
  components = pipeline_runs["good"]["components"]
  model_dir = path_utils.serving_model_path(
      components[nodes.TRAINER].output(keys.MODEL_KEY).uri)
  return {"model": tf.saved_model.load(model_dir), "model_dir": model_dir,
          "raw": eval_examples(components, limit=NUM_EXAMPLES),
          "model_run": components[nodes.TRAINER].output(keys.MODEL_RUN_KEY).uri}


def serving_example(raw_example: bytes, **overrides) -> bytes:
  return contract.encode({**serving_values(raw_example), **overrides})


def serve(model, examples):
  return model.signatures[contract.SERVING_SIGNATURE](examples=tf.constant(examples))[
      contract.PREDICTION_KEY].numpy()


def test_exports_the_three_signatures(run):
  assert set(run["model"].signatures) == {contract.SERVING_SIGNATURE, contract.EVAL_SIGNATURE,
                                          contract.TRANSFORM_SIGNATURE}


def test_serving_signature_scores_raw_examples(run):
  predictions = serve(run["model"], [serving_example(r) for r in run["raw"]])
  assert predictions.shape == (NUM_EXAMPLES,)
  assert np.isfinite(predictions).all()
  assert (predictions >= 1).all() and (predictions <= 5).all()
  assert predictions.std() > 0  # not one constant answer


# Two graphs compute the same score with float32 rounding in another order (~1e-6); the
# predicted median's steepest slope, 1 / (4 * median_temperature) stars per unit of score,
# passes that on to the prediction.
PATHS_TOLERANCE = 1e-6 * max(1.0, 1.0 / (4 * TrainerConfig().median_temperature))


def test_serving_and_transform_paths_agree(run):
  model = run["model"]
  transformed = model.signatures[contract.TRANSFORM_SIGNATURE](examples=tf.constant(run["raw"]))
  assert c.RATING in transformed  # TFMA reads the label from here
  via_transform = model(task.model_features(transformed)).numpy()
  via_serving = serve(model, [serving_example(r) for r in run["raw"]])
  np.testing.assert_allclose(via_serving, via_transform, rtol=1e-6, atol=PATHS_TOLERANCE)
  via_eval = model.signatures[contract.EVAL_SIGNATURE](examples=tf.constant(run["raw"]))[
      contract.PREDICTION_KEY].numpy()
  np.testing.assert_allclose(via_eval, via_transform, rtol=1e-6, atol=PATHS_TOLERANCE)


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


def training_state(saved_model_dir: str):
  """The root object's children and the count of optimizer slot variables, as saved."""
  saved = saved_model_pb2.SavedModel()
  with open(os.path.join(saved_model_dir, "saved_model.pb"), "rb") as f:
    saved.ParseFromString(f.read())
  graph = saved.meta_graphs[0].object_graph_def
  return ({child.local_name for child in graph.nodes[0].children},
          sum(len(node.slot_variables) for node in graph.nodes))


def test_export_carries_no_optimizer_state(run):
  children, slot_variables = training_state(run["model_dir"])
  assert "optimizer" not in children and slot_variables == 0
  assert "signatures" in children


def test_tensorboard_logs_are_written(run):
  logs = glob.glob(os.path.join(run["model_run"], "**", "events.out.tfevents.*"),
                   recursive=True)
  assert logs
