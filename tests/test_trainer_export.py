"""The Trainer's exported SavedModel, from a real pipeline run (tests/conftest.py)."""
import glob
import json
import os
import re

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


def test_exports_the_four_signatures(run):
  assert set(run["model"].signatures) == {contract.SERVING_SIGNATURE, contract.EVAL_SIGNATURE,
                                          contract.TRANSFORM_SIGNATURE,
                                          contract.REGRESS_SIGNATURE}
  for name in (contract.SERVING_SIGNATURE, contract.EVAL_SIGNATURE):
    assert set(run["model"].signatures[name].structured_outputs) == {
        contract.PREDICTION_KEY, contract.NEXT_MOVIE_KEY}
  assert set(run["model"].signatures[contract.REGRESS_SIGNATURE].structured_outputs) == {
      contract.REGRESS_OUTPUT}


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
  via_transform = model(task.model_features(transformed))[contract.PREDICTION_KEY].numpy()
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


def tf_serving_example(features: dict) -> bytes:
  """One JSON example as TF Serving's REST API turns it into a tf.Example
  (tensorflow_serving/util/json_tensor.cc, MakeExampleFromJsonObject): a string is bytes,
  a number written with a decimal point or exponent a float, any other number an int64,
  a list each of its elements so."""
  feature = {}
  for name, value in features.items():
    values = value if isinstance(value, list) else [value]
    if all(isinstance(v, str) for v in values):
      feature[name] = tf.train.Feature(bytes_list=tf.train.BytesList(
          value=[v.encode() for v in values]))
    elif all(isinstance(v, float) for v in values):
      feature[name] = tf.train.Feature(float_list=tf.train.FloatList(value=values))
    elif all(isinstance(v, int) for v in values):
      feature[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=values))
    else:
      raise ValueError(f"Unexpected element type in feature: {name}")
  return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def regress_request_examples(body: dict) -> list:
  """A `:regress` body's examples, each merged with the body's context (the example's own
  features win), as TF Serving hands them to the signature."""
  return [tf_serving_example({**body.get("context", {}), **example})
          for example in body["examples"]]


SERVING_DOC = os.path.join(os.path.dirname(os.path.dirname(__file__)), "docs", "serving.md")


def documented_regress_body() -> dict:
  """The `:regress` request body the serving docs show."""
  text = open(SERVING_DOC).read()
  blocks = re.findall(r"```json\n(.*?)```", text, re.S)
  bodies = [json.loads(block) for block in blocks
            if f'"signature_name": "{contract.REGRESS_SIGNATURE}"' in block]
  assert len(bodies) == 1, "docs/serving.md shows one :regress request body"
  return bodies[0]


def test_regress_signature_answers_the_documented_rest_request_as_tf_serving_would(run):
  """Through the SignatureDef, as TF Serving's C++ server runs it: the TF1 session loader,
  the method name its Regress API requires, one string input, one float output."""
  body = documented_regress_body()
  assert body["signature_name"] == contract.REGRESS_SIGNATURE
  examples = regress_request_examples(body)
  with tf.compat.v1.Graph().as_default(), tf.compat.v1.Session() as session:
    meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], run["model_dir"])
    signature = meta_graph.signature_def[contract.REGRESS_SIGNATURE]
    assert signature.method_name == contract.REGRESS_METHOD
    assert list(signature.inputs) == [contract.REGRESS_INPUT]
    assert signature.inputs[contract.REGRESS_INPUT].dtype == tf.string.as_datatype_enum
    assert list(signature.outputs) == [contract.REGRESS_OUTPUT]
    assert signature.outputs[contract.REGRESS_OUTPUT].dtype == tf.float32.as_datatype_enum
    regressions = session.run(signature.outputs[contract.REGRESS_OUTPUT].name,
                              {signature.inputs[contract.REGRESS_INPUT].name: examples})
  assert regressions.shape == (len(body["examples"]),)
  # The same answers as serving_default gives the same requests as contract examples.
  requests = [contract.request_from_row({**body["context"], **example}, "docs/serving.md", i)
              for i, example in enumerate(body["examples"], 1)]
  np.testing.assert_allclose(
      regressions, serve(run["model"], [contract.encode(r) for r in requests]), rtol=1e-6,
      atol=PATHS_TOLERANCE)


def test_regress_refuses_ratings_written_as_json_integers(run):
  """TF Serving makes `4` an int64 feature; history_ratings is float (docs/serving.md says
  to write 4.0)."""
  body = documented_regress_body()
  context = {**body["context"],
             c.HISTORY_RATINGS: [int(r) for r in body["context"][c.HISTORY_RATINGS]]}
  examples = regress_request_examples({**body, "context": context})
  with pytest.raises(tf.errors.InvalidArgumentError, match=c.HISTORY_RATINGS):
    run["model"].signatures[contract.REGRESS_SIGNATURE](inputs=tf.constant(examples))
