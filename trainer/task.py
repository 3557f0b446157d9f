"""TFX Trainer entry point: `run_fn` trains the BST on transformed examples and exports it.

The exported SavedModel has four signatures (names and keys: movielens.contract):
  serving_default     serialized tf.Examples in the public serving contract (docs/serving.md) ->
                      {"predicted_rating": float in [1, 5], "next_movie_score": how
                      likely the target is the user's next movie}. It runs the Transform
                      graph itself, so serving and training share one preprocessing.
  predict_pipeline_examples
                      serialized tf.Examples as CsvExampleGen writes them (histories as
                      space-separated strings) -> the same two outputs: what TFMA and the
                      RankingEvaluator score.
  transform_features  the same examples -> transformed features, label and slicing
                      features included: TFMA's preprocessing function.
  regress             serving_default for TF Serving's Regress API (REST `:regress` with
                      JSON examples): {"inputs": serialized contract examples} ->
                      {"outputs": the predicted rating}, method tensorflow/serving/regress.
"""
import logging
import os
import tempfile
from typing import Dict, List

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras
from tfx import v1 as tfx
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow.python.saved_model import fingerprinting_utils
from tfx_bsl.public import tfxio

from movielens import constants as c
from movielens import contract
from trainer import model as bst
from trainer import input_order
from trainer import summary as training_summary
from trainer import warm_start
from trainer.config import EPOCH_LOG_NAME, TrainerConfig
from transform import features as f
from transform import preprocessing

# custom_config key beside TrainerConfig's: the examples are raw (span mode), and the
# Trainer applies the Transform graph as it reads them.
RAW_EXAMPLES = "raw_examples"

EPOCH_LOG = logging.getLogger(EPOCH_LOG_NAME)


def data_shape(tf_transform_output: tft.TFTransformOutput, train_files: List[str],
               raw: bool = False) -> bst.DataShape:
  """The vocabularies' sizes and the window, as the Transform wrote them, and how often
  each movie is a training row's target (`raw`: the files are raw Examples)."""
  sizes = {name: f.vocabulary_size(tf_transform_output, name)
           for name in (f.MOVIE_VOCAB, f.USER_VOCAB, f.SEX_VOCAB, f.AGE_GROUP_VOCAB,
                        f.OCCUPATION_VOCAB)}
  count = raw_movie_counts if raw else movie_counts
  return bst.DataShape(
      vocabulary_sizes=sizes, window=f.window(tf_transform_output.transformed_feature_spec()),
      movie_counts=count(train_files, tf_transform_output, sizes[f.MOVIE_VOCAB]))


def raw_movie_counts(file_patterns: List[str], tf_transform_output: tft.TFTransformOutput,
                     num_indexes: int) -> tuple:
  """movie_counts of raw Examples: target movie ids counted, then put at their indexes."""
  files = [path for pattern in file_patterns for path in tf.io.gfile.glob(pattern)]
  spec = {c.TARGET_MOVIE_ID: tf.io.FixedLenFeature([], tf.int64)}
  by_id: Dict[int, int] = {}
  for batch in tf.data.TFRecordDataset(files, compression_type="GZIP").batch(16384):
    ids, counts = np.unique(tf.io.parse_example(batch, spec)[
        c.TARGET_MOVIE_ID].numpy(), return_counts=True)
    for movie_id, count in zip(ids.tolist(), counts.tolist()):
      by_id[movie_id] = by_id.get(movie_id, 0) + count
  counts = np.zeros(num_indexes, np.int64)
  vocabulary = tf_transform_output.vocabulary_by_name(f.MOVIE_VOCAB)
  for position, movie_id in enumerate(vocabulary):
    counts[1 + position] = by_id.get(int(movie_id), 0)
  return tuple(int(count) for count in counts)


def movie_counts(file_patterns: List[str], tf_transform_output: tft.TFTransformOutput,
                 num_indexes: int) -> tuple:
  """Rows per target movie index in the transformed examples (gzipped TFRecords)."""
  files = [path for pattern in file_patterns for path in tf.io.gfile.glob(pattern)]
  spec = {f.TARGET_MOVIE_INDEX: tf_transform_output.transformed_feature_spec()[
      f.TARGET_MOVIE_INDEX]}
  batches = tf.data.TFRecordDataset(files, compression_type="GZIP").batch(16384).map(
      lambda batch: tf.io.parse_example(batch, spec)[f.TARGET_MOVIE_INDEX])
  counts = np.zeros(num_indexes, np.int64)
  for movies in batches:
    counts += np.bincount(movies.numpy().ravel(), minlength=num_indexes)[:num_indexes]
  return tuple(int(count) for count in counts)


def make_dataset(file_pattern: List[str], data_accessor: tfx.components.DataAccessor,
                 tf_transform_output: tft.TFTransformOutput, batch_size: int,
                 num_epochs, seed: int, shuffle: bool, raw: bool = False) -> tf.data.Dataset:
  """(transformed features, label) batches; `raw`: the files are raw Examples, transformed
  here by the Transform graph."""
  if not raw:
    return data_accessor.tf_dataset_factory(
        file_pattern,
        tfxio.TensorFlowDatasetOptions(batch_size=batch_size, label_key=f.LABEL,
                                       num_epochs=num_epochs, shuffle=shuffle,
                                       shuffle_seed=seed),
        tf_transform_output.transformed_metadata.schema)
  raw_batches = data_accessor.tf_dataset_factory(
      file_pattern,
      tfxio.TensorFlowDatasetOptions(batch_size=batch_size, num_epochs=num_epochs,
                                     shuffle=shuffle, shuffle_seed=seed),
      tf_transform_output.raw_metadata.schema)
  transform = tf_transform_output.transform_features_layer()

  def transformed(raw_features):
    features = transform(raw_features)
    return features, features[f.LABEL]
  return raw_batches.map(transformed, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def model_features(features: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
  """The transformed features the model takes (the label and extras left out)."""
  return {name: features[name] for name in bst.INPUT_FEATURES}


def inference_model(model: bst.OrdinalRatingModel) -> keras.Model:
  """The trained layers as a functional Model that was never compiled: the model's
  `scorer`, the serving contract's two outputs from the dict of named features.

  A SavedModel of the trained model itself carries its optimizer (Adam's slot variables,
  two thirds of the weights file), which serving never reads and which only the Keras that
  wrote it can revive: `tf.saved_model.load` in newer TensorFlow fails on it. The scorer
  shares the trained layers, and so their weights, but has no optimizer, loss or metrics.
  """
  return model.scorer


def _serving_signatures(model: keras.Model, tft_layer, raw_feature_spec):
  """The four signatures (module docstring) over the inference model and the Transform
  layer."""
  serving_feature_spec = contract.feature_spec()
  examples = tf.TensorSpec(shape=[None], dtype=tf.string, name=contract.EXAMPLES_INPUT)
  # Without AutoGraph, which these functions do not need and which would rewrite every
  # tf_keras layer they call (trainer.model.OrdinalRatingModel.train_step says why).
  signature = lambda spec: tf.function(input_signature=[spec], autograph=False)

  @signature(examples)
  def serve(serialized):
    parsed = tf.io.parse_example(serialized, serving_feature_spec)
    raw = preprocessing.serving_to_raw(parsed, raw_feature_spec)
    transformed = tft_layer(raw)
    return model(model_features(transformed))

  @signature(tf.TensorSpec(shape=[None], dtype=tf.string, name=contract.REGRESS_INPUT))
  def regress(inputs):
    return {contract.REGRESS_OUTPUT: serve(inputs)[contract.PREDICTION_KEY]}

  @signature(examples)
  def transform_features(serialized):
    return tft_layer(tf.io.parse_example(serialized, raw_feature_spec))

  @signature(examples)
  def predict_pipeline_examples(serialized):
    transformed = tft_layer(tf.io.parse_example(serialized, raw_feature_spec))
    return model(model_features(transformed))

  return {contract.SERVING_SIGNATURE: serve, contract.EVAL_SIGNATURE: predict_pipeline_examples,
          contract.TRANSFORM_SIGNATURE: transform_features, contract.REGRESS_SIGNATURE: regress}


def set_method_name(export_dir: str, signature: str, method_name: str) -> None:
  """Rewrites one SignatureDef's method name in a written SavedModel.

  tf.saved_model.save marks every signature tensorflow/serving/predict and takes no
  argument to change it (tensorflow/tensorflow#38081), while TF Serving serves a signature
  through its Regress API only under tensorflow/serving/regress. The method name is read
  by TF Serving alone; the fingerprint is rewritten as tf.saved_model.save writes it.
  """
  path = os.path.join(export_dir, contract.SAVED_MODEL_FILE)
  with tf.io.gfile.GFile(path, "rb") as saved:
    saved_model = saved_model_pb2.SavedModel.FromString(saved.read())
  for meta_graph in saved_model.meta_graphs:
    meta_graph.signature_def[signature].method_name = method_name
  with tf.io.gfile.GFile(path, "wb") as saved:
    saved.write(saved_model.SerializeToString())
  fingerprinting_utils.write_fingerprint(export_dir)


def export(model: keras.Model, tf_transform_output: tft.TFTransformOutput,
           serving_model_dir: str) -> None:
  """Writes the serving SavedModel: the four signatures, the inference model's weights and
  the Transform layer (its vocabularies and other assets), and no training state.

  The root is a plain tf.Module, not the Keras model: saved as the root, a tf_keras model
  has every layer's call functions traced and written for a Keras revival that nothing
  here does, most of the export's time. Loaded, the root is called as the
  model was: on a dict of transformed features, for both outputs.
  """
  servable = inference_model(model)
  root = tf.Module()
  root.weights = list(servable.weights)
  root.tft_layer = tf_transform_output.transform_features_layer()
  features = {name: tf.TensorSpec(tensor.shape, tensor.dtype, name=name)
              for name, tensor in servable.input.items()}
  root.__call__ = tf.function(servable, input_signature=[features], autograph=False)
  tf.saved_model.save(root, serving_model_dir, signatures=_serving_signatures(
      servable, root.tft_layer, tf_transform_output.raw_feature_spec()))
  set_method_name(serving_model_dir, contract.REGRESS_SIGNATURE, contract.REGRESS_METHOD)


def training_inputs(fn_args, config: TrainerConfig, tf_transform_output: tft.TFTransformOutput,
                    input_dir: str, raw: bool = False):
  """(train batches, validation batches, steps per epoch) from the Trainer's or the Tuner's
  FnArgs: the train split, and the validation split as their `eval_files`, each first
  written to `input_dir` in an order that does not depend on how Beam wrote them
  (trainer.input_order), so that the same data and seed train the same model."""
  # With train_steps, epochs split them; without, each epoch is one pass over the data.
  steps_per_epoch = (max(1, fn_args.train_steps // config.epochs)
                     if fn_args.train_steps else None)
  train_file, validation_file = (
      input_order.write_in_canonical_order(files, config.seed, os.path.join(input_dir, name))
      for name, files in (("train", fn_args.train_files), ("validation", fn_args.eval_files)))
  train = make_dataset([train_file], fn_args.data_accessor, tf_transform_output,
                       config.batch_size, None if steps_per_epoch else 1, config.seed,
                       shuffle=True, raw=raw)
  validation = make_dataset([validation_file], fn_args.data_accessor, tf_transform_output,
                            config.batch_size, 1, config.seed, shuffle=False, raw=raw)
  if fn_args.eval_steps:
    validation = validation.take(fn_args.eval_steps)
  return train, validation, steps_per_epoch


def run_fn(fn_args: tfx.components.FnArgs) -> None:
  """Called by the TFX Trainer: fits on the train split for `epochs` (or train_steps) and
  keeps the epoch with the best validation MAE (fn_args.eval_files is the validation split,
  pipeline.definition; the eval split is the Evaluator's alone). With the Tuner in the
  pipeline, its best hyperparameters override the configured ones. In span mode the
  examples are raw, and with a base model (the last blessed one) training starts from its
  weights (trainer.warm_start)."""
  custom_config = dict(fn_args.custom_config or {})
  raw = bool(custom_config.pop(RAW_EXAMPLES, False))
  config = TrainerConfig.from_custom_config(custom_config)
  if fn_args.hyperparameters:  # KerasTuner's HyperParameters.get_config()
    config = config.with_values(fn_args.hyperparameters["values"])
    logging.info("the Tuner's hyperparameters: %s", fn_args.hyperparameters["values"])
  keras.utils.set_random_seed(config.seed)
  tf.config.experimental.enable_op_determinism()
  tf_transform_output = tft.TFTransformOutput(fn_args.transform_graph_path)
  start_from = None
  if fn_args.base_model:
    config = warm_start.training_config(config)
    start_from = lambda model: warm_start.carry_over(model, fn_args.base_model,
                                                     tf_transform_output,
                                                     config.warm_start_shrink)
  with tempfile.TemporaryDirectory(prefix="bst-trainer-input-") as input_dir:
    train, validation, steps_per_epoch = training_inputs(fn_args, config, tf_transform_output,
                                                         input_dir, raw)
    model, summary = train_model(config, data_shape(tf_transform_output, fn_args.train_files,
                                                    raw),
                                 train, validation, steps_per_epoch, fn_args.model_run_dir,
                                 start_from)
  summary["config"] = config.to_custom_config()  # what was trained, tuned values included
  training_summary.write(summary, fn_args.model_run_dir)
  training_summary.write_choice_for_tensorboard(summary, fn_args.model_run_dir)
  export(model, tf_transform_output, fn_args.serving_model_dir)


class LogEpochs(keras.callbacks.Callback):
  """One line per epoch on EPOCH_LOG: the epoch (from 1, as the summary and TensorBoard's
  model choice count), the most there can be, and its validation MAE."""

  def on_epoch_end(self, epoch, logs=None):
    EPOCH_LOG.info("epoch %d (at most %d): validation MAE %.4f", epoch + 1,
                   self.params["epochs"], (logs or {}).get("val_mae", float("nan")))


def train_model(config: TrainerConfig, data: bst.DataShape, train: tf.data.Dataset,
                validation: tf.data.Dataset, steps_per_epoch=None, log_dir=None,
                start_from=None):
  """Builds the BST and fits it on (transformed features, label) batches, early-stopped on
  the validation batches' MAE; returns the model with the kept epoch's weights and the
  training summary. run_fn, the Tuner's trials (trainer.tuning) and
  benchmarks/model_ablation.py all train through here. `start_from(model)`, when given,
  sets the built model's first weights (warm start) and returns a description."""
  model = bst.build_bst(config, data)
  warm = start_from(model) if start_from else None
  early_stopping = keras.callbacks.EarlyStopping(
      monitor="val_mae", patience=config.early_stopping_patience,
      min_delta=config.early_stopping_min_delta, restore_best_weights=True)
  callbacks = [early_stopping, LogEpochs()]
  if log_dir:
    callbacks.append(keras.callbacks.TensorBoard(log_dir=log_dir, update_freq="epoch"))
  history = model.fit(train.map(lambda x, y: (model_features(x), y)),
                      validation_data=validation.map(lambda x, y: (model_features(x), y)),
                      epochs=config.epochs, steps_per_epoch=steps_per_epoch,
                      callbacks=callbacks, verbose=2)
  summary = training_summary.from_history(history, early_stopping)
  if warm:
    summary["warm_start"] = warm
  logging.info("validation MAE per epoch: %s; kept epoch %d", summary["per_epoch"]["val_mae"],
               summary["kept_epoch"])
  return model, summary
